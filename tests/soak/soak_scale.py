"""Scale of the robustness runs (imported as `soak_scale`): small and bounded in `make test`,
long under `make soak`, which sets PARLEY_SOAK=1. Nothing here asserts on time."""

from __future__ import annotations

import os


def soak() -> bool:
    """True under `make soak` (PARLEY_SOAK=1): the long versions of the runs."""
    return os.environ.get("PARLEY_SOAK", "") == "1"


def scale(bounded: int, long: int) -> int:
    """`bounded` in `make test`, `long` under `make soak`."""
    return long if soak() else bounded
