"""The pre-scan of `limits.py`: refuses exactly what goes past a limit, never a valid file
inside them, and never lets through what would make `tomllib` raise anything but its own
TOMLDecodeError."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.personas.limits import LIMITS, Limits, first_excess

HINT = '; see "Size limits" in personas/README.md'
SMALL = Limits(depth=5, tables=6, keys=25, array_elements=20, string_chars=40, word_chars=30, lines=200)


def excess(text: str, limits: Limits = LIMITS) -> tuple[int, str] | None:
    found = first_excess(text, limits)
    return None if found is None else (found.line, found.message.removesuffix(HINT))


def test_depth_counts_header_parts_keys_arrays_and_inline_tables() -> None:
    lim = Limits(depth=4)
    assert excess("[topics.rain]\nlines = [\"a\"]\n", lim) is None  # the format's deepest: 4
    assert excess("[topics.rain]\nlines = [[\"a\"]]\n", lim) == (2, "nested more than 4 levels deep")
    assert excess("a.b.c.d = 1\n", lim) is None
    assert excess("a.b.c.d.e = 1\n", lim) == (1, "nested more than 4 levels deep")
    assert excess("[a.b]\nc.d = 1\n[e]\nf = {g = {h = 1}}\n", lim) is None
    assert excess("[a.b]\nc.d = 1\n[e]\nf = {g = {h = {i = 1}}}\n", lim) == (4, "nested more than 4 levels deep")
    assert excess("[[a]]\nb = [1]\n", lim) is None  # a, its entry, b, b's element
    assert excess("[[a]]\nb = [{c = 1}]\n", lim) == (2, "nested more than 4 levels deep")  # c: 5
    assert excess("[a.b.c.d.e]\n", lim) == (1, "nested more than 4 levels deep")
    assert excess("[[a.b.c.d]]\n", lim) == (1, "nested more than 4 levels deep")


def test_each_count_is_refused_one_past_its_limit_at_that_line() -> None:
    lim = Limits(tables=3, keys=3, array_elements=3, string_chars=5, word_chars=4, lines=4)
    assert excess("[a]\n[b]\nc = {}\n", lim) is None
    assert excess("[a]\n[b]\nc = {}\nd = {}\n", lim) == (4, "more than 3 tables ([headers] and { inline tables })")
    assert excess("a = 1\nb = 2\nc = 3\n", lim) is None
    assert excess("a = 1\nb = 2\nc = {d = 3}\n", lim) == (3, "more than 3 keys")
    assert excess("a = [1, [2]]\n", lim) is None  # 1, [2] and 2
    assert excess("a = [1, [2, 3]]\n", lim) == (1, "more than 3 array elements")
    assert excess("a = '12345'\nb = \"\"\"\n1234\"\"\"\n", lim) is None
    assert excess("a = '123456'\n", lim) == (1, "a string of more than 5 characters")
    assert excess('"123456" = 1\n', lim) == (1, "a string of more than 5 characters")
    assert excess("a = 1234\n", lim) is None
    assert excess("a = 12345\n", lim) == (1, "a number, date or bare key of 5 characters (at most 4 outside quotes)")
    assert excess("a = 1\n\n\n#\n", lim) is None
    assert excess("a = 1\n\n\n\n#", lim) == (5, "more than 4 lines")


def test_what_looks_like_toml_inside_strings_and_comments_is_not_counted() -> None:
    lim = Limits(depth=2, tables=1, keys=2)
    text = (
        "# [[[[ [a] [b] {{{{ = = =\n"
        'a = "[[[[ {{{{ ]]]] \\" [[[[ # = ="\n'
        "b = '''\n[x]\n[y]\nc = [[[[\n'''\n"
        'c = """ \\""" [[[[ {{{ """  # [[[\n'
    )
    assert excess(text, Limits(depth=2, tables=1, keys=3)) is None
    assert excess(text, lim) == (8, "more than 2 keys")


def test_real_toml_features_are_read_right() -> None:
    text = (
        "date = 1979-05-27 07:32:00.999\n"
        "when = 1979-05-27T07:32:00+01:00\n"
        "nums = [1.5, -2e-3, +inf, nan, 0xff, 1_000]\n"
        "'quoted key' . \"other\" = true\n"
        "[[fruits]]\nname = 'apple'\n[[fruits]]\nname = 'pear'\n"
        "[fruits.kinds]\nwide = [\n  1,  # one\n  2,\n]\n"
    )
    tomllib.loads(text)  # it is valid TOML
    assert excess(text, Limits(array_elements=8, tables=3)) is None
    assert excess(text, Limits(array_elements=7)) == (12, "more than 7 array elements")


# -- properties ---------------------------------------------------------------------------

_KEYS = st.text(alphabet="ab_-1 [].#\"'=", min_size=1, max_size=6)
_STRINGS = st.text(alphabet="ab [{]}#'\"\\=,.\n", max_size=12)
_SCALARS = st.one_of(
    _STRINGS,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
)
_DOCS = st.dictionaries(
    _KEYS,
    st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
        max_leaves=30,
    ),
    max_size=6,
)


def _measure(value: Any, depth: int = 0) -> dict[str, int]:
    """What a document holds, by the limits' definitions (strings at twice their length: the
    most TOML's escapes can make of these characters)."""
    out = {"depth": depth, "tables": 0, "keys": 0, "elements": 0, "string": 0}

    def add(sub: dict[str, int]) -> None:
        out["depth"] = max(out["depth"], sub["depth"])
        out["string"] = max(out["string"], sub["string"])
        for k in ("tables", "keys", "elements"):
            out[k] += sub[k]

    if isinstance(value, dict):
        out["tables"] += 1
        for k, v in value.items():
            out["keys"] += 1
            out["string"] = max(out["string"], 2 * len(k) + 2)
            add(_measure(v, depth + 1))
    elif isinstance(value, list):
        out["elements"] += len(value)
        for v in value:
            add(_measure(v, depth + 1))
    elif isinstance(value, str):
        out["string"] = 2 * len(value) + 2
    return out


def _within(m: dict[str, int], lim: Limits) -> bool:
    return (
        m["depth"] < lim.depth  # an empty array at the last level is refused: it could hold more
        and m["tables"] <= lim.tables
        and m["keys"] <= lim.keys
        and m["elements"] <= lim.array_elements
        and m["string"] <= lim.string_chars
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS, st.booleans())
def test_a_valid_document_inside_the_limits_is_never_refused(doc: dict[str, Any], multiline: bool) -> None:
    text = tomli_w.dumps(doc, multiline_strings=multiline)
    assert tomllib.loads(text) == doc
    if _within(_measure(doc), SMALL):
        assert first_excess(text, SMALL) is None, text


def _nest(depth: int, inline: bool) -> str:
    opens = "".join("{a = " if inline and i % 2 else "[" for i in range(depth))
    closes = "".join("}" if inline and i % 2 else "]" for i in reversed(range(depth)))
    return f"x = {opens}1{closes}\n"


@given(st.integers(0, 40), st.booleans())
def test_nesting_is_refused_exactly_past_the_depth(depth: int, inline: bool) -> None:
    text = _nest(depth, inline)
    # x is at depth 1; each array or inline table puts its contents one deeper
    assert (excess(text, Limits(depth=20)) is None) == (1 + depth <= 20)


_PIECES = ["[", "]", "{a = ", "}", ",", "1", '"', "'", '"""', "'''", "\\", "\n", "#", "x = ", "[" * 40, "{a = " * 40]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet="[]{}a=,1\"' \n#.\\", max_size=3000)
    | st.lists(st.sampled_from(_PIECES), max_size=300).map("".join)
)
def test_what_the_pre_scan_passes_tomllib_parses_or_refuses_with_its_own_error(body: str) -> None:
    text = "x = " + body
    if first_excess(text) is not None:
        return
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        pass


def test_deep_text_hidden_after_odd_strings_is_still_refused() -> None:
    deep = "[" * 500 + "]" * 500
    for before in ('x = "\\\\"\n', "x = ''\n", 'x = """a""""\n', "x = '''a'''''\n", "x = [\n# ]\n]\n"):
        assert excess(before + "y = " + deep + "\n") is not None, before
        with pytest.raises(RecursionError):
            tomllib.loads(before + "y = " + deep + "\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS, st.booleans(), st.integers(LIMITS.depth, 600), st.booleans())
def test_deep_nesting_after_any_valid_document_is_refused(
    doc: dict[str, Any], multiline: bool, depth: int, inline: bool
) -> None:
    """Whatever strings, headers and arrays come first, the tokenizer is still in step with
    tomllib when the deep part starts (else tomllib would reach it unguarded)."""
    text = tomli_w.dumps(doc, multiline_strings=multiline) + "\n" + _nest(depth, inline).replace("x = ", "zz_deep = ")
    assert first_excess(text) is not None


def test_the_readme_gives_the_limits_the_loader_applies() -> None:
    readme = (Path(__file__).resolve().parents[2] / "personas" / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Size limits", 1)[1].split("\n\n")[2]
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in table.splitlines()[2:]}
    said = {label: value.split(" ")[0].replace(",", "") for label, value in rows.items()}
    assert said == {
        "file size": f"{LIMITS.file_bytes // 1024}",
        "lines": f"{LIMITS.lines}",
        "nesting depth (below)": f"{LIMITS.depth}",
        "tables: `[headers]`, `[[array tables]]` and `{ inline tables }`": f"{LIMITS.tables}",
        "keys (`key = value`, inline tables' too)": f"{LIMITS.keys}",
        "array elements, all arrays together": f"{LIMITS.array_elements}",
        "characters in one string (as written, escapes included)": f"{LIMITS.string_chars}",
        "characters in one number, date or unquoted key": f"{LIMITS.word_chars}",
        "persona files in the folder": f"{LIMITS.files}",
    }
    assert f"the first {LIMITS.problems_per_file} problems" in readme
    assert f"more than {LIMITS.files:,} `*.toml` files" in readme.replace("\n", " ")


def test_crlf_line_endings_count_the_same() -> None:
    text = "a = 1\r\n# c\r\n\r\nb = [\r\n  1,\r\n  [2],\r\n]\r\n"
    assert excess(text, Limits(array_elements=3, keys=2)) is None
    assert excess(text, Limits(array_elements=2)) == (6, "more than 2 array elements")
