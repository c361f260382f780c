"""Prompts from personas, and replies cleaned the same way whole or streamed."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.llm.prompt import StreamCleaner, build_request, clean_reply
from sidecar.personas.model import Persona


@dataclass(frozen=True)
class L:
    speaker: str
    text: str


@dataclass(frozen=True)
class T:
    temperature: float = 0.6
    frequency_penalty: float = 0.3
    max_tokens: int = 80
    style_text: str = "brief and hesitant"


def persona(**over: object) -> Persona:
    fields: dict[str, object] = {
        "id": "bjorn",
        "name": "Bjorn",
        "aliases": ["Smith"],
        "role": "the blacksmith",
        "bio": "Forty years at the anvil.",
        "greetings": ["Hm."],
        "farewells": ["Go well."],
        "facts": ["The mine closed last winter."],
        "speech": {"quirks": ["by the anvil"]},
    }
    fields.update(over)
    return Persona.model_validate(fields)


def test_the_template_is_rendered_and_the_rest_added() -> None:
    req = build_request(
        persona(),
        player="Ana",
        affinity=85,
        tuning=T(),
        history=[
            L("bjorn", "Hm. Welcome."),
            L("player", "Hello! Any news?"),
        ],
        memories=["Ana bought a sword last week."],
        conversation="c9",
    )
    assert req.system.startswith("You are Bjorn, the blacksmith in a small village. Forty years at the anvil.")
    assert "brief and hesitant" in req.system
    assert "You are talking with Ana; they are a close friend" in req.system
    assert "- Ana bought a sword last week." in req.system
    assert "Never write lines or actions for Ana" in req.system
    assert [(m.role, m.content) for m in req.messages] == [("assistant", "Hm. Welcome."), ("user", "Hello! Any news?")]
    assert (req.temperature, req.frequency_penalty, req.max_tokens) == (0.6, 0.3, 80)
    assert req.stop == ("\nAna:",)
    assert (req.tags.conversation, req.tags.persona) == ("c9", "bjorn")


def test_all_placeholders_render_and_other_braces_stay() -> None:
    template = "{name}|{role}|{bio}|{style}|{player}|{affinity}|{facts}|{quirks}|{relationship}|{}"
    req = build_request(persona(system_prompt=template), player="Ana", affinity=10, tuning=T(), history=[])
    first = req.system.split("\n\n")[0]
    assert first == (
        "Bjorn|the blacksmith|Forty years at the anvil.|brief and hesitant|Ana|10|"
        "The mine closed last winter.|by the anvil|you distrust them and keep your distance|{}"
    )
    assert "You are talking with" not in req.system  # the template already said it


def test_the_greeting_turn_and_npc_last_turns_end_with_a_user_turn() -> None:
    greeting = build_request(persona(), player="Ana", affinity=50, tuning=T(), history=[])
    assert [m.role for m in greeting.messages] == ["user"] and "Ana approaches" in greeting.messages[0].content
    again = build_request(persona(), player="Ana", affinity=50, tuning=T(), history=[L("bjorn", "Hm.")])
    assert [m.role for m in again.messages] == ["assistant", "user"]


def test_group_scenes_label_other_speakers() -> None:
    mara = persona(id="mara", name="Mara", aliases=[], role="the innkeeper")
    req = build_request(
        persona(),
        player="Ana",
        affinity=50,
        tuning=T(),
        others=[mara],
        history=[
            L("player", "Hi both."),
            L("mara", "Evening."),
            L("bjorn", "Hm."),
            L("player", "Busy day?"),
        ],
    )
    assert [m.content for m in req.messages] == ["Ana: Hi both.", "Mara: Evening.", "Hm.", "Ana: Busy day?"]
    assert "Also present: Mara (the innkeeper)." in req.system
    assert req.stop == ("\nAna:", "\nMara:")


def test_history_is_trimmed_to_the_most_recent_lines() -> None:
    history = [L("player" if i % 2 else "bjorn", f"line {i}") for i in range(40)]
    req = build_request(persona(), player="Ana", affinity=50, tuning=T(), history=history, max_history=6)
    assert [m.content for m in req.messages] == [f"line {i}" for i in range(34, 40)]


NAMES = (["Bjorn", "Smith"], "Ana", ["Mara"])


def clean(text: str) -> str:
    return clean_reply(text, *NAMES)


def test_cleaning_examples() -> None:
    assert clean('Bjorn: "Hello there, traveller."') == "Hello there, traveller."
    assert clean("  **Bjorn:** Hi!\nAna: thanks\nBjorn: bye") == "Hi!"
    assert clean("smith: Aye.") == "Aye."
    assert clean("Sure. Player: what? ok") == "Sure."
    assert clean("Good steel.\nYou: nice") == "Good steel."
    assert clean("Good steel. Mara: And good ale!") == "Good steel."
    assert clean("I told you: go home.") == "I told you: go home."
    assert clean("Hi.\nBjorn: more words.") == "Hi.\nmore words."
    assert clean("Hi. Anabel is here.") == "Hi. Anabel is here."
    assert clean("\u201cAye, lass.\u201d") == "Aye, lass."
    assert clean('"Fine," he says. "Go."') == 'Fine, he says. "Go."'
    assert clean("Ana: hello") == ""
    assert clean("   ") == ""


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(
            [
                "Bjorn:",
                "Ana:",
                " ",
                "\n",
                "Aye",
                ".",
                '"',
                "**",
                "Mara",
                ":",
                "Smith",
                "You",
                " steel",
                "!",
                "\u201c",
                "\u201d",
                "Player: ",
                "Anabel",
                "a",
            ]
        ),
        max_size=25,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_streamed_cleaning_equals_whole_cleaning(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    cleaner = StreamCleaner(*NAMES)
    streamed = "".join(cleaner.feed(text[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)) + cleaner.finish()
    assert streamed == clean(text)
    assert streamed == streamed.strip()


def test_streaming_holds_back_only_what_could_become_a_label() -> None:
    cleaner = StreamCleaner(*NAMES)
    assert cleaner.feed("Bjo") == ""
    assert cleaner.feed("rn: Aye") == "Aye"
    assert cleaner.feed(", the forge. A") == ", the forge."
    assert cleaner.feed("na: hi") == ""
    assert cleaner.finish() == ""


def test_the_current_player_line_is_appended_after_the_stored_history() -> None:
    req = build_request(
        persona(), player="Ana", affinity=50, tuning=T(), history=[L("bjorn", "Hm.")], player_line="Nice sword!"
    )
    assert [(m.role, m.content) for m in req.messages] == [("assistant", "Hm."), ("user", "Nice sword!")]


def test_a_known_player_name_replaces_the_id_and_is_not_to_be_asked() -> None:
    template = "You are {name}. You talk with {player}."
    req = build_request(
        persona(system_prompt=template),
        player="p_7",
        player_name="Wren",
        affinity=50,
        tuning=T(),
        history=[],
    )
    assert "You talk with Wren." in req.system
    assert "p_7" not in req.system
    assert "their name is Wren" in req.system and "never ask for it" in req.system
    assert "\nWren:" in req.stop
    nameless = build_request(persona(system_prompt=template), player="p_7", affinity=50, tuning=T(), history=[])
    assert "You talk with p_7." in nameless.system and "never ask" not in nameless.system


def test_a_label_split_before_its_second_space_is_dropped_with_both() -> None:
    """A speaker label takes every space after it: a chunk ending after the first space must
    not leave the second one in the line (found by comparing chunked and whole replies)."""
    text = "Aye.\nAnsel:  The forge is hot."
    cleaner = StreamCleaner(["Ansel"], "Wren", ["Rook"])
    streamed = cleaner.feed("Aye.\nAnsel: ") + cleaner.feed(" The forge is hot.") + cleaner.finish()
    assert streamed == clean_reply(text, ["Ansel"], "Wren", ["Rook"]) == "Aye.\nThe forge is hot."


def test_a_reply_of_many_sentences_streams_as_it_reads_whole() -> None:
    """Words between sentence ends are copied as one run; a label after a sentence end still
    ends the reply, a chunk boundary anywhere changes nothing."""
    text = "Aye, the forge is hot today. I mended three ploughs! Rook: you did not. Ansel: I did."
    whole = clean_reply(text, ["Ansel"], "Wren", ["Rook"])
    assert whole == "Aye, the forge is hot today. I mended three ploughs!"
    for cut in range(1, len(text)):
        cleaner = StreamCleaner(["Ansel"], "Wren", ["Rook"])
        assert cleaner.feed(text[:cut]) + cleaner.feed(text[cut:]) + cleaner.finish() == whole
