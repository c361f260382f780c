"""Finding personas by name, and every persona named in a player's line (group scenes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.personas.loader import PersonaSet, load_personas
from sidecar.personas.model import Persona

REPO = Path(__file__).resolve().parents[2]


def persona(pid: str, name: str, *aliases: str) -> Persona:
    return Persona.model_validate(
        {
            "id": pid,
            "name": name,
            "aliases": list(aliases),
            "role": "r",
            "bio": "b",
            "greetings": ["Hi."],
            "farewells": ["Bye."],
        }
    )


@pytest.fixture(scope="module")
def village() -> PersonaSet:
    return load_personas(REPO / "personas")


@pytest.fixture(scope="module")
def crowd() -> PersonaSet:
    people = [
        persona("jc", "JC"),
        persona("jesus", "Jesus Christ"),
        persona("tam", "Tam"),
        persona("old_tam", "Old Tam"),
        persona("pell", "Mx. Pell", "P.", "C++ Pell"),
        persona("zoe", "Zoë"),
    ]
    return PersonaSet({p.id: p for p in people})


def ids(found: list[Persona]) -> list[str]:
    return [p.id for p in found]


def test_order_of_first_mention(village: PersonaSet) -> None:
    assert ids(village.mentioned_in("Rook, what does Ansel think of Goldie?")) == [
        "rook",
        "ansel",
        "goldie",
    ]
    assert ids(village.mentioned_in("Goldie, what does Rook think of Ansel?")) == [
        "goldie",
        "rook",
        "ansel",
    ]


def test_each_persona_once_whatever_the_case(village: PersonaSet) -> None:
    assert ids(village.mentioned_in("Ansel ansel ANSEL, and Sorrel, and ansel again")) == [
        "ansel",
        "sorrel",
    ]
    assert ids(village.mentioned_in("Tell Goldie about goldie")) == ["goldie"]
    assert ids(village.mentioned_in("tell ROOK about rook")) == ["rook"]


def test_whole_words_only(village: PersonaSet) -> None:
    assert village.mentioned_in("Anselm met the Rookery goldies at Thimbleford") == []
    assert ids(village.mentioned_in("Goldie's stew, (Sorrel), Rook! ansel?")) == [
        "goldie",
        "sorrel",
        "rook",
        "ansel",
    ]
    assert village.mentioned_in("ansel_x and x_rook") == []


def test_aliases_and_multi_word_names(village: PersonaSet) -> None:
    assert ids(village.mentioned_in("Ask the smith and Captain Vane")) == ["ansel", "hesper"]
    assert ids(village.mentioned_in("the HERBALIST says Marigold Puddifoot is loud")) == [
        "sorrel",
        "goldie",
    ]
    assert ids(village.mentioned_in("Captain\n  Vane, and the  blacksmith")) == [
        "hesper",
        "ansel",
    ]


def test_ids_are_not_mentions_unless_they_are_names(crowd: PersonaSet) -> None:
    assert crowd.mentioned_in("old_tam and jesus") == []  # ids, not names


def test_longest_name_wins_where_names_overlap(crowd: PersonaSet) -> None:
    assert ids(crowd.mentioned_in("JC what do you think about Jesus Christ?")) == ["jc", "jesus"]
    assert ids(crowd.mentioned_in("Jesus Christ, what does JC think?")) == ["jesus", "jc"]
    assert ids(crowd.mentioned_in("Old Tam told Tam")) == ["old_tam", "tam"]
    assert ids(crowd.mentioned_in("ask old tam")) == ["old_tam"]
    assert ids(crowd.mentioned_in("Tam is not old")) == ["tam"]


def test_names_with_punctuation_and_accents(crowd: PersonaSet) -> None:
    assert ids(crowd.mentioned_in("mx. pell and ZOË")) == ["pell", "zoe"]
    assert ids(crowd.mentioned_in("c++ pell")) == ["pell"]
    assert ids(crowd.mentioned_in("P. said hi")) == ["pell"]
    assert crowd.mentioned_in("Zoey and Mx Pell") == []


def test_empty_set_and_empty_text() -> None:
    assert PersonaSet().mentioned_in("Ansel and Rook") == []
    assert PersonaSet().by_name("Ansel") is None
    assert load_personas(REPO / "personas").mentioned_in("") == []


def test_by_name(village: PersonaSet) -> None:
    assert village.by_name("ansel") is village.personas["ansel"]  # id
    assert village.by_name("GOLDIE") is village.personas["goldie"]  # name
    assert village.by_name("  captain   vane ") is village.personas["hesper"]  # alias
    assert village.by_name("Mistress Quill") is village.personas["sorrel"]
    assert village.by_name("Rookwin") is None
    assert village.by_name("") is None


def test_every_name_and_alias_of_every_sample_is_found(village: PersonaSet) -> None:
    for p in village:
        for n in p.names:
            assert ids(village.mentioned_in(f"Hey {n}, hello!")) == [p.id], n
            assert village.by_name(n) is p


@settings(deadline=None)  # each example loads the five samples from disk: slow on a busy machine
@given(st.text(max_size=200))
def test_mentions_never_crash_and_are_unique(text: str) -> None:
    found = load_personas(REPO / "personas").mentioned_in(text)
    assert len({p.id for p in found}) == len(found)


# --- issue 14 §2: the seed's examples with our personas, and what a scene needs ----------------


def test_the_seeds_examples_with_the_village(village: PersonaSet) -> None:
    # two names, in the order named (the first answers first)
    assert ids(village.mentioned_in("Goldie, what do you think about Rook?")) == ["goldie", "rook"]
    assert ids(village.mentioned_in("Rook, what do you think about Goldie?")) == ["rook", "goldie"]
    # three names
    assert ids(village.mentioned_in("Hey Ansel, Sorrel, and Captain Vane - who's the smartest?")) == [
        "ansel",
        "sorrel",
        "hesper",
    ]
    # duplicates and case
    assert ids(village.mentioned_in("Rook Rook Rook what do you think?")) == ["rook"]
    assert ids(village.mentioned_in("Tell Ansel about ansel")) == ["ansel"]
    assert ids(village.mentioned_in("rook, sing!")) == ["rook"]
    # one name inside another (an alias inside a longer alias, a name inside a word)
    assert ids(village.mentioned_in("Captain Hesper Vane and the captain")) == ["hesper"]
    assert ids(village.mentioned_in("Rook Amberlay sang")) == ["rook"]
    assert village.mentioned_in("The rookery by the goldies' marrowbone stall") == []
    # possessives and punctuation
    assert ids(village.mentioned_in("Is Rook's tab bigger than Goldie’s stew pot, Captain Vane?")) == [
        "rook",
        "goldie",
        "hesper",
    ]
    assert ids(village.mentioned_in("(Sorrel)... ANSEL!? \"Marigold\"")) == ["sorrel", "ansel", "goldie"]


def test_al_never_fires_inside_always() -> None:
    al = PersonaSet({"al": persona("al", "Al"), "o_brien": persona("o_brien", "O'Brien")})
    assert al.mentioned_in("Always the alchemist, always Alfred; a gala") == []
    assert ids(al.mentioned_in("Al, always Al.")) == ["al"]
    assert ids(al.mentioned_in("Ask O’Brien, then Al")) == ["o_brien", "al"]  # a curly apostrophe is the same


def test_an_absent_npc_named_is_no_addressee(village: PersonaSet) -> None:
    present = {"ansel", "goldie"}
    assert ids(village.mentioned_in("Ansel, ask Rook and Goldie", among=present)) == ["ansel", "goldie"]
    assert village.mentioned_in("Rook? Captain Vane?", among=present) == []


def test_an_npc_naming_itself_does_not_call_on_itself(village: PersonaSet) -> None:
    line = "Rook Amberlay, at your service! Goldie, tell them about Rook's ballad."
    assert ids(village.mentioned_in(line, besides={"rook"})) == ["goldie"]
    assert village.mentioned_in("Rook, and Rook again", besides={"rook"}) == []
