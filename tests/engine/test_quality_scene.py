"""The quality rule `voices_other` (issue 14 §4): what slips through `split_foreign`, narrated
words or actions of another present NPC or the player, costs the line its pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.engine.quality import DEFAULT_THRESHOLD, SEVERE, score
from sidecar.engine.scene.attribution import split_foreign
from sidecar.engine.types import PLAYER
from sidecar.personas.loader import load_personas

VILLAGE = load_personas(Path(__file__).resolve().parents[2] / "personas").personas
ANSEL = VILLAGE["ansel"]
OTHERS = tuple(n for pid in ("goldie", "rook", "hesper") for n in VILLAGE[pid].names)


def names(text: str) -> tuple[str, ...]:
    return score(text, persona=ANSEL, history=(), preset_max_tokens=200, player_name="Wren", other_names=OTHERS).names


@pytest.mark.parametrize(
    "text",
    [
        "*Goldie laughs* Oh, you two. Hm.",
        '"Oh, Ansel, you big softie!" Goldie says. Hm. Maybe.',
        'Goldie says, "You work too hard." She is right.',
        '"Aye," Captain Vane agreed. The forge is lit.',
        "*then Rook winks at me* Hm. Hinges, mostly.",
        '"Sure, Ansel," you reply. Fine then.',
        "*you nod slowly* The iron is cold.",
        'Wren nods. "Yes, the forge."',
    ],
)
def test_narrating_another_is_severe_and_fails_the_gate(text: str) -> None:
    result = score(text, persona=ANSEL, history=(), preset_max_tokens=200, player_name="Wren", other_names=OTHERS)
    assert "voices_other" in result.names and "voices_other" in SEVERE
    assert result.score < DEFAULT_THRESHOLD and "asks_question" not in result.names


@pytest.mark.parametrize(
    "text",
    [
        "Goldie says the stew is ready. Hm.",  # hearsay, not narration
        "Goldie, you laughed at that once.",
        "*Ansel grins* Hinges, mostly.",  # its own stage direction
        '"Hinges," I said. Rook laughed at me, once.',
        'I said "no". You say "yes". Fine.',
        "You nod a lot, friend. Do you want a hinge?",
        "Rook sings too loud, says Goldie.",
        # Between two stage directions is speech: "*…hands*…Could you say" is no direction
        # (a seeded scene line that failed the gate).
        "W-well… *turns a horseshoe over in his hands*…Could you say it another way? *rubs the back of"
        " his neck* What do you think, Goldie?",
    ],
)
def test_its_own_words_and_hearsay_are_fine(text: str) -> None:
    assert "voices_other" not in names(text)


def test_what_split_foreign_cuts_and_what_the_rule_scores_are_apart() -> None:
    """A label is cut (the rule never sees it); narration is not cut, and the rule scores it."""
    others = {pid: VILLAGE[pid].names for pid in ("goldie", "rook")} | {PLAYER: ("Wren",)}
    labelled = split_foreign("Hm. Goldie: Oh, Ansel!", ANSEL.names, others)
    assert labelled.foreign and "voices_other" not in names(labelled.own)
    narrated = split_foreign('Hm. "Oh, Ansel!" Goldie says.', ANSEL.names, others)
    assert not narrated.foreign and "voices_other" in names(narrated.own)


def test_a_label_with_a_stage_direction_is_still_a_label() -> None:
    assert "speaks_for_other" in names("Hm. Goldie (laughing): Oh, Ansel!")
    assert "speaks_for_player" in names("Fine. Wren (quietly): thanks.")
    assert "speaks_for_other" not in names("Hm (a sigh): the iron is cold.")


@pytest.mark.parametrize(
    ("player", "text", "narrated"),
    [
        ("O'Brien", '"Fine," O\'Brien says. The forge is lit.', True),
        ("Jean  Luc", "*Jean Luc nods* Hm. Hinges.", True),
        ("Vane", '"Aye," Captain Vane agreed. The forge is lit.', True),  # inside a longer name
        ("Vane", "*Vane shrugs* Hm. Hinges.", True),
        ("Wrenny", "*Wren nods* Hm. Hinges.", False),  # not the player's whole name
        ("Ansel", "*Ansel grins* Hinges, mostly.", False),  # the player shares the NPC's name
    ],
)
def test_the_players_name_is_read_whatever_it_is(player: str, text: str, narrated: bool) -> None:
    result = score(text, persona=ANSEL, history=(), preset_max_tokens=200, player_name=player, other_names=OTHERS)
    assert ("voices_other" in result.names) is narrated


def test_a_new_player_needs_no_new_narration_patterns() -> None:
    """The patterns (~3 ms to compile) are keyed on the other NPCs' names: a conversation with
    a new player does not compile them again on its first turn."""
    from sidecar.engine import quality

    score("*Rook nods* Hm.", persona=ANSEL, history=(), preset_max_tokens=200, player_name="P0", other_names=OTHERS)
    compiled = quality._narration_patterns.cache_info().misses
    for k in range(1, 6):
        line = f"*P{k} nods* Hm."
        result = score(line, persona=ANSEL, history=(), preset_max_tokens=200, player_name=f"P{k}", other_names=OTHERS)
        assert "voices_other" in result.names
    assert quality._narration_patterns.cache_info().misses == compiled
