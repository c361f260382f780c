"""Command line: `parley serve | chat | demo | validate | schema | bench`."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    raise SystemExit("parley: not built yet")
