"""ParleyNPC in a real, headless Godot editor (GODOT_BIN must be an editor build): the
inspector offers `persona_id` as a drop-down of the persona ids in
`parley/sidecar/personas_dir` (an editor-time scan of the TOML files, no sidecar), and the
node warns when its id is empty or has no file there.

The driver is an editor plugin of its own (godot_addon/tests/editor/parley_npc_check/),
copied into a copy of the project whose persona folder is `res://personas` (a copy of the
repository's personas plus one file that is not a valid id).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "godot_addon"
DRIVER = PROJECT / "tests" / "editor" / "parley_npc_check"

pytestmark = pytest.mark.timeout(400)


@pytest.fixture
def editor_project(tmp_path: Path, godot_features: Callable[[str, Path], dict[str, bool]]) -> tuple[str, Path]:
    godot = os.environ.get("GODOT_BIN")
    if not godot:
        pytest.skip("GODOT_BIN is not set: ParleyNPC is not checked in a Godot editor")
    if not godot_features(godot, tmp_path)["editor"]:
        pytest.skip(f"GODOT_BIN={godot} is an export template: the inspector needs an editor build")
    copy = tmp_path / "game"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".godot", "bin", "export", "tests"))
    shutil.copytree(DRIVER, copy / "addons" / "parley_npc_check")
    shutil.copytree(REPO / "personas", copy / "personas", ignore=shutil.ignore_patterns("*.md", "*.json"))
    (copy / "personas" / "Not-An-Id.toml").write_text('id = "x"\n', encoding="utf-8")
    text = (copy / "project.godot").read_text(encoding="utf-8")
    text = text.replace(
        'enabled=PackedStringArray("res://addons/parley/plugin.cfg")',
        'enabled=PackedStringArray("res://addons/parley/plugin.cfg", "res://addons/parley_npc_check/plugin.cfg")',
    )
    text, n = re.subn(r'^sidecar/personas_dir=.*$', 'sidecar/personas_dir="res://personas"', text, flags=re.M)
    assert n == 1 and "parley_npc_check" in text
    (copy / "project.godot").write_text(text, encoding="utf-8")
    return godot, copy


def test_persona_id_is_a_drop_down_of_the_persona_files_and_warns(editor_project: tuple[str, Path]) -> None:
    godot, project = editor_project
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_TOKEN"}
    env["XDG_CONFIG_HOME"] = str(project.parent / "config")  # the editor's own settings stay in tmp
    env["XDG_DATA_HOME"] = str(project.parent / "data")
    env["XDG_CACHE_HOME"] = str(project.parent / "cache")
    env["AI_CHAT_DISABLE"] = "1"  # the fork's AI chat dock stays off (stock Godot ignores it)
    run = subprocess.run(
        [godot, "--headless", "--editor", "--path", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    out = run.stdout + run.stderr
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("NPC_CHECK ")), None)
    assert line is not None, out[-4000:]
    assert "SCRIPT ERROR" not in out, out[-4000:]
    report = json.loads(line.removeprefix("NPC_CHECK "))
    assert report["editor_hint"] is True
    assert report["hint"] == report["enum_suggestion"]
    assert report["hint_string"] == "ansel,goldie,hesper,rook,sorrel"
    warnings = report["warnings"]
    assert warnings["goldie"] == []
    assert len(warnings[""]) == 1 and "persona_id is empty" in warnings[""][0]
    assert len(warnings["nobody"]) == 1 and '"nobody"' in warnings["nobody"][0]
