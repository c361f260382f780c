"""The one validator of proposed actions (sidecar/engine/actions.py): every way a proposal
is dropped, conditions and limits, the registry's precedence, the embedded rules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.actions import (
    CUES,
    ActionRegistry,
    Decided,
    Exchange,
    Outcome,
    Proposal,
    Ruled,
    Situation,
    acknowledge,
    embedded_proposals,
    embedded_rules,
    judge,
)
from sidecar.engine.data import read_toml
from sidecar.engine.reading import read
from sidecar.engine.turn import PersonaRegistry
from sidecar.personas.actions import ActionDef, check_args
from sidecar.store import world as world_store
from sidecar.store.db import Store

MEND = ActionDef.model_validate(
    {
        "description": "Mend the player's item for a price.",
        "arguments": {
            "required": ["item", "price"],
            "properties": {"item": {"type": "string"}, "price": {"type": "integer", "minimum": 1}},
        },
        "conditions": {"affinity_min": 40, "world": {"forge_lit": True}},
        "limits": {"cooldown_turns": 2},
        "embedded": {"keywords": ["fix", "mend"], "args": {"price": 5}, "take": {"item": ["sword", "axe"]}},
    }
)
GATE = ActionDef.model_validate(
    {
        "description": "Open the gate.",
        "conditions": {"goal_completed": "ask_favor"},
        "limits": {"once_per_conversation": True},
        "embedded": {"keywords": ["gate"]},
    }
)
TOLL = ActionDef.model_validate({"description": "Take the toll.", "limits": {"cooldown_s": 60}})
AVAILABLE = {"repair_item": MEND, "open_gate": GATE, "take_toll": TOLL}
OK = Situation(affinity=60, turn=5, now=1000.0, goal_id="ask_favor", goal_completed=True, world={"forge_lit": True})


def verdict(name: str, args: Mapping[str, object] | str, s: Situation = OK, *, known: bool = False) -> str | None:
    return judge(Proposal(name, args), AVAILABLE, s, known=known).problem


def test_a_valid_proposal_passes_with_its_arguments_parsed_from_json() -> None:
    v = judge(Proposal("repair_item", '{"item": "sword", "price": 5}'), AVAILABLE, OK, known=True)
    assert v.ok and v.args == {"item": "sword", "price": 5}
    assert judge(Proposal("open_gate", ""), AVAILABLE, OK, known=True).ok  # OpenAI's "" = no arguments


@pytest.mark.parametrize(
    ("name", "args", "known", "why"),
    [
        ("fly_away", "{}", False, "unknown action"),
        ("steal_horse", "{}", True, "not available to this persona"),
        ("repair_item", '{"item": "sword", "price": 5', True, "arguments are not valid JSON"),
        ("repair_item", '["sword", 5]', True, "arguments are not a JSON object"),
        ("repair_item", '{"item": "sword", "price": "5"}', True, "arguments: price: Input should be a valid integer"),
        ("repair_item", '{"item": "sword"}', True, "arguments: price: Field required"),
        ("repair_item", '{"item": "sword", "price": 0}', True, "greater than or equal to 1"),
        ("repair_item", '{"item": "sword", "price": 5, "tip": 1}', True, "tip: Extra inputs are not permitted"),
    ],
)
def test_every_invalid_proposal_is_dropped_with_its_reason(name: str, args: str, known: bool, why: str) -> None:
    problem = verdict(name, args, known=known)
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    ("situation", "why"),
    [
        (Situation(affinity=39, turn=5, now=0, world={"forge_lit": True}), "affinity 39 is below 40"),
        (Situation(affinity=60, turn=5, now=0), "world fact forge_lit is not set"),
        (Situation(affinity=60, turn=5, now=0, world={"forge_lit": False}), "forge_lit is False, not True"),
        (Situation(affinity=60, turn=5, now=0, world={"forge_lit": 1}), "forge_lit is 1, not True"),
    ],
)
def test_conditions_of_affinity_and_world_facts(situation: Situation, why: str) -> None:
    problem = verdict("repair_item", {"item": "axe", "price": 2}, situation)
    assert problem is not None and why in problem


def test_a_goal_condition_needs_that_goal_completed() -> None:
    for goal_id, done in (("ask_favor", False), ("build_trust", True), (None, False)):
        s = Situation(affinity=60, turn=1, now=0, goal_id=goal_id, goal_completed=done)
        assert verdict("open_gate", {}, s) == "condition: goal ask_favor is not completed"


def test_limits_once_per_conversation_and_cooldowns_in_turns_and_seconds() -> None:
    def at(turn: int, now: float, *decided: Decided) -> Situation:
        return Situation(60, turn, now, "ask_favor", True, {"forge_lit": True}, decided)

    args = {"item": "axe", "price": 2}
    assert (
        verdict("open_gate", {}, at(9, 0, Decided("open_gate", 1, 0)))
        == "limit: once per conversation, already decided"
    )
    assert verdict("open_gate", {}, at(9, 0, Decided("repair_item", 1, 0))) is None
    # cooldown_turns = 2: decided on turn 3, refused on turns 4 and 5, allowed on turn 6.
    assert [verdict("repair_item", args, at(t, 0, Decided("repair_item", 3, 0))) is None for t in (4, 5, 6)] == [
        False,
        False,
        True,
    ]
    assert "cooldown of 2 turns" in str(verdict("repair_item", args, at(4, 0, Decided("repair_item", 3, 0))))
    assert "cooldown of 60s" in str(verdict("take_toll", {}, at(2, 1059.0, Decided("take_toll", 1, 1000.0))))
    assert verdict("take_toll", {}, at(2, 1060.0, Decided("take_toll", 1, 1000.0))) is None


def test_the_same_action_twice_in_one_turn_is_dropped_the_second_time() -> None:
    v = judge(Proposal("open_gate", {}), AVAILABLE, OK, known=True, this_turn=["open_gate"])
    assert v.problem == "limit: already decided in this turn"


def test_the_registry_layers_file_then_everyone_then_the_persona(registry: PersonaRegistry) -> None:
    actions = ActionRegistry()
    ansel, goldie = registry.get("ansel"), registry.get("goldie")
    assert set(actions.available(ansel)) == set(ansel.actions)
    assert not actions.known("wave", registry.all())
    actions.register(None, {"wave": TOLL, "repair_item": TOLL})
    actions.register("goldie", {"pour_ale": GATE, "wave": GATE})
    assert actions.available(ansel)["repair_item"] is TOLL  # a run-time one replaces the file's by name
    assert actions.available(goldie)["wave"] is GATE and "pour_ale" not in actions.available(ansel)
    assert actions.known("pour_ale", registry.all()) and actions.known("sell_item", registry.all())


def test_embedded_rules_fire_on_a_keyword_and_take_an_argument_from_the_line() -> None:
    (p,) = embedded_proposals(AVAILABLE, "Could you FIX my axe, and the sword?", frozenset())
    assert p == Proposal("repair_item", {"price": 5, "item": "axe"}, call_id="embedded")
    assert embedded_proposals(AVAILABLE, "Can you fix my kettle?", frozenset()) == []  # no item to take
    assert embedded_proposals(AVAILABLE, "Nice weather.", frozenset()) == []
    by_intent = {"wave": ActionDef.model_validate({"description": "Wave.", "embedded": {"intents": ["goodbye"]}})}
    assert [p.name for p in embedded_proposals(by_intent, "Bye!", frozenset({"goodbye"}))] == ["wave"]


ROOM = ActionDef.model_validate({
    "description": "Let a room for some nights.",
    "arguments": {"required": ["nights", "price"],
                  "properties": {"nights": {"type": "integer"}, "price": {"type": "integer"}}},
    "embedded": {"keywords": ["room", "rooms"], "args": {"nights": 1, "price": 5},
                 "count": {"nights": ["night", "nights"]}, "per": {"price": "nights"}},
})


@pytest.mark.parametrize(("line", "nights"), [
    ("I need a room for two nights.", 2),
    ("A room for 3 nights, please.", 3),
    ("Can I have a room for a couple of nights?", 2),
    ("A room for three more nights.", 3),
    ("A room for a night.", 1),
    ("A room for the night.", 1),  # no number said: the rule's default
    ("A room, please.", 1),
    ("Two rooms for the night.", 1),  # "two" counts rooms, not nights
    ("A room for 0 nights.", 1),  # not a count: the default
])
def test_a_counted_argument_is_the_number_said_before_its_unit(line: str, nights: int) -> None:
    """"I need a room for two nights." was decided as one night (found talking to Goldie)."""
    (p,) = embedded_proposals({"rent_room": ROOM}, line, frozenset())
    assert p.arguments == {"nights": nights, "price": 5 * nights}


QUOTED_ROOM = ActionDef.model_validate({
    **ROOM.model_dump(exclude={"embedded"}),
    "limits": {"once_per_conversation": True},
    "embedded": {**ROOM.model_dump()["embedded"], "quote": ["That's {price} coppers for {nights}. Want it?"]},
})
SELL = ActionDef.model_validate({
    "description": "Sell a thing.",
    "arguments": {"required": ["item", "price"],
                  "properties": {"item": {"enum": ["horseshoe", "knife"]}, "price": {"type": "integer"}}},
    "embedded": {"keywords": ["buy"], "args": {"price": 3}, "take": {"item": ["horseshoe", "knife"]},
                 "quote": ["A {item} is {price} coppers."]},
})  # fmt: skip
QUOTING = {"rent_room": QUOTED_ROOM, "sell_item": SELL, "repair_item": MEND}


def _rules(line: str, last: tuple[str, str] | None = None, s: Situation = OK) -> Ruled:
    exchange = Exchange(last[0], read(last[0]).intents, last[1]) if last else None
    return embedded_rules(QUOTING, line, read(line).intents, s, exchange)


def test_a_price_question_names_the_price_and_decides_nothing() -> None:
    """"How much for a room?" handed Goldie's key over (rent_room decided) without a word of
    the price."""
    ruled = _rules("How much for two nights in a room?")
    assert ruled.proposals == () and ruled.quotes == ("That's 10 coppers for 2. Want it?",)
    # Asked outright, the same line decides it (no price asked).
    assert [p.arguments for p in _rules("A room for two nights, please.").proposals] == [{"nights": 2, "price": 10}]


def test_a_price_question_fires_a_quoting_rule_by_its_take_words_when_no_keyword_does() -> None:
    assert _rules("How much is a horseshoe?").quotes == ("A horseshoe is 3 coppers.",)
    assert _rules("What a lovely horseshoe.").quotes == ()  # no price asked: no quote
    # A rule without a quote is not fired by its take words alone ("How much is a sword?").
    assert _rules("How much is a sword?").proposals == ()


def test_a_yes_right_after_the_quote_decides_the_quoted_action() -> None:
    asked = "How much for two nights in a room?"
    quote = "Ooh! That's 10 coppers for 2. Want it?"
    (p,) = _rules("Yes, I'll take it.", (asked, quote)).proposals
    assert (p.name, p.arguments) == ("rent_room", {"nights": 2, "price": 10})
    assert _rules("Deal!", (asked, quote)).accepted
    # Not a yes, not after that quote, or a yes that haggles: nothing decided.
    assert _rules("Tell me about the forge.", (asked, quote)).proposals == ()
    assert _rules("Yes, I'll take it.", (asked, "The weather is fine.")).proposals == ()
    assert _rules("Yes, but that's too much.", (asked, quote)).proposals == ()
    assert _rules("Yes, I'll take it.", ("A room for two nights, please.", quote)).proposals == ()


def test_a_refused_rule_is_proposed_not_quoted() -> None:
    """A limit holds the room back (already let this conversation): no price is named for
    what the NPC will not do, so the proposal goes to the judge and its "not yet"."""
    done = Situation(60, 6, 1000.0, decided=(Decided("rent_room", 2, 900.0),))
    ruled = _rules("How much for a room?", s=done)
    assert ruled.quotes == () and [p.name for p in ruled.proposals] == ["rent_room"]


class StoreWorld:
    """World facts in a real store file, set and read with the store's own world functions
    (sidecar/store/world.py, what `world.set` stores)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def set(self, key: str, value: str | int | float | bool) -> None:
        world_store.set_fact(self.store.conn, key, value)

    async def world_facts(self, keys: Sequence[str]) -> Mapping[str, object]:
        facts = await self.store.run(world_store.facts)
        return {k: v for k, v in facts.items() if k in keys}


async def test_world_conditions_read_facts_from_a_real_store(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    try:
        world = StoreWorld(store)
        args = {"item": "axe", "price": 2}
        for value, ok in ((None, False), (False, False), (True, True)):
            if value is not None:
                world.set("forge_lit", value)
            facts = await world.world_facts(["forge_lit"])
            s = Situation(affinity=60, turn=1, now=0, world=facts)
            assert (verdict("repair_item", args, s) is None) is ok
    finally:
        await store.close()


def test_arguments_too_long_or_too_deep_are_dropped_not_raised() -> None:
    assert verdict("repair_item", "[" * 3000 + "]" * 3000) == "arguments are nested too deeply"
    long = json.dumps({"item": "x" * 9000, "price": 1})
    assert verdict("repair_item", long) == "arguments are longer than 8000 characters"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(
    name=st.sampled_from(["repair_item", "open_gate", "take_toll", "ghost"]) | st.text(max_size=50),
    raw=st.text(max_size=300) | JSON.map(json.dumps) | st.dictionaries(st.text(max_size=8), JSON, max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_any_proposal_gets_a_verdict_and_a_valid_one_matches_its_schema(name: str, raw: object) -> None:
    v = judge(Proposal(name, raw), AVAILABLE, OK, known=True)  # type: ignore[arg-type]
    assert v.ok == (v.problem is None)
    if v.ok:
        assert check_args(AVAILABLE[name].arguments, v.args) == []


def _cue(name: str) -> set[str]:
    return set(next(c for c in CUES if c.name == name).lines)


@pytest.mark.parametrize(
    ("ok", "detail", "cue"),
    [
        (True, "the player paid five silver", "paid"),
        (True, "Paid in full.", "paid"),
        (False, "the door is locked", "locked"),
        (False, "the player has no money", "no_money"),
        (False, "the player can't afford it", "no_money"),
        (False, "all the rooms are taken", "full"),
    ],
)
def test_the_embedded_words_answer_the_results_detail(ok: bool, detail: str, cue: str) -> None:
    for seed in range(6):
        assert acknowledge([Outcome("x", ok, detail, said=("Own words.",))], seed) in _cue(cue)


def test_without_a_fitting_detail_the_persona_speaks_then_the_general_line() -> None:
    said = ("There. Your sword is mended.",)
    assert acknowledge([Outcome("repair_item", True, "it rained", said)], 3) == said[0]
    assert acknowledge([Outcome("repair_item", True, None, said)], 3) == said[0]
    general = read_toml("actions.toml")["lines"]
    assert acknowledge([Outcome("repair_item", True)], 1) in general["ok"]
    assert acknowledge([Outcome("repair_item", False)], 1) in general["failed"]
    # The failed "locked" detail only fits a failure: a success with it is not a complaint.
    assert acknowledge([Outcome("open_gate", True, "the lock gave way", ("It's open.",))], 0) == "It's open."
    assert acknowledge([], 0) == ""


def test_a_failure_among_several_results_is_the_news() -> None:
    results = [Outcome("sell_item", True, "paid three coppers"), Outcome("open_gate", False, "the gate is locked")]
    assert all(acknowledge(results, seed) in _cue("locked") for seed in range(4))


def test_every_cue_line_is_short_and_says_one_thing() -> None:
    # One sentence, or a short question and its answer ("Locked? Blast it, that's no good.").
    for cue in CUES:
        for line in cue.lines:
            assert line[-1] in ".!?" and not re.search(r"[.!]", line[:-1]) and line.count("?") <= 1, line
            assert len(line.split()) <= 12, line
