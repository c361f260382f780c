"""The scene cue (issue 14): what one NPC line of a scene is told, and the LLM instruction."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.engine.scene.cue import Answering, instruction, leaning, make_cue
from sidecar.engine.source import TurnInput
from sidecar.engine.types import PLAYER
from sidecar.personas.loader import PersonaSet, load_personas

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def village() -> PersonaSet:
    return load_personas(REPO / "personas")


def test_a_one_to_one_turn_has_no_cue() -> None:
    assert TurnInput.__dataclass_fields__["scene"].default is None


def test_the_cue_names_the_addressee_the_others_and_the_stance(village: PersonaSet) -> None:
    p = village.personas
    cue = make_cue(p["sorrel"], ["rook"], [p["ansel"], p["sorrel"], p["rook"]], player_name="Wren")
    assert cue.speaker == "sorrel" and cue.addressed_to == ("rook",)
    assert [o.id for o in cue.present] == ["ansel", "rook"]  # never the speaker
    assert [a.id for a in cue.addressees] == ["rook"]
    assert cue.stance is not None and cue.stance.kind == "rival" and cue.stance.leaning == "argue"
    others = cue.others()
    assert others[PLAYER] == ("Wren",) and "Rook Amberlay" in others["rook"] and "sorrel" not in others


def test_friends_agree_and_the_stored_affinity_overrides_the_file(village: PersonaSet) -> None:
    p = village.personas
    present = [p["ansel"], p["goldie"]]
    assert make_cue(p["ansel"], ["goldie"], present, player_name="Wren").stance.leaning == "agree"  # type: ignore[union-attr]
    soured = make_cue(p["ansel"], ["goldie"], present, player_name="Wren", affinity=20)
    assert soured.stance is not None and soured.stance.affinity == 20 and soured.stance.leaning == "argue"


def test_a_hostile_line_is_argued_with_whoever_said_it(village: PersonaSet) -> None:
    p = village.personas
    rude = Answering("goldie", "Goldie", "Ansel, you useless lump, you burnt my pot.")
    cue = make_cue(p["ansel"], ["goldie"], [p["ansel"], p["goldie"]], player_name="Wren", answering=rude)
    assert cue.stance is not None and cue.stance.leaning == "argue"
    assert leaning("friend", 70) == "agree" and leaning(None, 50) == "neutral" and leaning("enemy", 90) == "argue"


def test_the_instruction_is_the_seeds_injection_made_strict(village: PersonaSet) -> None:
    p = village.personas
    answered = Answering(PLAYER, "Wren", "Sorrel and Rook, who tells better stories?")
    cue = make_cue(p["sorrel"], ["rook"], [p["sorrel"], p["rook"]], player_name="Wren", answering=answered)
    text = instruction(cue, p["sorrel"])
    assert "You are Sorrel" in text and "Address Rook by name" in text
    assert "your rival" in text and "disagree" in text
    assert 'who said: "Sorrel and Rook, who tells better stories?"' in text and "not a greeting" in text
    assert "Speak only for yourself" in text and "Wren or Rook" in text


def test_a_line_to_the_player_is_told_so(village: PersonaSet) -> None:
    p = village.personas
    text = instruction(make_cue(p["rook"], [], [p["rook"], p["goldie"]], player_name="Wren"), p["rook"])
    assert "Speak to Wren." in text and "Address" not in text


def test_answering_one_npc_and_addressing_another_gives_both_stances(village: PersonaSet) -> None:
    p = village.personas
    answered = Answering("ansel", "Ansel", "Rook wrote a song about me. Isn't that so, Goldie?")
    cue = make_cue(p["goldie"], ["rook"], [p["ansel"], p["goldie"], p["rook"]], player_name="Mira", answering=answered)
    text = instruction(cue, p["goldie"])
    assert "Rook is your rival; you tend to disagree" in text
    assert "Ansel is family to you; you tend to agree" in text
