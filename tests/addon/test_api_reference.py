"""The addon README's API reference and the scripts name the same public things, and every
public name has a `##` doc comment (what the editor's F1 help shows).

A public name is a script's class, signal, method, property or ALL_CAPS constant whose name
does not start with `_` (preload aliases such as `ReplyScript` are not API). The reference
is `## API reference` in godot_addon/addons/parley/README.md: one `### \\`Class\\`` section per
class; each top-level bullet documents the names in the backticked spans before its first
`: ` (outside backticks), each span's leading identifier.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "godot_addon" / "addons" / "parley"
README = ADDON / "README.md"

# The game-facing scripts; the net/ plumbing (client, zmtp, msgpack, pending) and the
# sidecar process are documented in their `##` comments but are not the API a game uses.
SCRIPTS: dict[str, str] = {
    "Parley": "parley.gd",
    "ParleyNPC": "nodes/parley_npc.gd",
    "ParleyTurn": "api/turn.gd",
    "ParleyReply": "net/reply.gd",
    "ParleyLine": "api/line.gd",
    "ParleyOption": "api/option.gd",
    "ParleyAffinity": "api/affinity.gd",
    "ParleyGoal": "api/goal.gd",
    "ParleyMemory": "api/memory.gd",
    "ParleyAction": "api/action.gd",
    "ParleyError": "net/error.gd",
}

DECLARATION = re.compile(
    r"^(?:@export(?:_\w+)?(?:\([^)]*\))? )?"
    r"(?:(?P<kind>signal|var|static func|func) (?P<name>[a-z]\w*)"
    r"|const (?P<const>[A-Z][A-Z0-9_]*)\b(?!.*preload\())"
)
IDENT = re.compile(r"[A-Za-z_]\w*")


def public_names(script: Path) -> dict[str, int]:
    """Name -> line index of each public declaration at the top level of `script`."""
    names: dict[str, int] = {}
    for i, line in enumerate(script.read_text(encoding="utf-8").splitlines()):
        m = DECLARATION.match(line)
        if m:
            names[m.group("name") or m.group("const")] = i
    return names


def _spans_before_colon(text: str) -> list[str]:
    spans: list[str] = []
    inside, current = False, ""
    for i, ch in enumerate(text):
        if ch == "`":
            if inside:
                spans.append(current)
            inside, current = not inside, ""
        elif inside:
            current += ch
        elif text.startswith(": ", i):
            break
    return spans


def reference() -> dict[str, set[str]]:
    """Class -> names the README's API reference documents for it."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## API reference\n", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for part in section.split("\n### ")[1:]:
        heading, _, body = part.partition("\n")
        cls = re.match(r"`(\w+)`", heading)
        assert cls, heading
        bullets: list[str] = []
        for line in body.splitlines():
            if line.startswith("- "):
                bullets.append(line[2:])
            elif line.startswith("  ") and bullets:
                bullets[-1] += " " + line.strip()
        names: set[str] = set()
        for bullet in bullets:
            for span in _spans_before_colon(bullet):
                ident = IDENT.match(span)
                if ident:
                    names.add(ident.group())
        out[cls.group(1)] = names
    return out


def test_the_reference_has_a_section_per_public_class() -> None:
    assert set(reference()) == set(SCRIPTS)


def test_every_api_script_with_a_class_name_is_in_the_reference() -> None:
    for script in sorted((ADDON / "api").glob("*.gd")):
        m = re.search(r"^class_name (\w+)$", script.read_text(encoding="utf-8"), re.M)
        if m:
            assert m.group(1) in SCRIPTS, f"{script.name}: {m.group(1)} is not in the reference"


@pytest.mark.parametrize("cls", sorted(SCRIPTS))
def test_the_reference_and_the_script_name_the_same_things(cls: str) -> None:
    in_script = set(public_names(ADDON / SCRIPTS[cls]))
    in_readme = reference()[cls]
    assert in_script - in_readme == set(), f"{cls}: public but not in the README"
    assert in_readme - in_script == set(), f"{cls}: in the README but not in the script"


@pytest.mark.parametrize("cls", sorted(SCRIPTS))
def test_every_public_name_has_a_doc_comment(cls: str) -> None:
    lines = (ADDON / SCRIPTS[cls]).read_text(encoding="utf-8").splitlines()
    for name, i in public_names(ADDON / SCRIPTS[cls]).items():
        assert lines[i - 1].startswith("##"), f"{cls}.{name} (line {i + 1}) has no ## doc comment"
    head = next(i for i, line in enumerate(lines) if line.startswith("extends "))
    assert lines[head + 1].startswith("##"), f"{cls} has no class doc comment"


def test_the_parser_reads_declarations_and_bullets() -> None:
    """Guards the two parsers on lines shaped like the real ones."""
    assert DECLARATION.match("@export var persona_id: String = \"\":")
    assert DECLARATION.match("static func from_dict(data: Dictionary) -> LineScript:")
    assert DECLARATION.match('const TIMEOUT := &"timeout"')
    assert not DECLARATION.match('const ReplyScript := preload("res://x.gd")')
    assert not DECLARATION.match("func _ready() -> void:")
    assert not DECLARATION.match("\tvar local: int = 0")
    spans = _spans_before_colon("`ok: bool`, `error_code() -> StringName`: the `x` code")
    assert spans == ["ok: bool", "error_code() -> StringName"]
