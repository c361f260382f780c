"""split_foreign (issue 14 §4): lines a scene speaker wrote under another's label are cut out."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.scene.attribution import split_foreign
from sidecar.engine.types import PLAYER
from sidecar.personas.loader import PersonaSet, load_personas

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def village() -> PersonaSet:
    return load_personas(REPO / "personas")


@pytest.fixture(scope="module")
def others(village: PersonaSet) -> dict[str, tuple[str, ...]]:
    out = {pid: village.personas[pid].names for pid in ("goldie", "rook", "hesper")}
    out[PLAYER] = ("Wren",)
    return out


ANSEL = ("Ansel", "Ansel Marrow", "Marrow", "the smith", "the blacksmith")


def test_the_seed_failure_goldie_voiced_by_ansel_is_cut(others: dict[str, tuple[str, ...]]) -> None:
    text = "Ansel, you heard her. Goldie: Oh, Ansel, don't be so gloomy! Rook: I'll sing to that."
    split = split_foreign(text, ANSEL, others)
    assert split.own == "Ansel, you heard her."
    assert split.foreign == (("goldie", "Oh, Ansel, don't be so gloomy!"), ("rook", "I'll sing to that."))
    assert split.voiced == ("goldie", "rook")


def test_label_forms_own_labels_and_quotes(others: dict[str, tuple[str, ...]]) -> None:
    split = split_foreign('Ansel: Hm. Fine. **Goldie:** "Oh, Ansel!"\nAnsel: Quiet now.', ANSEL, others)
    assert split.own == "Hm. Fine. Quiet now." and split.foreign == (("goldie", "Oh, Ansel!"),)
    split = split_foreign("Enough. [Captain Vane] (sternly): Order! Marigold (laughing): Oh hush.", ANSEL, others)
    assert split.own == "Enough." and split.foreign == (("hesper", "Order!"), ("goldie", "Oh hush."))


def test_the_player_is_never_voiced(others: dict[str, tuple[str, ...]]) -> None:
    split = split_foreign("The forge is hot. Wren: Can I help? You: Sure. Player: thanks", ANSEL, others)
    assert split.own == "The forge is hot."
    assert split.voiced == (PLAYER,) and [t for _, t in split.foreign] == ["Can I help?", "Sure.", "thanks"]


def test_the_longest_name_wins(others: dict[str, tuple[str, ...]]) -> None:
    split = split_foreign("Aye. Captain Hesper Vane: At ease.", ANSEL, others)
    assert split.foreign == (("hesper", "At ease."),)


def test_addressing_someone_is_not_speaking_for_them(others: dict[str, tuple[str, ...]]) -> None:
    for text in (
        "Goldie, you're wrong: the iron is cold.",
        "Rook's songs are loud. Ask Goldie: she knows.",
        "I told the Captain plainly.",
        "Roo: no such person. Goldies: none either.",
    ):
        assert split_foreign(text, ANSEL, others).foreign == (), text
        assert split_foreign(text, ANSEL, others).own == text


def test_only_foreign_lines_leave_nothing_of_its_own(others: dict[str, tuple[str, ...]]) -> None:
    split = split_foreign("Goldie: Hello, love!", ANSEL, others)
    assert split.own == "" and split.foreign == (("goldie", "Hello, love!"),)


_WORDS = st.sampled_from(
    ["the", "iron", "Goldie", "Rook:", "Ansel:", "Wren", ":", ".", "!", "\n", "Captain", "Vane:", "is", "hot", "You:"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, max_size=30))
def test_never_raises_and_loses_no_word_but_labels(words: list[str]) -> None:
    others = {"goldie": ("Goldie",), "rook": ("Rook",), "hesper": ("Captain Vane", "Captain"), PLAYER: ("Wren",)}
    text = " ".join(words)
    split = split_foreign(text, ("Ansel",), others)
    kept = " ".join([split.own, *(t for _, t in split.foreign)])
    assert set(kept.replace(":", " ").split()) <= set(text.replace(":", " ").split())
    assert all(who in others for who in split.voiced)
