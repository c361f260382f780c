"""StoredBonds (issue 14 §3): the turn-taker's bonds over the stored NPC↔NPC affinity, moved by tone."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.engine.scene.bonds import KIND_OF, StoredBonds, tone_delta
from sidecar.engine.scene.turns import Policy, banter_chance, members
from sidecar.personas.loader import PersonaSet, load_personas
from sidecar.personas.model import RELATIONSHIP_KINDS
from sidecar.store.db import Store
from sidecar.store.relations import NpcRelations

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def village() -> PersonaSet:
    return load_personas(REPO / "personas")


def test_every_file_kind_maps_to_a_turn_taker_kind() -> None:
    assert set(KIND_OF) == set(RELATIONSHIP_KINDS)
    assert KIND_OF["enemy"] == "rival" and KIND_OF["sweetheart"] == "friend"


async def test_bonds_start_from_the_files_and_the_store_wins(store: Store, village: PersonaSet) -> None:
    p = village.personas
    relations = NpcRelations(store)
    await relations.set("ansel", "rook", 12)
    bonds = await StoredBonds.load(relations, [p["ansel"], p["rook"], p["sorrel"]])
    assert bonds.affinity("ansel", "rook") == 12  # stored
    assert bonds.affinity("rook", "ansel") == p["rook"].relationships["ansel"].affinity  # the file's start
    sorrel_rook = bonds.bond("sorrel", "rook")
    assert sorrel_rook is not None and sorrel_rook.kind == "rival"
    assert bonds.bond("ansel", "goldie") is None  # not in the scene


async def test_a_rival_is_likelier_to_answer_than_an_acquaintance(store: Store, village: PersonaSet) -> None:
    p = village.personas
    bonds = await StoredBonds.load(NpcRelations(store), [p["sorrel"], p["rook"], p["ansel"]])
    sorrel, *_ = members(["sorrel"], {}, {"sorrel": 0.5})
    rival = banter_chance(sorrel, "rook", bonds, Policy(), 0)
    plain = banter_chance(sorrel, "nobody", bonds, Policy(), 0)
    assert rival > plain


def test_the_tone_of_a_line_to_an_npc_moves_its_feeling(village: PersonaSet) -> None:
    goldie = village.personas["goldie"]
    warm, why = tone_delta("Thank you, Goldie, you are very kind.", goldie)
    assert warm > 0 and why == "warm words"
    cold, why = tone_delta("Goldie, you are a useless old gossip.", goldie)
    assert cold < 0 and why == "hostile words"
    assert tone_delta("The forge is lit.", goldie) == (0, "neutral words")


async def test_moves_are_pending_until_committed_and_a_cancel_drops_them(store: Store, village: PersonaSet) -> None:
    p = village.personas
    relations = NpcRelations(store)
    bonds = await StoredBonds.load(relations, [p["ansel"], p["goldie"]])
    before = bonds.affinity("goldie", "ansel")
    move = bonds.tone_move("ansel", "goldie", "Goldie, you are a useless old gossip.")
    assert move is not None and move.persona == "goldie" and move.other == "ansel" and move.delta < 0
    assert bonds.affinity("goldie", "ansel") == before + move.delta  # later banter sees it at once
    assert (await relations.get("goldie", "ansel", start=before)).stored is False  # nothing stored yet
    bonds.discard()
    assert bonds.affinity("goldie", "ansel") == before and bonds.pending == {}
    bonds.tone_move("ansel", "goldie", "Goldie, you are a useless old gossip.")
    bonds.tone_move("ansel", "goldie", "Goldie, you fool.")
    net = bonds.pending[("goldie", "ansel")]
    await bonds.commit()
    stored = await relations.get("goldie", "ansel", start=0)
    assert net < 0 and stored.stored and stored.value == before + net and bonds.pending == {}
    assert bonds.tone_move("ansel", "ansel", "Hi") is None and bonds.tone_move("ansel", "rook", "Hi") is None


async def test_a_joiner_gets_its_bonds(store: Store, village: PersonaSet) -> None:
    p = village.personas
    bonds = await StoredBonds.load(NpcRelations(store), [p["ansel"]])
    assert bonds.bond("ansel", "sorrel") is None
    bonds.join(p["sorrel"], {"ansel": 5})
    assert bonds.affinity("sorrel", "ansel") == 5 and bonds.affinity("ansel", "sorrel") == 90
    assert bonds.bond("ansel", "sorrel") is not None
