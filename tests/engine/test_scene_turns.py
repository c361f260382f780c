"""The scene's turn-taker: who speaks after a player line, to whom, and when it stops."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.scene.turns import (
    Bond,
    Member,
    Policy,
    SceneRuleError,
    Turn,
    TurnTaker,
    banter_chance,
    members,
    plan,
)
from sidecar.engine.text import reseed
from sidecar.personas.loader import PersonaSet, load_personas

REPO = Path(__file__).resolve().parents[2]
VILLAGE_IDS = ["ansel", "goldie", "hesper", "rook", "sorrel"]


@pytest.fixture(scope="module")
def village() -> PersonaSet:
    return load_personas(REPO / "personas")


def village_members(village: PersonaSet, ids: list[str]) -> list[Member]:
    return members(ids, {i: village.personas[i].interests for i in ids}, {})


def run(taker: TurnTaker) -> list[Turn]:
    out = []
    while (turn := taker.next_turn()) is not None:
        out.append(turn)
    return out


class Table:
    """Bonds from a fixed table (the store's NPC↔NPC affinity stands behind the same Protocol)."""

    def __init__(self, bonds: dict[tuple[str, str], Bond]) -> None:
        self.bonds = bonds

    def bond(self, of: str, toward: str) -> Bond | None:
        return self.bonds.get((of, toward))


def line(village: PersonaSet, text: str, present: list[str], **kw: object) -> list[Turn]:
    named = [p.id for p in village.mentioned_in(text)]
    taker = plan("natural", village_members(village, present), named=named, line=text, rng=random.Random(1), **kw)  # type: ignore[arg-type]
    return run(taker)


def test_named_npcs_answer_in_mention_order_and_the_first_addresses_the_next(village: PersonaSet) -> None:
    turns = line(village, "Rook, what does Ansel think of Goldie?", VILLAGE_IDS, policy=Policy(talkativeness=0.0))
    assert [t.speaker for t in turns[:3]] == ["rook", "ansel", "goldie"]
    assert turns[0].addressed_to == ("ansel",)
    assert turns[1].addressed_to == ("goldie",)
    assert turns[2].addressed_to == ("ansel",)  # the last of the round answers the one before
    assert {t.why for t in turns[:3]} == {"named"}


def test_one_named_npc_speaks_to_the_player(village: PersonaSet) -> None:
    turns = line(village, "Goldie, is there stew tonight?", VILLAGE_IDS, policy=Policy(chime_interest=99))
    assert turns == [Turn("goldie", (), "named")]


def test_an_absent_npc_named_does_not_speak(village: PersonaSet) -> None:
    turns = line(village, "Rook and Hesper, listen.", ["rook", "goldie"], policy=Policy(talkativeness=0.0))
    assert [t.speaker for t in turns] == ["rook"]


def test_a_name_said_three_times_is_one_speaker(village: PersonaSet) -> None:
    turns = line(village, "Rook Rook Rook!", VILLAGE_IDS, policy=Policy(chime_interest=99))
    assert [t.speaker for t in turns] == ["rook"]


def test_with_nobody_named_the_most_interested_npc_answers(village: PersonaSet) -> None:
    turns = line(
        village, "Will there be music and songs at the festival?", VILLAGE_IDS, policy=Policy(talkativeness=0.0)
    )
    assert turns[0].speaker == "rook" and turns[0].why == "interest"


def test_with_nobody_named_and_no_interest_the_last_addressed_answers(village: PersonaSet) -> None:
    turns = line(village, "Hmm.", VILLAGE_IDS, last_addressed="hesper", policy=Policy(talkativeness=0.0))
    assert turns[0] == Turn("hesper", (), "last")
    first = line(village, "Hmm.", ["sorrel", "rook"], policy=Policy(talkativeness=0.0))
    assert first[0] == Turn("sorrel", (), "first")


@pytest.mark.parametrize("text", ["Hello everyone!", "What do you all think of the festival?", "Evening, folks."])
def test_a_line_to_everyone_is_answered_by_every_present_npc_to_the_player(village: PersonaSet, text: str) -> None:
    # Found in play: "Hello everyone!" in a scene of three got one "H-hello… hi." back.
    turns = line(village, text, ["ansel", "goldie", "rook"])
    assert turns == [Turn("ansel", (), "group"), Turn("goldie", (), "group"), Turn("rook", (), "group")]
    capped = line(village, text, ["ansel", "goldie", "rook"], policy=Policy(max_lines=2))
    assert [t.speaker for t in capped] == ["ansel", "goldie"]


@pytest.mark.parametrize("text", ["I lost all my money.", "Rook, tell everyone the news."])
def test_all_alone_or_a_named_npc_is_not_a_line_to_everyone(village: PersonaSet, text: str) -> None:
    turns = line(village, text, ["ansel", "goldie", "rook"], policy=Policy(talkativeness=0.0, chime_interest=99))
    assert turns and all(t.why != "group" for t in turns)


def test_a_keen_unnamed_npc_may_chime_in_after_the_named_ones(village: PersonaSet) -> None:
    text = "Ansel, will there be songs, music and dancing at the festival?"
    turns = line(village, text, VILLAGE_IDS, policy=Policy(talkativeness=1.0, decay=0.0))
    assert turns[0] == Turn("ansel", (), "named")
    assert turns[1] == Turn("rook", ("ansel",), "chime")
    quiet = line(village, text, VILLAGE_IDS, policy=Policy(talkativeness=0.0))
    assert [t.speaker for t in quiet] == ["ansel"]


def test_banter_answers_the_last_speaker_and_nobody_speaks_twice_in_a_row(village: PersonaSet) -> None:
    turns = line(
        village, "Rook and Goldie, who sings better?", VILLAGE_IDS, policy=Policy(talkativeness=0.94, decay=1.0)
    )
    assert len(turns) == 6  # the cap: with no decay the chance stays high
    for a, b in zip(turns, turns[1:], strict=False):
        assert a.speaker != b.speaker
        if b.why == "banter":
            assert b.addressed_to == (a.speaker,)
            assert a.addressed_to == (b.speaker,)


def test_rivals_argue_longer_than_strangers_and_friends_agree_longer() -> None:
    policy = Policy()
    a = Member("a", 0.5)
    plain = banter_chance(a, "b", Table({}), policy, 0)
    rival = banter_chance(a, "b", Table({("a", "b"): Bond("rival", 20)}), policy, 0)
    friend = banter_chance(a, "b", Table({("a", "b"): Bond("friend", 80)}), policy, 0)
    cool_friend = banter_chance(a, "b", Table({("a", "b"): Bond("friend", 30)}), policy, 0)
    assert rival > friend > plain == cool_friend == 0.5
    assert banter_chance(a, "b", Table({}), policy, 2) == pytest.approx(0.125)
    assert banter_chance(Member("x", 1.0), "b", Table({("x", "b"): Bond("rival")}), policy, 0) == policy.ceiling


def test_rivals_run_longer_exchanges_over_many_seeds() -> None:
    present = [Member("a", 0.5), Member("b", 0.5)]
    bonds = Table({("a", "b"): Bond("rival", 10), ("b", "a"): Bond("rival", 10)})

    def mean_lines(with_bonds: bool) -> float:
        total = 0
        for seed in range(400):
            taker = plan(
                "list", present, named=[], line="", rng=random.Random(seed), bonds=bonds if with_bonds else None
            )
            total += len(run(taker))
        return total / 400

    assert mean_lines(True) > mean_lines(False) + 0.3


def test_list_pooled_and_manual_strategies() -> None:
    present = [Member("a"), Member("b"), Member("c")]
    quiet = Policy(talkativeness=0.0)
    listed = run(plan("list", present, named=["c"], line="", rng=random.Random(3), policy=quiet))
    assert [t.speaker for t in listed] == ["a", "b", "c"]
    orders = {
        tuple(t.speaker for t in run(plan("pooled", present, named=[], line="", rng=random.Random(s), policy=quiet)))
        for s in range(30)
    }
    assert len(orders) > 1 and all(sorted(o) == ["a", "b", "c"] for o in orders)
    manual = run(plan("manual", present, named=["a"], line="", rng=random.Random(3), speaker="b", policy=quiet))
    assert manual == [Turn("b", (), "manual")]


@pytest.mark.parametrize(
    ("strategy", "speaker", "message"),
    [
        ("manual", None, "needs the speaker"),
        ("manual", "zed", "not present"),
        ("natural", "a", "only with the manual strategy"),
        ("chaos", None, "unknown strategy"),
    ],
)
def test_a_strategy_or_speaker_the_scene_cannot_use_is_refused(
    strategy: str, speaker: str | None, message: str
) -> None:
    with pytest.raises(SceneRuleError, match=message):
        plan(strategy, [Member("a")], named=[], line="", rng=random.Random(0), speaker=speaker)  # type: ignore[arg-type]


def test_an_empty_scene_or_a_cap_below_one_is_refused() -> None:
    with pytest.raises(SceneRuleError, match="nobody"):
        plan("natural", [], named=[], line="", rng=random.Random(0))
    with pytest.raises(SceneRuleError, match="max_lines"):
        plan("natural", [Member("a")], named=[], line="", rng=random.Random(0), policy=Policy(max_lines=0))


def test_stop_ends_the_exchange() -> None:
    taker = plan("list", [Member("a"), Member("b")], named=[], line="", rng=random.Random(0))
    assert taker.next_turn() is not None
    taker.stop()
    assert taker.next_turn() is None and len(taker.given) == 1


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32),
    present=st.lists(st.sampled_from(VILLAGE_IDS), min_size=1, max_size=5, unique=True),
    named=st.lists(st.sampled_from(VILLAGE_IDS), max_size=6),
    strategy=st.sampled_from(["natural", "list", "pooled"]),
    max_lines=st.integers(1, 8),
    talk=st.floats(0.0, 1.0),
)
def test_over_1000_seeded_scenes_the_cap_holds_named_npcs_speak_and_absent_ones_never(
    seed: int, present: list[str], named: list[str], strategy: str, max_lines: int, talk: float
) -> None:
    policy = Policy(max_lines=max_lines, talkativeness=talk)
    people = [Member(i) for i in present]
    bonds = Table({(a, b): Bond("rival", 10) for a in present for b in present if a != b})

    def once() -> list[Turn]:
        rng = reseed("scene", seed)
        return run(plan(strategy, people, named=named, line="", rng=rng, policy=policy, bonds=bonds))  # type: ignore[arg-type]

    turns = once()
    assert 1 <= len(turns) <= max_lines
    assert all(t.speaker in present for t in turns)
    assert all(a in present for t in turns for a in t.addressed_to)
    assert all(a.speaker != b.speaker for a, b in zip(turns, turns[1:], strict=False))
    assert all(t.speaker not in t.addressed_to for t in turns)
    spoke = [t.speaker for t in turns]
    if strategy == "pooled":  # every present NPC once, in a drawn order, the cap cutting the tail
        assert len(set(spoke[: len(present)])) == min(len(present), max_lines)
    else:
        must = [i for i in dict.fromkeys(named) if i in present] if strategy == "natural" else present
        assert spoke[: min(len(must), max_lines)] == must[:max_lines]
    assert once() == turns  # seeded: the scene replays identically


def test_let_speak_gives_a_voiced_npc_the_next_turn_once_and_the_cap_holds() -> None:
    import random as _random

    from sidecar.engine.scene.turns import Member, Policy, plan

    present = [Member("ansel"), Member("goldie"), Member("rook")]
    taker = plan("natural", present, named=["ansel"], line="Ansel?", rng=_random.Random(1), policy=Policy(max_lines=2))
    first = taker.next_turn()
    assert first is not None and first.speaker == "ansel"
    assert not taker.let_speak("ansel", ("goldie",)), "not the one who just spoke"
    assert not taker.let_speak("sorrel", ("ansel",)), "not an absent NPC"
    assert taker.let_speak("goldie", ("ansel",))
    assert not taker.let_speak("goldie", ("ansel",)), "once"
    assert taker.let_speak("rook", ("ansel",))
    voiced = taker.next_turn()
    assert voiced is not None and (voiced.speaker, voiced.addressed_to, voiced.why) == ("goldie", ("ansel",), "voiced")
    assert taker.next_turn() is None, "the cap (2) holds over owed turns"
