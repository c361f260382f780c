"""The TOML key locator: right lines on real TOML, and never a crash on anything else."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.personas.locate import PathPart, scan

REPO = Path(__file__).resolve().parents[2]


def test_keys_tables_and_array_elements() -> None:
    text = (
        "# comment\n"  # 1
        'id = "a"  # trailing\n'  # 2
        "aliases = [\n"  # 3
        '  "x", # one\n'  # 4
        "  'y',\n"  # 5
        '  """multi\n'  # 6
        'line""",\n'  # 7
        '  "z"\n'  # 8
        "]\n"  # 9
        "[personality]\n"  # 10
        'preset = "shy"\n'  # 11
        "traits.social = 3\n"  # 12
        "[topics.weather]\n"  # 13
        'lines = ["a",\n'  # 14
        ' "b"]\n'  # 15
    )
    lines = scan(text).lines
    assert lines[("id",)] == 2
    assert lines[("aliases",)] == 3
    assert [lines[("aliases", i)] for i in range(4)] == [4, 5, 6, 8]
    assert lines[("personality",)] == 10
    assert lines[("personality", "preset")] == 11
    assert lines[("personality", "traits")] == 12
    assert lines[("personality", "traits", "social")] == 12
    assert lines[("topics",)] == 13
    assert lines[("topics", "weather")] == 13
    assert lines[("topics", "weather", "lines", 0)] == 14
    assert lines[("topics", "weather", "lines", 1)] == 15


def test_arrays_of_tables_and_their_sub_tables() -> None:
    text = (
        "[[items]]\n"  # 1
        "x = {a = 1, b = [1,\n"  # 2
        "  2]}\n"  # 3
        "[[items]]\n"  # 4
        "x = 2\n"  # 5
        "[items.sub]\n"  # 6
        "y = 1\n"  # 7
        "[[items.sub.deep]]\n"  # 8
        "z = 1\n"  # 9
    )
    lines = scan(text).lines
    assert lines[("items", 0)] == 1
    assert lines[("items", 0, "x", "a")] == 2
    assert lines[("items", 0, "x", "b", 1)] == 3
    assert lines[("items", 1)] == 4
    assert lines[("items", 1, "x")] == 5
    assert lines[("items", 1, "sub")] == 6
    assert lines[("items", 1, "sub", "y")] == 7
    assert lines[("items", 1, "sub", "deep", 0, "z")] == 9


def test_strings_that_look_like_toml_are_skipped() -> None:
    text = (
        'a = """\n'  # 1
        "[fake]\n"  # 2
        'b = "no"\n'  # 3
        '\\""" still inside\n'  # 4
        '"""\n'  # 5
        "c = '''\n"  # 6
        "d = 1 # not a comment\n"  # 7
        "'''\n"  # 8
        'e = "x # y [z] = \\" w"\n'  # 9
        'f = "real"\n'  # 10
        '"dotted.quoted" . bare = 1\n'  # 11
        "'lit key' = 2\n"  # 12
        'g = """a""""\n'  # 13: content a", then closing quotes
        "h = 3\n"  # 14
    )
    assert tomllib.loads(text)  # the text is valid TOML
    lines = scan(text).lines
    assert ("fake",) not in lines and ("b",) not in lines and ("d",) not in lines
    assert lines[("a",)] == 1
    assert lines[("c",)] == 6
    assert lines[("e",)] == 9
    assert lines[("f",)] == 10
    assert lines[("dotted.quoted", "bare")] == 11
    assert lines[("lit key",)] == 12
    assert lines[("g",)] == 13
    assert lines[("h",)] == 14


def test_crlf_line_endings() -> None:
    text = 'a = 1\r\n[t]\r\nb = [\r\n  "x",\r\n]\r\n'
    lines = scan(text).lines
    assert lines[("a",)] == 1 and lines[("t",)] == 2 and lines[("t", "b", 0)] == 4


def test_redefinitions_and_unclosed_values_are_reported() -> None:
    assert scan("a = 1\nb = 2\na = 3\n").redefined == {("a",): 3}
    assert scan('a = 1\nb = [1,\n2,\n').unclosed == 2
    assert scan('a = 1\n\nc = """open\nmore\n').unclosed == 3
    assert scan('a = "no end\nb = 1\n').unclosed == 1
    assert scan("a = {x = 1\n").unclosed == 1
    assert scan("a = [1]\n").unclosed is None


def test_line_of_falls_back_to_the_nearest_defined_parent() -> None:
    keys = scan("id = 1\n\n[topics.rain]\nkeywords = []\n")
    assert keys.line_of(("topics", "rain", "lines")) == 3  # missing key → its table header
    assert keys.line_of(("topics", "rain", "keywords", 5)) == 4
    assert keys.line_of(("greetings",)) == 1  # missing top-level key → line 1
    assert keys.line_of(("greetings",), default=7) == 7
    assert keys.line_of(()) == 1


def test_sample_personas_every_top_level_key_is_found() -> None:
    for path in sorted((REPO / "personas").glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
        lines = scan(text).lines
        raw = text.splitlines()
        for key, value in data.items():
            line = lines[(key,)]
            if isinstance(value, dict):  # a table: its header or dotted key mentions it
                assert key in raw[line - 1], (path.name, key, line)
            else:
                assert raw[line - 1].startswith(f"{key} ="), (path.name, key, line)
        for key, topic in data.get("topics", {}).items():
            for i, text_line in enumerate(topic["lines"]):
                assert json.dumps(text_line, ensure_ascii=False) in raw[
                    lines[("topics", key, "lines", i)] - 1
                ]


# -- generated documents -----------------------------------------------------------------

_SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f"),
    max_size=12,
)
_TRICKY = st.text(alphabet="ab #[]{}=,.'\n\\\"", max_size=20)


@dataclass
class _Doc:
    out: list[str] = field(default_factory=list)
    expect: dict[tuple[PathPart, ...], int] = field(default_factory=dict)

    @property
    def line(self) -> int:
        return sum(chunk.count("\n") for chunk in self.out) + 1

    def write(self, chunk: str) -> None:
        self.out.append(chunk)


def _key(raw: str, n: int) -> str:
    return f"k{n}" if raw == "" else json.dumps(f"{raw}{n}", ensure_ascii=False)


def _key_name(raw: str, n: int) -> str:
    return f"k{n}" if raw == "" else f"{raw}{n}"


@st.composite
def _value(draw: st.DrawFn, doc: _Doc, path: tuple[PathPart, ...]) -> None:
    kind = draw(st.sampled_from(["int", "str", "lit", "ml", "mll", "arr", "inline"]))
    if kind == "int":
        doc.write(str(draw(st.integers(-(10**6), 10**6))))
    elif kind == "str":
        doc.write(json.dumps(draw(_SAFE_TEXT), ensure_ascii=False))
    elif kind == "lit":
        doc.write("'" + draw(_TRICKY).replace("'", "").replace("\n", "") + "'")
    elif kind == "ml":
        body = draw(_TRICKY).replace("\\", "\\\\").replace('"', '\\"')
        doc.write('"""' + body + '"""')
    elif kind == "mll":
        doc.write("'''" + draw(_TRICKY).replace("'", "") + "'''")
    elif kind == "arr":
        items = draw(st.lists(_TRICKY, max_size=4))
        doc.write("[\n")
        for i, item in enumerate(items):
            doc.expect[(*path, i)] = doc.line
            comment = draw(st.sampled_from(["", "  # note ] [ = '", "\n  # own line"]))
            doc.write("  " + json.dumps(item, ensure_ascii=False) + "," + comment + "\n")
        doc.write("]")
    else:
        names = draw(st.lists(_SAFE_TEXT, max_size=3))
        parts = []
        for i, raw in enumerate(names):
            doc.expect[(*path, _key_name(raw, i))] = doc.line
            parts.append(f"{_key(raw, i)} = {draw(st.integers(0, 9))}")
        doc.write("{" + ", ".join(parts) + "}")


@st.composite
def _document(draw: st.DrawFn) -> tuple[str, dict[tuple[PathPart, ...], int]]:
    doc = _Doc()

    def body(table: tuple[PathPart, ...]) -> None:
        for i, raw in enumerate(draw(st.lists(_SAFE_TEXT, max_size=4))):
            if draw(st.booleans()):
                doc.write(draw(st.sampled_from(["\n", "# c = [x]\n", "   \n"])))
            path = (*table, _key_name(raw, i))
            doc.expect[path] = doc.line
            doc.write(f"{_key(raw, i)} = ")
            draw(_value(doc, path))
            doc.write("\n")
        if draw(st.booleans()):  # a dotted key
            doc.expect[(*table, "dot")] = doc.line
            doc.expect[(*table, "dot", "inner")] = doc.line
            doc.write("dot.inner = 1\n")

    body(())
    for t in range(draw(st.integers(0, 3))):
        aot = draw(st.booleans())
        name = f"t{t}x"  # ends in a letter: a generated key always ends in its index digit, so never collides
        for n in range(draw(st.integers(1, 3)) if aot else 1):
            table: tuple[PathPart, ...] = (name, n) if aot else (name,)
            doc.expect[table] = doc.line
            doc.write(f"[[{name}]]\n" if aot else f"[{name}]\n")
            body(table)
    return "".join(doc.out), doc.expect


@settings(max_examples=300, deadline=None)
@given(_document())
def test_generated_documents_map_every_key_to_its_line(
    case: tuple[str, dict[tuple[PathPart, ...], int]],
) -> None:
    text, expect = case
    tomllib.loads(text)  # the generator writes valid TOML
    lines = scan(text).lines
    for path, line in expect.items():
        assert lines.get(path) == line, (path, text)


_TOMLISH = st.text(alphabet='[]{}"\'=.,#\n\r\t \\abc123_-', max_size=200)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_TOMLISH, st.text(max_size=200)))
def test_never_crashes_and_lines_stay_in_range(text: str) -> None:
    keys = scan(text)
    last = text.count("\n") + 1
    assert all(1 <= line <= last for line in keys.lines.values())
    assert all(1 <= line <= last for line in keys.redefined.values())
    assert keys.unclosed is None or 1 <= keys.unclosed <= last


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_never_crashes_on_damaged_persona_files(data: st.DataObject) -> None:
    files = sorted((REPO / "personas").glob("*.toml"))
    text = data.draw(st.sampled_from(files)).read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(_TOMLISH) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 50)) :]
    scan(text)
