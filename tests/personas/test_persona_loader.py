"""Loading persona files: every problem as `file:line: field: message`, at the right line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.errors import ConfigError, ErrorCode, PersonaInvalid, PersonaNotFound
from sidecar.personas.loader import (
    PersonaSet,
    Problem,
    has_errors,
    load_persona_text,
    load_personas,
    validate_paths,
)
from sidecar.personas.model import Persona

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "personas"

# A small valid persona; the line numbers in the comments are what the tests rely on.
BASE = """\
id = "tess"
name = "Tess"
aliases = ["Tessa", "the tester"]
role = "the village tester"
bio = "Tests things."
greetings = [
    "Hello, {player}.",
    "Hi, I'm {name}.",
]
farewells = ["Bye."]

[personality]
preset = "shy"

[personality.traits]
social = 20

[topics.weather]
keywords = ["rain"]
lines = [
    "Wet.",
    "Very wet.",
]
"""
#  1 id   2 name   3 aliases   4 role   5 bio   6 greetings   7-8 its elements   10 farewells
# 12 [personality]   13 preset   15 [personality.traits]   16 social
# 18 [topics.weather]   19 keywords   20 lines   21-22 its elements


def problems_of(text: str, file: str = "tess.toml") -> list[str]:
    with pytest.raises(PersonaInvalid) as info:
        load_persona_text(text, file)
    assert info.value.code == ErrorCode.PERSONA_INVALID
    problems = info.value.details["problems"]
    assert all(p["file"] == file and p["severity"] == "error" for p in problems)
    return [f"{p['file']}:{p['line']}: {p['field']}: {p['message']}" for p in problems]


def test_base_is_valid() -> None:
    persona = load_persona_text(BASE, "tess.toml")
    assert persona.id == "tess"
    assert persona.names == ("Tess", "Tessa", "the tester")
    assert persona.topics["weather"].lines == ["Wet.", "Very wet."]


def test_problem_str_is_file_line_field_message() -> None:
    p = Problem("a/b.toml", 12, "topics.rain.lines[2]", "too long", "warning")
    assert str(p) == "a/b.toml:12: topics.rain.lines[2]: too long"
    assert p.as_dict() == {
        "file": "a/b.toml",
        "line": 12,
        "field": "topics.rain.lines[2]",
        "message": "too long",
        "severity": "warning",
    }


def test_syntax_error_gives_tomllib_line() -> None:
    text = BASE.replace('name = "Tess"', 'name = "Tess')
    assert problems_of(text) == ["tess.toml:2: toml: Illegal character '\\n' (column 13)"]


def test_syntax_error_at_end_of_file_points_at_the_unclosed_value() -> None:
    text = BASE.replace('    "Very wet.",\n]\n', '    "Very wet.",\n')
    assert problems_of(text) == [
        "tess.toml:20: toml: Invalid value: a value opened on this line is never closed"
    ]


def test_duplicate_key_is_a_syntax_error_at_the_second_definition() -> None:
    text = BASE.replace('role = "the village tester"', 'role = "x"\nname = "Again"')
    assert problems_of(text) == ["tess.toml:5: toml: Cannot overwrite a value (column 15)"]


def test_wrong_type() -> None:
    text = BASE.replace("social = 20", 'social = "low"')
    assert problems_of(text) == [
        "tess.toml:16: personality.traits.social: Input should be a valid integer, "
        "unable to parse string as an integer (got 'low')"
    ]


def test_wrong_container_type() -> None:
    text = BASE.replace('farewells = ["Bye."]', 'farewells = "Bye."')
    assert problems_of(text) == [
        "tess.toml:10: farewells: Input should be an array ([ ... ]) (got 'Bye.')"
    ]


def test_wrong_table_type_and_empty_array_in_toml_words() -> None:
    text = BASE.replace('preset = "shy"', 'preset = "shy"\ncustom = 3').replace(
        'farewells = ["Bye."]', "farewells = []"
    )
    assert problems_of(text) == [
        "tess.toml:10: farewells: Array should have at least 1 item after validation, not 0",
        "tess.toml:14: personality.custom: Input should be a table ([header] or { key = value }) "
        "(got 3)",
    ]


def test_unknown_preset() -> None:
    text = BASE.replace('preset = "shy"', 'preset = "grumpy"')
    assert problems_of(text) == [
        "tess.toml:13: personality.preset: unknown preset 'grumpy'; "
        "use one of shy, outgoing, intellectual, flirty, sarcastic or 'custom'"
    ]


def test_custom_preset_needs_its_table() -> None:
    text = BASE.replace('preset = "shy"', 'preset = "custom"')
    assert problems_of(text) == [
        "tess.toml:12: personality: preset 'custom' needs a [personality.custom] table"
    ]


def test_missing_top_level_field_points_at_line_1() -> None:
    text = BASE.replace('role = "the village tester"\n', "")
    assert problems_of(text) == ["tess.toml:1: role: required field is missing"]


def test_missing_field_in_a_table_points_at_its_header() -> None:
    text = BASE.replace('keywords = ["rain"]\n', "")
    assert problems_of(text) == [
        "tess.toml:18: topics.weather.keywords: required field is missing"
    ]


def test_bad_placeholder_points_at_the_array_element() -> None:
    text = BASE.replace('"Hi, I\'m {name}."', '"Hi, {plyer}."')
    assert problems_of(text) == [
        "tess.toml:8: greetings[1]: unknown placeholder {plyer}; "
        "lines may use only {player} and {name}"
    ]


def test_bad_placeholder_in_a_topic_line() -> None:
    text = BASE.replace('"Very wet."', '"Very wet, {weather}."')
    assert problems_of(text) == [
        "tess.toml:22: topics.weather.lines[1]: unknown placeholder {weather}; "
        "lines may use only {player} and {name}"
    ]


def test_stray_brace_in_a_line() -> None:
    text = BASE.replace('"Wet."', '"Wet. {"')
    assert problems_of(text) == [
        "tess.toml:21: topics.weather.lines[0]: stray brace; "
        "write {player} or {name}, or leave braces out"
    ]


def test_bad_system_prompt_placeholder() -> None:
    text = BASE.replace('bio = "Tests things."', 'bio = "Tests."\nsystem_prompt = "Hi {mood}"')
    [problem] = problems_of(text)
    assert problem.startswith("tess.toml:6: system_prompt: system_prompt uses unknown placeholder")


def test_unknown_field_suggests_the_right_name() -> None:
    text = BASE.replace("farewells =", "farewell =")
    assert problems_of(text) == [  # (and not also "farewells: required field is missing")
        "tess.toml:10: farewell: unknown field; did you mean 'farewells'?",
    ]
    text = BASE.replace("keywords =", "keyword =")
    assert problems_of(text) == [
        "tess.toml:19: topics.weather.keyword: unknown field; did you mean 'keywords'?",
    ]
    text = BASE.replace("farewells =", "goodbyes =")  # no close match: both are reported
    assert problems_of(text) == [
        "tess.toml:1: farewells: required field is missing",
        "tess.toml:10: goodbyes: unknown field; known: " + ", ".join(Persona.model_fields),
    ]


def test_top_level_key_below_a_table_is_explained() -> None:
    text = BASE + 'facts = ["I like rain."]\n'
    [problem] = problems_of(text)
    assert problem.startswith("tess.toml:24: topics.weather.facts: unknown field in this table; ")
    assert "'facts' is a top-level field" in problem


def test_bad_table_key() -> None:
    text = BASE.replace("[topics.weather]", "[topics.Weather]")
    assert problems_of(text) == [
        "tess.toml:18: topics.Weather: key 'Weather': "
        "must be 1–32 lowercase letters, digits or _, starting with a letter"
    ]


def test_bad_id() -> None:
    text = BASE.replace('id = "tess"', 'id = "Tess Two"')
    assert problems_of(text) == [
        "tess.toml:1: id: must be 1–32 lowercase letters, digits or _, starting with a letter "
        "(got 'Tess Two')"
    ]


def test_alias_repeating_the_name() -> None:
    text = BASE.replace('["Tessa", "the tester"]', '["Tessa", "TESS"]')
    assert problems_of(text) == [
        "tess.toml:3: aliases: alias 'TESS' repeats the name or another alias"
    ]


def test_relationship_with_itself() -> None:
    text = BASE + "[relationships.tess]\naffinity = 90\n"
    assert problems_of(text) == [
        "tess.toml:24: relationships: a persona cannot have a relationship with itself"
    ]


def test_many_problems_are_all_reported_in_line_order() -> None:
    text = (
        BASE.replace('preset = "shy"', 'preset = "grumpy"')
        .replace("social = 20", "social = 200")
        .replace('"Hello, {player}."', '"Hello, {you}."')
    )
    problems = problems_of(text)
    assert [p.split(":")[1] for p in problems] == ["7", "13", "16"]
    assert problems[2] == (
        "tess.toml:16: personality.traits.social: "
        "Input should be less than or equal to 100 (got 200)"
    )
    with pytest.raises(PersonaInvalid, match=r"tess\.toml:7: greetings\[0\].*\(and 2 more\)"):
        load_persona_text(text, "tess.toml")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_damage_gives_a_persona_or_located_problems(data: st.DataObject) -> None:
    text = BASE
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(st.text(alphabet='[]{}"=.,#\n x1', max_size=6)) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 8)) :]
    try:
        load_persona_text(text, "t.toml")
    except PersonaInvalid as exc:
        problems = exc.details["problems"]
        assert problems
        last = text.count("\n") + 1
        for p in problems:
            assert 1 <= p["line"] <= last
            assert p["field"] and p["message"] and "\n" not in p["message"]


# -- sets of files -----------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def persona_text(pid: str, name: str, aliases: tuple[str, ...] = (), extra: str = "") -> str:
    alias_list = ", ".join(f'"{a}"' for a in aliases)
    return (
        f'id = "{pid}"\nname = "{name}"\naliases = [{alias_list}]\nrole = "r"\nbio = "b"\n'
        f'greetings = ["Hi."]\nfarewells = ["Bye."]\n{extra}'
    )


def test_broken_file_next_to_good_ones_does_not_stop_them(tmp_path: Path) -> None:
    for sample in SAMPLES.glob("*.toml"):
        shutil.copy(sample, tmp_path / sample.name)
    write(tmp_path, "broken.toml", BASE.replace('name = "Tess"', 'name = "Tess'))
    write(tmp_path, "also_broken.toml", BASE.replace("social = 20", 'social = "x"'))
    loaded = load_personas(tmp_path)
    assert sorted(loaded.personas) == sorted(p.stem for p in SAMPLES.glob("*.toml"))
    assert {Path(p.file).name for p in loaded.problems} == {"broken.toml", "also_broken.toml"}
    assert all(p.severity == "error" for p in loaded.problems)
    assert loaded.sources["ansel"] == str(tmp_path / "ansel.toml")


def test_duplicate_id_is_an_error_for_the_later_file(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", persona_text("a", "Alma"))
    write(tmp_path, "b.toml", persona_text("a", "Bert"))
    loaded = load_personas(tmp_path)
    assert list(loaded.personas) == ["a"] and loaded.personas["a"].name == "Alma"
    b = str(tmp_path / "b.toml")
    assert [str(p) for p in loaded.errors] == [
        f"{b}:1: id: duplicate id 'a': already defined in {tmp_path / 'a.toml'}"
    ]
    assert [str(p) for p in loaded.warnings] == [
        f"{b}:1: id: id 'a' differs from the file name 'b.toml'; name the file a.toml"
    ]


def test_name_or_alias_claimed_twice_is_an_error_for_the_later_file(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", persona_text("a", "Alma", ("Big Al",)))
    write(tmp_path, "b.toml", persona_text("b", "Bert", ("Bertie", "big  al")))
    write(tmp_path, "c.toml", persona_text("c", "ALMA"))
    write(tmp_path, "d.toml", persona_text("d", "Dora", ("A",)))  # another persona's id
    write(tmp_path, "e.toml", persona_text("e", "Bert"))  # b was refused, so Bert is free
    loaded = load_personas(tmp_path)
    assert list(loaded.personas) == ["a", "e"]
    unique = "names and aliases must be unique"
    a = tmp_path / "a.toml"
    assert [str(p) for p in loaded.problems] == [
        f"{tmp_path / 'b.toml'}:3: aliases[1]: 'big  al' is already a name of persona 'a' "
        f"({a}); {unique}",
        f"{tmp_path / 'c.toml'}:2: name: 'ALMA' is already a name of persona 'a' ({a}); {unique}",
        f"{tmp_path / 'd.toml'}:3: aliases[0]: 'A' is already a name of persona 'a' ({a}); {unique}",
    ]
    assert all(p.severity == "error" for p in loaded.problems)


def test_relationship_to_an_unknown_persona_is_a_warning(tmp_path: Path) -> None:
    extra = "\n[relationships.b]\naffinity = 80\n\n[relationships.ghost]\naffinity = 10\n"
    write(tmp_path, "a.toml", persona_text("a", "Alma", extra=extra))
    write(tmp_path, "b.toml", persona_text("b", "Bert"))
    loaded = load_personas(tmp_path)
    assert sorted(loaded.personas) == ["a", "b"]
    assert [str(p) for p in loaded.problems] == [
        f"{tmp_path / 'a.toml'}:12: relationships.ghost: no persona with id 'ghost' is loaded"
    ]
    assert loaded.problems[0].severity == "warning" and not has_errors(loaded.problems)


def test_validating_one_file_knows_its_neighbours(tmp_path: Path) -> None:
    extra = "\n[relationships.b]\naffinity = 80\n\n[relationships.ghost]\naffinity = 10\n"
    a = write(tmp_path, "a.toml", persona_text("a", "Alma", extra=extra))
    write(tmp_path, "b.toml", persona_text("b", "Bert"))
    assert [str(p) for p in validate_paths([a])] == [
        f"{a}:12: relationships.ghost: no persona with id 'ghost' is loaded"
    ]


def test_id_differing_from_the_file_name_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "alma.toml", "# first\n" + persona_text("a", "Alma"))
    loaded = load_personas(tmp_path)
    assert list(loaded.personas) == ["a"]
    assert [(p.line, p.field, p.severity) for p in loaded.problems] == [(2, "id", "warning")]


def test_non_toml_files_are_ignored_and_unreadable_ones_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", persona_text("a", "Alma"))
    write(tmp_path, "README.md", "# not a persona")
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "latin1.toml").write_bytes(b'id = "x"\nname = "Caf\xe9"\n')
    loaded = load_personas(tmp_path)
    assert list(loaded.personas) == ["a"]
    by_file = {Path(p.file).name: p for p in loaded.problems}
    assert set(by_file) == {"folder.toml", "latin1.toml"}
    assert by_file["folder.toml"].field == "file"
    assert by_file["folder.toml"].message.startswith("cannot read")
    assert str(by_file["latin1.toml"]).endswith(
        "latin1.toml:2: file: not UTF-8 text (TOML files must be UTF-8)"
    )


def test_load_personas_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="persona directory not found"):
        load_personas(tmp_path / "nope")


def test_validate_paths_mixes_files_and_directories(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    a = write(good, "a.toml", persona_text("a", "Alma"))
    bad = write(tmp_path, "bad.toml", persona_text("a", "Alma").replace('role = "r"\n', ""))
    empty = tmp_path / "empty"
    empty.mkdir()
    notes = write(tmp_path, "notes.txt", "hello")
    problems = validate_paths([good, a, bad, empty, notes, tmp_path / "missing.toml"])
    assert [str(p) for p in problems] == [  # sorted by file, then line
        f"{bad}:1: role: required field is missing",
        f"{empty}:1: file: no *.toml persona files here",
        f"{tmp_path / 'missing.toml'}:1: file: no such file or directory",
        f"{notes}:1: file: not a .toml file; skipped",
    ]
    assert [p.severity for p in problems] == ["error", "warning", "error", "warning"]
    assert has_errors(problems)
    assert validate_paths([good]) == []  # a file named twice (dir + file) is checked once


def test_validate_paths_checks_files_together(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", persona_text("a", "Alma"))
    sub = tmp_path / "sub"
    sub.mkdir()
    b = write(sub, "a.toml", persona_text("a", "Other"))
    problems = validate_paths([a, b])
    assert [str(p) for p in problems] == [f"{b}:1: id: duplicate id 'a': already defined in {a}"]


def test_persona_set_lookup_helpers(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", persona_text("a", "Alma", ("Big Al",)))
    loaded = load_personas(tmp_path)
    assert isinstance(loaded, PersonaSet)
    assert len(loaded) == 1 and "a" in loaded and [p.id for p in loaded] == ["a"]
    assert loaded.get("a").name == "Alma"
    with pytest.raises(PersonaNotFound) as info:
        loaded.get("zed")
    assert info.value.code == ErrorCode.PERSONA_NOT_FOUND
    with pytest.raises(TypeError):
        loaded.personas["x"] = loaded.get("a")  # type: ignore[index]


# -- through the real command line --------------------------------------------------------


def run_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_parley_validate_passes_the_samples() -> None:
    done = run_validate(SAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_parley_validate_reports_a_broken_file_with_its_line(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "ansel.toml", tmp_path / "ansel.toml")
    broken = write(tmp_path, "tess.toml", BASE.replace('preset = "shy"', 'preset = "grumpy"'))
    done = run_validate(tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        # ansel's friends are not in this folder: warnings, printed but not failing
        *[
            f"{tmp_path / 'ansel.toml'}:{line}: relationships.{other}: "
            f"no persona with id {other!r} is loaded"
            for line, other in _relationship_lines(SAMPLES / "ansel.toml")
        ],
        f"{broken}:13: personality.preset: unknown preset 'grumpy'; "
        "use one of shy, outgoing, intellectual, flirty, sarcastic or 'custom'",
    ]


def _relationship_lines(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        (n, line.strip()[len("[relationships.") : -1])
        for n, line in enumerate(lines, 1)
        if line.startswith("[relationships.")
    ]


_SPEECH = '\n[speech]\ncatchphrases = [{ text = "Wet again.", topics = ["weather"] }]\n'
# 25 [speech]   26 catchphrases


def test_a_catchphrase_is_a_line_or_a_table_of_text_and_topics() -> None:
    text = BASE + '\n[speech]\ncatchphrases = ["Hm.", { text = "Wet again.", topics = ["weather"] }]\n'
    speech = load_persona_text(text, "tess.toml").speech
    assert speech.catchphrase_lines == ("Hm.", "Wet again.")
    assert speech.catchphrases_about(None) == ["Hm."]
    assert speech.catchphrases_about("weather") == ["Hm.", "Wet again."]


def test_a_catchphrase_topic_must_be_one_of_the_personas_topics_or_opinions() -> None:
    assert problems_of(BASE + _SPEECH.replace('["weather"]', '["snow"]')) == [
        "tess.toml:25: speech: catchphrases[0]: topic 'snow' is none of this persona's "
        "[topics.*] or [opinions] keys (weather)"
    ]


def test_a_catchphrase_table_mistake_is_named_at_its_line_without_the_union_noise() -> None:
    assert problems_of(BASE + _SPEECH.replace("topics =", "topic =")) == [
        "tess.toml:26: speech.catchphrases[0].topic: unknown field; did you mean 'topics'?"
    ]
    assert problems_of(BASE + _SPEECH.replace('{ text = "Wet again.", topics = ["weather"] }', "3")) == [
        "tess.toml:26: speech.catchphrases[0]: Input should be a table ([header] or { key = value }) (got 3)"
    ]
    assert problems_of(BASE + _SPEECH.replace('text = "Wet again.", ', "")) == [
        "tess.toml:26: speech.catchphrases[0].text: required field is missing"
    ]
