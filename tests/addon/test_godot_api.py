"""Every engine API the addon's GDScript uses exists in Godot 4.5 (the targeted version;
4.4+ expected to work), checked statically from the class reference (gdapi.py)."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gdapi  # noqa: E402
from derive_godot_api import SOURCE, TARGET, derive  # noqa: E402

PROJECT = HERE.parents[1] / "godot_addon"


def test_the_api_file_is_godot_4_5() -> None:
    assert gdapi.api_version().startswith("4.5")
    assert "execute_with_pipe" in gdapi.api()["OS"]["methods"]
    assert gdapi.api()["StreamPeerTCP"]["inherits"] == "StreamPeer"


def test_every_engine_call_of_the_addon_exists() -> None:
    problems = gdapi.check_project(PROJECT)
    assert problems == []


def test_the_addon_uses_the_engine_apis_we_think_it_does() -> None:
    """Guards the check itself: it must be looking at the real scripts."""
    used = gdapi.used_engine_classes(PROJECT)
    assert {"StreamPeerTCP", "StreamPeerBuffer", "OS", "Crypto", "FileAccess"} <= used


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ("func f() -> void:\n\tOS.execute_with_pipes('a', [])\n", "OS has no member 'execute_with_pipes'"),
        ("func f() -> void:\n\tvar t := StreamPeerTCP.new()\n\tt.get_statuss()\n",
         "StreamPeerTCP has no member 'get_statuss'"),
        ("var t: StreamPeerTCP\nfunc f() -> void:\n\tt.big_endiann = true\n",
         "has no member 'big_endiann'"),
        ("func f() -> void:\n\tvar p: String = ProjectSettings.globalize_path('x').path_joinn('y')\n",
         "String has no member 'path_joinn'"),
        ("func f() -> void:\n\tfrobnicate()\n", "no function 'frobnicate'"),
        ("func f() -> void:\n\tprint(HORIZONTAL_ALIGNMENT_LEFTT)\n", "'HORIZONTAL_ALIGNMENT_LEFTT'"),
        ("func f() -> void:\n\tprint(StreamPeerTCP.STATUS_NOPE)\n", "no 'STATUS_NOPE'"),
        ("func f(b: PackedByteArray) -> void:\n\tb.hex_decodee()\n", "no member 'hex_decodee'"),
        ("func f() -> void:\n\tvar x := Time.get_ticks_msec()\n\tx.foo()\n", "int has no member"),
        ("extends Node\nfunc f() -> void:\n\tadd_childd(null)\n", "no function 'add_childd'"),
        ("extends Nodee\n", "not a Godot class"),
    ],
)
def test_the_check_catches_a_missing_api(tmp_path: Path, code: str, needle: str) -> None:
    (tmp_path / "bad.gd").write_text(code, encoding="utf-8")
    problems = gdapi.check_project(tmp_path)
    assert any(needle in p for p in problems), problems


def test_the_check_accepts_real_apis(tmp_path: Path) -> None:
    code = (
        "extends Node\n"
        "const OTHER := preload('res://other.gd')\n"
        "func f(b: PackedByteArray) -> void:\n"
        "\tvar t := StreamPeerTCP.new()\n"
        "\tt.poll()\n"
        "\tvar s: String = ProjectSettings.globalize_path('x').path_join('y')\n"
        "\tprint(s.length(), b.hex_encode(), OS.get_name().to_lower(), TYPE_INT, OK)\n"
        "\tadd_child(Node.new())\n"
        "\tprocess_mode = Node.PROCESS_MODE_ALWAYS\n"
        "\tvar o := OTHER.new()\n"
        "\to.greet()\n"
    )
    (tmp_path / "good.gd").write_text(code, encoding="utf-8")
    (tmp_path / "other.gd").write_text("func greet() -> void:\n\tpass\n", encoding="utf-8")
    assert gdapi.check_project(tmp_path) == []
    (tmp_path / "other.gd").write_text("func hello() -> void:\n\tpass\n", encoding="utf-8")
    assert any("no member 'greet'" in p for p in gdapi.check_project(tmp_path))


@pytest.mark.skipif(not SOURCE.exists(), reason="../shared/godot-api is not beside this clone")
def test_the_committed_api_file_is_derived_from_the_class_reference() -> None:
    import json

    assert gzip.decompress(TARGET.read_bytes()) == gzip.decompress(
        derive(json.loads(SOURCE.read_text(encoding="utf-8"))))
