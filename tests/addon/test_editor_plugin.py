"""plugin.gd in a real, headless Godot editor (GODOT_BIN must be an editor build): enabling
the Parley plugin registers the `Parley` autoload and the `parley/*` settings; disabling it
removes the autoload and the settings still at their defaults (a value the user changed is
kept, and found again when the plugin is enabled again).

The driver is an editor plugin of its own (godot_addon/tests/editor/parley_plugin_check/),
copied into a copy of the project where Parley is present but not enabled; it calls
`EditorInterface.set_plugin_enabled`, as the Plugins tab does, and prints what the project
held after each step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "godot_addon"
DRIVER = PROJECT / "tests" / "editor" / "parley_plugin_check"
AUTOLOAD = "*res://addons/parley/parley.gd"
DEFAULTS: dict[str, Any] = {
    "parley/sidecar/python_command": "python -m sidecar",
    "parley/sidecar/use_python": False,
    "parley/sidecar/data_dir": "user://parley",
    "parley/sidecar/personas_dir": "res://personas",
    "parley/sidecar/provider_config": "",
    "parley/sidecar/autostart": True,
    "parley/sidecar/ready_timeout_s": 20.0,
    "parley/requests/timeout_s": 30.0,
    "parley/player/id": "player",
}

pytestmark = pytest.mark.timeout(400)


def test_parley_settings_defaults_match_the_addon() -> None:
    """DEFAULTS above is parley.gd's SETTINGS (so the editor test checks the real defaults)."""
    source = (PROJECT / "addons" / "parley" / "parley.gd").read_text(encoding="utf-8")
    block = source[source.index("const SETTINGS: Dictionary = {") :]
    block = block[: block.index("\n}\n")]
    found = dict(re.findall(r'^\t"([^"]+)": (.+),$', block, flags=re.M))
    assert set(found) == set(DEFAULTS)
    for key, value in DEFAULTS.items():
        assert json.loads(found[key]) == value, key


@pytest.fixture
def editor_project(tmp_path: Path, godot_features: Callable[[str, Path], dict[str, bool]]) -> tuple[str, Path]:
    godot = os.environ.get("GODOT_BIN")
    if not godot:
        pytest.skip("GODOT_BIN is not set: plugin.gd is not checked in a Godot editor")
    features = godot_features(godot, tmp_path)
    if not features["editor"]:
        pytest.skip(
            f"GODOT_BIN={godot} is an export template (OS.has_feature('template') is "
            f"{features['template']}): enabling a plugin needs an editor build"
        )
    copy = tmp_path / "game"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".godot", "bin", "export", "tests"))
    shutil.copytree(DRIVER, copy / "addons" / "parley_plugin_check")
    # A project that has the addon's files but has never enabled it: no autoload, no
    # parley/* settings; only the driver plugin is enabled.
    text = (copy / "project.godot").read_text(encoding="utf-8")
    text = text.replace(f'Parley="{AUTOLOAD}"\n', "")
    text = text.replace(
        'enabled=PackedStringArray("res://addons/parley/plugin.cfg")',
        'enabled=PackedStringArray("res://addons/parley_plugin_check/plugin.cfg")',
    )
    text = re.sub(r"\[parley\]\n(?:[^\[\n][^\n]*\n|\n)*", "", text)
    settings = "\n".join(ln for ln in text.splitlines() if not ln.startswith(";"))
    assert "[parley]" not in settings and "sidecar/" not in settings and "Parley=" not in settings
    assert "parley_plugin_check" in settings
    (copy / "project.godot").write_text(text, encoding="utf-8")
    return godot, copy


def test_enabling_registers_the_autoload_and_settings_disabling_removes_them(
    editor_project: tuple[str, Path],
) -> None:
    godot, project = editor_project
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_TOKEN"}
    env["XDG_CONFIG_HOME"] = str(project.parent / "config")  # the editor's own settings stay in tmp
    env["XDG_DATA_HOME"] = str(project.parent / "data")
    env["XDG_CACHE_HOME"] = str(project.parent / "cache")
    # The Godot fork used here has an AI chat dock that starts a local tool server and calls a
    # remote service; this turns it off (stock Godot ignores the variable).
    env["AI_CHAT_DISABLE"] = "1"
    run = subprocess.run(
        [godot, "--headless", "--editor", "--path", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("PLUGIN_CHECK ")), None)
    assert line is not None, run.stdout[-4000:] + run.stderr[-4000:]
    report = json.loads(line.removeprefix("PLUGIN_CHECK "))
    assert "SCRIPT ERROR" not in run.stdout + run.stderr, run.stdout[-4000:] + run.stderr[-4000:]

    before, enabled, disabled, again = (report[k] for k in ("before", "enabled", "disabled", "re_enabled"))
    assert not before["plugin_enabled"] and before["autoload"] == "" and before["settings"] == {}

    assert enabled["plugin_enabled"]
    assert enabled["autoload"] == AUTOLOAD
    assert enabled["settings"] == DEFAULTS
    assert f'Parley="{AUTOLOAD}"' in enabled["project_godot"]  # saved by the editor
    assert '"res://addons/parley/plugin.cfg"' in enabled["project_godot"]

    assert not disabled["plugin_enabled"]
    assert disabled["autoload"] == ""
    assert "Parley=" not in disabled["project_godot"]
    # Settings at their defaults are gone; the one the user changed stays (memory and disk).
    assert disabled["settings"] == {"parley/player/id": "ada"}
    assert 'player/id="ada"' in disabled["project_godot"]

    assert again["plugin_enabled"] and again["autoload"] == AUTOLOAD
    assert again["settings"] == {**DEFAULTS, "parley/player/id": "ada"}
