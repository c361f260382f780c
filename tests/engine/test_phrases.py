"""The phrase tables as data: the bundled files load and obey the spec, a broken table is a
startup error naming the file and the key, and a persona's [phrases] add lines of its own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from sidecar.engine import phrases
from sidecar.engine.data import number_map, read_toml, word_list, word_map
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.reading import read
from sidecar.engine.state import ConversationState
from sidecar.engine.types import Sentiment, TurnContext
from sidecar.errors import ConfigError, PersonaInvalid
from sidecar.personas.loader import load_persona_text
from sidecar.personas.model import PHRASE_TABLES, Persona

REPO = Path(__file__).resolve().parents[2]
NEUTRAL = Sentiment("neutral", 0.0)


def bundled(name: str) -> str:
    return resources.files("sidecar").joinpath("data", name).read_text("utf-8")


def load_with(file: str, text: str) -> phrases.Phrases:
    texts = {f: bundled(f) for f in phrases.FILES}
    texts[file] = text
    return phrases.load(texts)


def test_every_table_of_the_spec_is_bundled_for_every_voice_and_key() -> None:
    keys = set(phrases.BUNDLED.keys())
    for name, table in PHRASE_TABLES.items():
        voices = phrases.VOICES if table.voiced else ("",)
        for v in voices:
            for k in table.keys or ("",):
                key = tuple(x for x in (name, v, k) if x)
                assert key in keys, key
                assert phrases.BUNDLED(*key)


def test_bundled_options_obey_their_rules() -> None:
    for line in phrases.BUNDLED("leave"):
        assert read(line).goodbye, line
    for name, table in PHRASE_TABLES.items():
        if table.file == "options.toml":
            assert all(5 <= len(t.split()) <= 10 for t in phrases.BUNDLED(name))


def test_the_bundled_files_are_the_ones_loaded() -> None:
    again = phrases.load({f: bundled(f) for f in phrases.FILES})
    assert again.keys() == phrases.BUNDLED.keys()
    assert all(again(*k) == phrases.BUNDLED(*k) for k in again.keys())


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("phrases.toml", "[asides]\n", "[asidez]\n", "phrases.toml: asidez: no such phrase table"),
        ("phrases.toml", 'no_facts = [', 'no_factz = [', "phrases.toml: no_factz: no such phrase table"),
        ("phrases.toml", "\nshy = [\"S-sorry, I talk too much…\"", "\nshyy = [\"S-sorry, I talk too much…\"",
         "phrases.toml: asides.shy: missing"),
        ("phrases.toml", "Shocking, I know.", "Shocking, {you} know.",
         "phrases.toml: asides.sarcastic[0]: unknown placeholder {you}"),
        ("phrases.toml", '"Oh!", "Ha!", "Ooh!", "Well!", "Oh, wow!"', "",
         "phrases.toml: bright_openers: needs 1–100 lines, has 0"),
        ("phrases.toml", "shy.friendly = [", "shy.kind = [\"x\"]\nshy.friendly = [",
         "phrases.toml: react.shy.kind: unknown key; expected friendly, rude"),
        ("phrases.toml", "close = [", "close = 3\nx = [", "phrases.toml: farewell_tails.close: must be a list"),
        ("options.toml", '"Could you tell me about {s}?"', '"A story?"',
         "options.toml: ask_subject[2]: an option has 5–10 words, this has 2"),
        ("options.toml", '"I have to go now. Take care."', '"I have a dog named Sam here."',
         "options.toml: leave[2]: a leave option must read as a goodbye"),
        ("options.toml", "leave = [", "leave = [[", "options.toml: not valid TOML"),
    ],
)
def test_a_broken_bundled_table_is_a_config_error_with_file_and_key(
    file: str, old: str, new: str, message: str
) -> None:
    text = bundled(file)
    assert old in text
    with pytest.raises(ConfigError) as info:
        load_with(file, text.replace(old, new, 1))
    assert message in str(info.value)


def test_the_change_of_subject_needs_more_lines_than_the_no_repeat_window() -> None:
    text = re.sub(r"change_subject = \[.*?\]", 'change_subject = ["A.", "B.", "C."]', bundled("phrases.toml"),
                  count=1, flags=re.S)
    with pytest.raises(ConfigError, match="phrases.toml: change_subject: needs 9–100 lines, has 3"):
        load_with("phrases.toml", text)
    from sidecar.engine.embedded import NO_REPEAT_WINDOW

    assert PHRASE_TABLES["change_subject"].min_lines > NO_REPEAT_WINDOW


def test_a_broken_bundled_file_stops_the_sidecar_at_import(tmp_path: Path) -> None:
    """The tables load when the engine is imported, so a broken build fails at startup."""
    pkg = tmp_path / "sidecar"
    shutil.copytree(REPO / "sidecar", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    broken = (pkg / "data" / "phrases.toml").read_text("utf-8").replace("[asides]", "[asidez]")
    (pkg / "data" / "phrases.toml").write_text(broken, "utf-8")
    run = subprocess.run(
        [sys.executable, "-c", "import sidecar.engine.embedded"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "ConfigError: sidecar/data/phrases.toml: asidez: no such phrase table" in run.stderr


def test_word_lists_are_checked() -> None:
    data = read_toml("words.toml", 'a = ["ok", "Not OK"]\nb = []\n[m]\nmy = "Your"\n')
    with pytest.raises(ConfigError, match=r"words.toml: a\[1\]: must be one lowercase word"):
        word_list(data, "words.toml", "a")
    with pytest.raises(ConfigError, match="words.toml: b: must be a non-empty list"):
        word_list(data, "words.toml", "b")
    with pytest.raises(ConfigError, match="words.toml: m.my: must map a lowercase word"):
        word_map(data, "words.toml", "m")
    assert "tired" in word_list(read_toml("words.toml"), "words.toml", "not_names")


@pytest.mark.parametrize("table", ['two = "2"', "two = 0", "two = true", "Two = 2", "two = 2.5"])
def test_number_words_are_checked(table: str) -> None:
    with pytest.raises(ConfigError, match="actions.toml: n.[Tt]wo: must map a lowercase word to a number"):
        number_map(read_toml("actions.toml", f"[n]\n{table}\n"), "actions.toml", "n")
    assert number_map(read_toml("actions.toml"), "actions.toml", "numbers")["couple"] == 2


# -- a persona's own phrases ------------------------------------------------------------------

BRAM = """\
id = "bram"
name = "Bram"
role = "the smith"
bio = "A smith."
greetings = ["Hello."]
farewells = ["Bye."]

[personality]
preset = "intellectual"

[phrases]
generic = ["By the anvil, that is a puzzler.", "Hm. Iron has more to say than that."]
react.friendly = ["Kind words warm the forge, {addr}."]
"""


def test_persona_phrases_are_added_to_every_voice_after_the_bundled_lines() -> None:
    p = load_persona_text(BRAM, Path("bram.toml"))
    mine = phrases.for_persona(p)
    for v in phrases.VOICES:
        assert mine("generic", v)[-2:] == ("By the anvil, that is a puzzler.", "Hm. Iron has more to say than that.")
        assert mine("generic", v)[:-2] == phrases.BUNDLED("generic", v)
        assert mine("react", v, "friendly")[-1] == "Kind words warm the forge, {addr}."
    assert mine("react", "shy", "rude") == phrases.BUNDLED("react", "shy", "rude")
    assert phrases.for_persona(p) is mine  # cached per persona
    plain = Persona.model_validate({"id": "x", "name": "X", "role": "r", "bio": "b",
                                    "greetings": ["Hi."], "farewells": ["Bye."]})
    assert phrases.for_persona(plain) is phrases.BUNDLED


def test_the_engine_speaks_a_personas_own_phrases() -> None:
    p = load_persona_text(BRAM, Path("bram.toml"))
    engine, said = EmbeddedEngine(), set()
    for seed in range(40):
        ctx = TurnContext(persona=p, player="p1", affinity=50, seed=seed, turn=3, state=ConversationState())
        said.add(engine.reply(ctx, "Hmm.", NEUTRAL).text)
    assert any("puzzler" in t or "Iron has more" in t for t in said)


@pytest.mark.parametrize(
    ("phrases_toml", "message"),
    [
        ('generic = ["What {kw}?"]', "generic[0]: unknown placeholder {kw}; this table may use no placeholders"),
        ('hooks = ["Ask about {kw}, {addr}.", "Ask {me}."]', "hooks[1]: unknown placeholder {me}"),
        ('leave = ["I must go now, goodbye."]', "no phrase table 'leave' to extend"),
        ('react = ["Nice."]', "react: a table of friendly, rude"),
        ('react.kind = ["Nice."]', "react.kind: unknown key; react has friendly, rude"),
    ],
)
def test_bad_persona_phrases_are_reported_at_their_table(phrases_toml: str, message: str) -> None:
    text = BRAM.split("[phrases]")[0] + "[phrases]\n" + phrases_toml + "\n"
    with pytest.raises(PersonaInvalid) as info:
        load_persona_text(text, Path("bram.toml"))
    problems = info.value.details["problems"]
    assert [(p["file"], p["line"], p["field"]) for p in problems] == [("bram.toml", 11, "phrases")]
    assert message in problems[0]["message"]


def test_the_data_readme_documents_every_table() -> None:
    readme = (REPO / "sidecar" / "data" / "README.md").read_text("utf-8")
    for name in PHRASE_TABLES:
        assert f"| `{name}` |" in readme, name
