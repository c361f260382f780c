"""Every .gd file of godot_addon/ parses (gdparse), lints clean (gdlint, gdtoolkit's
defaults) and is formatted (gdformat --check): gdtoolkit is in the dev extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2] / "godot_addon"
BIN = Path(sys.executable).parent
FILES = sorted(p for p in PROJECT.rglob("*.gd") if ".godot" not in p.parts)


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_there_are_scripts_to_check() -> None:
    names = {p.relative_to(PROJECT).as_posix() for p in FILES}
    assert {"addons/parley/parley.gd", "addons/parley/net/zmtp.gd",
            "addons/parley/net/msgpack.gd", "tests/run_tests.gd"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_gdparse(path: Path) -> None:
    result = _run("gdparse", str(path))
    assert result.returncode == 0, result.stderr + result.stdout


def test_gdlint() -> None:
    result = _run("gdlint", *map(str, FILES))
    assert result.returncode == 0, result.stderr + result.stdout


def test_gdformat_check() -> None:
    result = _run("gdformat", "--check", *map(str, FILES))
    assert result.returncode == 0, result.stderr + result.stdout
