"""Fixtures for the robustness runs (fuzz, crash consistency, hostile input).

`make soak` runs these same tests long (PARLEY_SOAK=1, see `soak_scale`); each prints what it
measured as `SOAK name: value` lines, which is where the note's figures come from.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `soak_scale` under --import-mode=importlib


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str, object], None]:
    """Prints one figure line (`SOAK name: value`) past pytest's capture."""

    def _report(name: str, value: object) -> None:
        with capsys.disabled():
            print(f"SOAK {name}: {value}")

    return _report
