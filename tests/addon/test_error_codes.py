"""ParleyError (godot_addon/addons/parley/net/error.gd) has one constant per protocol error
code and per client code, and none is stale: drift between error.gd, sidecar/protocol/codes.py
and PROTOCOL.md §4 fails here."""

from __future__ import annotations

import re
from pathlib import Path

from sidecar.protocol.codes import ErrorCode

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "godot_addon" / "addons" / "parley"
ERROR_GD = ADDON / "net" / "error.gd"
PROTOCOL_MD = ROOT / "engine_bindings" / "PROTOCOL.md"
CONST = re.compile(r'^const ([A-Z][A-Z0-9_]*) := &"([a-z][a-z0-9_]*)"$', re.MULTILINE)


def _constants() -> dict[str, str]:
    return dict(CONST.findall(ERROR_GD.read_text(encoding="utf-8")))


def _client_constants() -> dict[str, str]:
    """The constants error.gd declares after its 'client's own codes' marker."""
    text = ERROR_GD.read_text(encoding="utf-8")
    _, marker, rest = text.partition("# The client's own codes")
    assert marker, "error.gd lost its client-codes section marker"
    return dict(CONST.findall(rest))


def _protocol_md_codes() -> set[str]:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    section = text.split("## 4. Error codes", 1)[1].split("\n## 5.", 1)[0]
    codes: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            codes.update(re.findall(r"`([a-z_]+)`", first_cell))
    return codes


def test_every_protocol_code_has_a_constant_named_after_it() -> None:
    consts = _constants()
    for code in ErrorCode:
        assert consts.get(code.value.upper()) == code.value, f"error.gd lacks {code.value}"


def test_every_constant_is_named_after_its_code() -> None:
    for name, value in _constants().items():
        assert name == value.upper(), (name, value)


def test_protocol_md_lists_exactly_the_protocol_codes() -> None:
    assert _protocol_md_codes() == {c.value for c in ErrorCode}


def test_the_rest_are_client_codes_in_use_and_distinct_from_the_protocol() -> None:
    values = set(_constants().values())
    protocol = {c.value for c in ErrorCode}
    client = set(_client_constants().values())
    assert values == protocol | client, values - protocol - client
    assert not client & protocol, "a client code shadows a protocol code"
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in ADDON.rglob("*.gd") if p != ERROR_GD
    )
    for name in sorted(_client_constants()):
        assert f"ErrorScript.{name}" in sources, f"client code {name} is never produced"


def test_every_constant_is_documented() -> None:
    lines = ERROR_GD.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if CONST.match(line):
            assert lines[i - 1].startswith("## "), f"{line} has no ## doc comment"
