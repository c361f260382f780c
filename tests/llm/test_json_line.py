"""The incremental reader of a structured reply's `line` (sidecar/llm/json_line.py): in any
chunking, what it streams is what json.loads reads, escapes and surrogate pairs included."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.llm.json_line import FieldReader

_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@st.composite
def encoded(draw: st.DrawFn, text: str) -> str:
    """`text` as a JSON string literal, each character written one of the ways JSON allows
    (raw, a short escape, \\u in either case; astral characters as a surrogate pair)."""
    out = ['"']
    for ch in text:
        ways: list[str] = []
        if ch >= " " and ch not in '"\\':
            ways.append(ch)
        if ch in _SHORT:
            ways.append(_SHORT[ch])
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            pair = f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
            ways += [pair, pair.upper().replace("\\U", "\\u")]
        else:
            ways += [f"\\u{code:04x}", f"\\u{code:04X}"]
        out.append(draw(st.sampled_from(ways)))
    out.append('"')
    return "".join(out)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, str]:
    """A JSON object with one `line` among other keys, written with random spacing."""
    line = draw(st.text(max_size=40))
    others = draw(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "line"), values, max_size=3))
    items = [(json.dumps(k), json.dumps(v, ensure_ascii=draw(st.booleans()))) for k, v in others.items()]
    items.insert(draw(st.integers(0, len(items))), (draw(encoded("line")), draw(encoded(line))))
    space = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])
    body = ",".join(f"{draw(space)}{k}{draw(space)}:{draw(space)}{v}{draw(space)}" for k, v in items)
    return draw(space) + "{" + body + "}" + draw(space), line


def read_in_chunks(text: str, cuts: list[int]) -> tuple[str, FieldReader]:
    reader = FieldReader("line")
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    got = "".join(reader.feed(text[a:b]) for a, b in zip(points, points[1:], strict=False))
    return got, reader


@settings(max_examples=400, deadline=None)
@given(documents(), st.lists(st.integers(0, 10_000), max_size=30))
def test_streamed_line_equals_json_loads_in_any_chunking(doc: tuple[str, str], cuts: list[int]) -> None:
    text, line = doc
    assert json.loads(text)["line"] == line
    got, reader = read_in_chunks(text, cuts)
    assert got == line
    assert reader.complete and not reader.failed


@settings(max_examples=200, deadline=None)
@given(documents(), st.integers(0, 10_000))
def test_a_cut_off_reply_streamed_a_prefix_of_its_line(doc: tuple[str, str], cut: int) -> None:
    text, line = doc
    got, _ = read_in_chunks(text[: cut % (len(text) + 1)], [])
    assert line.startswith(got)


def test_one_character_at_a_time_with_escapes_and_a_surrogate_pair() -> None:
    text = '{"actions": [{"name": "x", "args": {"s": "}\\"{"}}], "line": "Caf\\u00e9 \\"ok\\"\\n\\ud83d\\ude00!"}'
    reader = FieldReader()
    pieces = [reader.feed(ch) for ch in text]
    assert "".join(pieces) == json.loads(text)["line"] == 'Café "ok"\n😀!'
    # Text goes out as it arrives: the first words before the closing quote is read.
    assert "".join(pieces[: text.index("ok")]) == 'Café "'


def test_a_lone_high_surrogate_is_kept_as_json_loads_keeps_it() -> None:
    lone = ('{"line": "a\\ud83db"}', '{"line": "a\\ud83d"}', '{"line": "\\ud83d\\u0041"}', '{"line": "\\ud83d\\n"}')
    for text in lone:
        got, reader = read_in_chunks(text, list(range(len(text))))
        assert got == json.loads(text)["line"] and reader.complete, text


def _fails(text: str) -> FieldReader:
    reader = FieldReader()
    reader.feed(text)
    return reader


def test_what_is_not_the_object_asked_for_fails_without_streaming() -> None:
    for text in ("Hello there.", '["line"]', '{"line": 5}', '{"line": null}', '{line: "x"}', '{"a" 1}'):
        reader = FieldReader()
        assert reader.feed(text) == "" and reader.failed, text
    assert not FieldReader().started
    # Not valid JSON inside the string: the reader stops, as json.loads would refuse it.
    for bad in ('{"line": "a\nb"}', '{"line": "a\\xb"}', '{"line": "\\u12g4"}'):
        assert _fails(bad).failed, bad


def test_a_duplicate_key_streams_the_first_and_nothing_after() -> None:
    text = '{"line": "first", "line": "second"}'
    got, reader = read_in_chunks(text, [3, 9, 20])
    assert got == "first" and reader.complete
    assert json.loads(text)["line"] == "second"  # the caller compares, and sees the difference


def test_without_the_key_nothing_is_streamed_and_the_reader_is_not_complete() -> None:
    reader = FieldReader()
    assert reader.feed('{"actions": [], "mood": "fine"}') == ""
    assert not reader.complete and not reader.failed


def test_the_key_itself_may_be_escaped() -> None:
    text = '{"\\u006cine": "hi"}'
    assert read_in_chunks(text, [4, 5])[0] == "hi" == json.loads(text)["line"]
    assert read_in_chunks(json.dumps({"lines": "no", "line": "yes"}), [7])[0] == "yes"
