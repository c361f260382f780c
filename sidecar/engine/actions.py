"""NPC actions: which an NPC may take (the registry), whether a proposed one is valid (the
one validator), and what the embedded engine proposes from a persona's rules.

A proposal comes from a line source: a provider's tool call (its arguments as raw JSON
text) or the embedded engine's rule (arguments as a map). `judge` checks, in this order,
and stops at the first problem, which becomes the logged reason the action was dropped:

    known        the name is an action of some persona or a run-time registration
    available    ... of this speaker (file actions, then run-time ones for every persona,
                 then run-time ones for this persona; a later one replaces an earlier by name)
    arguments    parse as a JSON object and match the action's schema (strict)
    conditions   affinity_min, goal_completed, world facts
    limits       once_per_conversation, cooldown_turns, cooldown_s (over this conversation's
                 decided actions, stored)

Pure apart from the world facts, which the caller reads through `WorldFacts` before judging.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sidecar.engine.data import number_map, phrase_lists, read_toml, word_list
from sidecar.engine.text import holds
from sidecar.errors import ConfigError
from sidecar.personas.actions import WORD, ActionDef, EmbeddedRule, check_args
from sidecar.personas.model import Persona

log = logging.getLogger(__name__)

MAX_ARGS_CHARS = 8_000
"""Longest arguments text a provider's call may carry (a flat object of short values)."""


@dataclass(frozen=True)
class Proposal:
    """An action a line source proposes; nothing is trusted until `judge` passes it."""

    name: str
    arguments: Mapping[str, Any] | str
    """A map (the embedded engine's rule), or the provider's raw JSON text."""
    call_id: str = ""
    """The provider's own id of the call (logs only)."""


@dataclass(frozen=True)
class Decided:
    """An action already decided in this conversation (for limits)."""

    name: str
    turn: int
    at: float


@dataclass(frozen=True)
class Situation:
    """What conditions and limits are checked against, read once per turn."""

    affinity: int
    turn: int
    """The number of this player turn in the conversation (1 = the first `say`)."""
    now: float
    goal_id: str | None = None
    goal_completed: bool = False
    world: Mapping[str, object] = field(default_factory=dict)
    decided: Sequence[Decided] = ()


@dataclass(frozen=True)
class Verdict:
    name: str
    args: Mapping[str, Any]
    problem: str | None
    """None: valid. Otherwise why it was dropped ("limit: once per conversation")."""

    @property
    def ok(self) -> bool:
        return self.problem is None


class WorldFacts(Protocol):
    """The game's world facts (`world.set`), read for the `world` conditions."""

    async def world_facts(self, keys: Sequence[str]) -> Mapping[str, object]:
        """The facts among `keys` that are set (a key that is not set is left out)."""
        ...


class ActionRegistry:
    """Every persona's actions: from its file, and registered by the game at run time.

    Run-time registrations last until the sidecar stops (the game registers again at start);
    file actions follow the persona registry (a reload brings the file's new ones)."""

    def __init__(self) -> None:
        self._everyone: dict[str, ActionDef] = {}
        self._by_persona: dict[str, dict[str, ActionDef]] = {}

    def register(self, persona: str | None, actions: Mapping[str, ActionDef]) -> list[str]:
        """Add (or replace by name) run-time actions of one persona, or of every persona."""
        table = self._everyone if persona is None else self._by_persona.setdefault(persona, {})
        table.update(actions)
        return list(actions)

    def available(self, persona: Persona) -> dict[str, ActionDef]:
        """This persona's actions, by name: file, then for everyone, then its own run-time."""
        return {**persona.actions, **self._everyone, **self._by_persona.get(persona.id, {})}

    def known(self, name: str, personas: Iterable[Persona]) -> bool:
        return (
            name in self._everyone
            or any(name in table for table in self._by_persona.values())
            or any(name in p.actions for p in personas)
        )


def _parse_args(raw: Mapping[str, Any] | str) -> tuple[Mapping[str, Any], str | None]:
    if not isinstance(raw, str):
        return raw, None
    text = raw.strip() or "{}"  # OpenAI sends "" for a call without arguments
    if len(text) > MAX_ARGS_CHARS:
        return {}, f"arguments are longer than {MAX_ARGS_CHARS} characters"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"arguments are not valid JSON ({exc.msg} at {exc.pos})"
    except RecursionError:
        # "[[[[…" deeper than the interpreter's stack: the model's text, not our bug.
        return {}, "arguments are nested too deeply"
    if not isinstance(value, dict):
        return {}, "arguments are not a JSON object"
    return value, None


CONDITION = "condition: "
LIMIT = "limit: "
"""How a verdict's problem starts when a condition (not a limit) refused the action."""


def _condition_problem(action: ActionDef, s: Situation) -> str | None:
    c = action.conditions
    if (problem := _affinity_problem(action, s)) is not None:
        return problem
    if c.goal_completed is not None and not (s.goal_id == c.goal_completed and s.goal_completed):
        return f"{CONDITION}goal {c.goal_completed} is not completed"
    return _world_problem(action, s)


def _affinity_problem(action: ActionDef, s: Situation) -> str | None:
    need = action.conditions.affinity_min
    return f"{CONDITION}affinity {s.affinity} is below {need}" if need is not None and s.affinity < need else None


def _world_problem(action: ActionDef, s: Situation) -> str | None:
    for key, want in action.conditions.world.items():
        if key not in s.world:
            return f"{CONDITION}world fact {key} is not set"
        have = s.world[key]
        # True is not 1 here: a fact's type is part of its value.
        if type(have) is not type(want) or have != want:
            return f"{CONDITION}world fact {key} is {have!r}, not {want!r}"
    return None


def askable(name: str, action: ActionDef, s: Situation) -> bool:
    """Whether asking for `action` (again) can lead to it: no limit holds it back (done once
    already, cooling down), no condition asking cannot change fails (affinity, world facts),
    and a goal it waits on is this conversation's (not completed yet is what asking is for)."""
    if limit_problem(name, action, s) or _affinity_problem(action, s) or _world_problem(action, s):
        return False
    goal = action.conditions.goal_completed
    return goal is None or goal == s.goal_id


def limit_problem(name: str, action: ActionDef, s: Situation) -> str | None:
    lim = action.limits
    earlier = [d for d in s.decided if d.name == name]
    if not earlier:
        return None
    if lim.once_per_conversation:
        return f"{LIMIT}once per conversation, already decided"
    last = max(earlier, key=lambda d: (d.turn, d.at))
    if lim.cooldown_turns and s.turn - last.turn <= lim.cooldown_turns:
        return f"{LIMIT}cooldown of {lim.cooldown_turns} turns (last on turn {last.turn})"
    if lim.cooldown_s and s.now - last.at < lim.cooldown_s:
        return f"{LIMIT}cooldown of {lim.cooldown_s:g}s"
    return None


def possible(name: str, action: ActionDef, situation: Situation) -> bool:
    """Whether `action`'s conditions and limits allow it now, whatever its arguments."""
    return _condition_problem(action, situation) is None and limit_problem(name, action, situation) is None


def judge(
    proposal: Proposal,
    available: Mapping[str, ActionDef],
    situation: Situation,
    *,
    known: bool,
    this_turn: Sequence[str] = (),
) -> Verdict:
    """Whether `proposal` may reach the game. `known`: whether any persona or registration
    has an action of that name (the reason says "unknown" or "not available");
    `this_turn`: names already accepted in this turn (an action is decided once per turn)."""
    name = proposal.name
    action = available.get(name)
    if action is None:
        why = "not available to this persona" if known else "unknown action"
        return Verdict(name, {}, why)
    args, problem = _parse_args(proposal.arguments)
    if problem is None:
        problems = check_args(action.arguments, args)
        problem = "arguments: " + "; ".join(problems) if problems else None
    if problem is None and name in this_turn:
        problem = "limit: already decided in this turn"
    if problem is None:
        problem = _condition_problem(action, situation)
    if problem is None:
        problem = limit_problem(name, action, situation)
    return Verdict(name, dict(args), problem)


def world_keys(actions: Iterable[ActionDef]) -> list[str]:
    """The world facts the conditions of `actions` read (so a turn reads only those)."""
    return sorted({key for a in actions for key in a.conditions.world})


def said_count(words: Sequence[str], units: Sequence[str]) -> int | None:
    """The number the player puts before one of `units` ("two nights", "3 nights", "a
    couple of nights", "a night"), or None. `words`: the line's words, lowercased."""
    wanted = {u.lower() for u in units}
    for i, word in enumerate(words):
        if word not in wanted:
            continue
        j = i - 1
        while j >= 0 and words[j] in COUNT_FILLERS:
            j -= 1
        if j < 0:
            continue
        before = words[j]
        if before.isdigit():
            return int(before) if 0 < int(before) < 10_000 else None
        if before in NUMBERS:
            return NUMBERS[before]
    return None


@dataclass(frozen=True)
class Fired:
    """A persona rule the player's line fires, with the arguments it would decide."""

    name: str
    action: ActionDef
    args: Mapping[str, Any]


def fired_rules(available: Mapping[str, ActionDef], player_text: str, intents: frozenset[str]) -> list[Fired]:
    """The persona's `[actions.NAME.embedded]` rules the line fires: one of its keywords or
    intents is in the line and every `take` argument found one of its words ("fix my
    sword" → `item = "sword"`). A price question that fires none so fires the rules with a
    `quote` whose `take` words it names ("How much is a horseshoe?")."""
    words = [w.lower() for w in WORD.findall(player_text)]
    present = frozenset(words)
    price = "asks_price" in intents
    by_word: list[Fired] = []
    by_take: list[Fired] = []
    for name, action in available.items():
        rule = action.embedded
        if rule is None:
            continue
        # The arguments are read only for a rule the line may fire (most lines fire none).
        matched = bool(rule.words & present or set(rule.intents) & intents)
        if not (matched or price and rule.quote and rule.take) or (args := _rule_args(rule, words)) is None:
            continue
        (by_word if matched else by_take).append(Fired(name, action, args))
    return by_word or by_take


def _rule_args(rule: EmbeddedRule, words: Sequence[str]) -> dict[str, Any] | None:
    """The arguments the rule decides from the line's words; None when a `take` finds none."""
    args: dict[str, Any] = dict(rule.args)
    for arg, units in rule.count.items():
        args[arg] = said_count(words, units) or args[arg]
    for arg, unit in rule.per.items():
        args[arg] = args[arg] * args[unit]
    for arg, choices in rule.take.items():
        # The first of the rule's words the player said, in the order the player said them.
        wanted = {c.lower(): c for c in choices}
        found = next((wanted[w] for w in words if w in wanted), None)
        if found is None:
            return None
        args[arg] = found
    return args


def proposed_in(actions: Mapping[str, ActionDef], npc_text: str) -> bool:
    """Whether `npc_text` holds one of the rules' quotes or offers (their words between the
    `{arg}`s, as said): the NPC named a price or an errand, so a no answers it."""
    for action in actions.values():
        rule = action.embedded
        for template in (*rule.quote, *rule.offer) if rule is not None else ():
            chunk = max(_PLACEHOLDER_SPLIT.split(template), key=len).strip()
            if len(chunk) >= 12 and holds(npc_text, chunk):
                return True
    return False


def gives_errands(actions: Mapping[str, ActionDef]) -> bool:
    """Whether one of the rules offers an errand to a player asking for work (`offer` lines,
    fired by the `asks_work` intent)."""
    return any(
        a.embedded is not None and bool(a.embedded.offer) and "asks_work" in a.embedded.intents
        for a in actions.values()
    )


_PLACEHOLDER_SPLIT = re.compile(r"\{\w+\}")


@dataclass(frozen=True)
class Exchange:
    """The player's line before the NPC's last one, and that NPC line: what a yes answers."""

    player_text: str
    intents: frozenset[str]
    npc_text: str


@dataclass(frozen=True)
class Ruled:
    """What the persona's rules make of the player's line."""

    proposals: tuple[Proposal, ...] = ()
    quotes: tuple[str, ...] = ()
    """The price lines (filled) of the rules a price question fired: said instead of
    deciding the action."""
    accepted: bool = False
    """A proposal is a yes to the price the NPC's last line named."""


def embedded_rules(
    available: Mapping[str, ActionDef],
    player_text: str,
    intents: frozenset[str],
    situation: Situation,
    last: Exchange | None = None,
) -> Ruled:
    """What the embedded engine proposes from the persona's rules. A price question to a
    rule with a `quote`, or any line firing a rule with an `offer`, decides nothing when the
    rule may be decided now: its quote or offer is said (a rule its conditions or limits
    refuse is proposed, so that the NPC says "not yet" rather than name a price or an errand
    it will not give). A yes right after a quote or an offer ("Deal!", with `last` the
    exchange it answered) decides that action, with the arguments it named, unless the line
    fires a rule of its own."""
    proposals: list[Proposal] = []
    quotes: list[str] = []
    price = "asks_price" in intents
    for f in fired_rules(available, player_text, intents):
        lines = f.action.proposing(f.args, price=price)
        if lines and possible(f.name, f.action, situation):
            quotes.extend(lines)
        else:
            proposals.append(Proposal(f.name, f.args, call_id="embedded"))
    if proposals or quotes or "agrees" not in intents or last is None:
        return Ruled(tuple(proposals), tuple(quotes))
    price = "asks_price" in last.intents
    for f in fired_rules(available, last.player_text, last.intents):
        if any(holds(last.npc_text, q) for q in f.action.proposing(f.args, price=price)):
            proposals.append(Proposal(f.name, f.args, call_id="embedded"))
    return Ruled(tuple(proposals), accepted=bool(proposals))


def embedded_proposals(available: Mapping[str, ActionDef], player_text: str, intents: frozenset[str]) -> list[Proposal]:
    """What the persona's rules decide from the line alone, with no price named and no
    quote to say yes to (`embedded_rules` with both)."""
    return [Proposal(f.name, f.args, call_id="embedded") for f in fired_rules(available, player_text, intents)]


@dataclass(frozen=True)
class Outcome:
    """The game's result of an action, as the next line is told it."""

    name: str
    ok: bool
    detail: str | None = None
    said: tuple[str, ...] = ()
    """The persona's own words for this result (its rule's `done` or `failed` lines, the
    decided arguments filled in: "There. Your sword's mended.")."""

    def hint(self) -> str:
        """For an LLM prompt: the detail goes in as the game gave it."""
        how = "went through" if self.ok else "did not work"
        return f"Your action {self.name} {how}" + (f": {self.detail}" if self.detail else ".")


@dataclass(frozen=True)
class Cue:
    """Words of a result's `detail` and what the NPC says to them (sidecar/data/actions.toml)."""

    name: str
    ok: bool
    words: frozenset[str]
    lines: tuple[str, ...]


def _cues(data: Mapping[str, Any]) -> tuple[Cue, ...]:
    table = data.get("cues")
    if not isinstance(table, dict):
        raise ConfigError("sidecar/data/actions.toml: cues: must be a table of cue tables")
    out: list[Cue] = []
    for name, cue in table.items():
        where = f"cues.{name}"
        if not isinstance(cue, dict) or cue.get("when") not in ("ok", "failed"):
            raise ConfigError(f'sidecar/data/actions.toml: {where}.when: must be "ok" or "failed"')
        extra = sorted(set(cue) - {"when", "words", "lines"})
        if extra:
            raise ConfigError(f"sidecar/data/actions.toml: {where}.{extra[0]}: unknown key")
        words = word_list(cue, "actions.toml", "words")
        lines = phrase_lists({where: {"lines": cue.get("lines")}}, "actions.toml", where, ("lines",))["lines"]
        out.append(Cue(name, cue["when"] == "ok", frozenset(words), lines))
    return tuple(out)


_ACK = read_toml("actions.toml")
_LINES = phrase_lists(_ACK, "actions.toml", "lines", ("ok", "failed", "not_now", "doing", "accept"))
NUMBERS = number_map(_ACK, "actions.toml", "numbers")
"""Number words an embedded rule's `count` reads before a unit word ("two nights")."""
COUNT_FILLERS = frozenset(word_list(_ACK, "actions.toml", "count_fillers"))
"""Words that may stand between the number and the unit ("three more nights")."""
CUES = _cues(_ACK)


def not_now(seed: int) -> str:
    """The embedded engine's answer to a request whose action may not be decided now."""
    lines = _LINES["not_now"]
    return lines[seed % len(lines)]


def doing(seed: int) -> str:
    """The embedded engine's answer when it decides an action it would otherwise disclaim."""
    lines = _LINES["doing"]
    return lines[seed % len(lines)]


def accept_options() -> tuple[str, ...]:
    """Answer options that say yes to the price the NPC just named (each reads as `agrees`)."""
    return _LINES["accept"]


def cue_for(result: Outcome) -> Cue | None:
    """The first cue that fits the result and names a word of its detail."""
    if not result.detail:
        return None
    words = frozenset(w.lower() for w in WORD.findall(result.detail))
    return next((c for c in CUES if c.ok == result.ok and c.words & words), None)


def acknowledge(results: Sequence[Outcome], seed: int) -> str:
    """The embedded engine's one sentence about the game's results, said first in the next
    line. A failure is the news (the first one); then, for that result: what its detail
    calls for ("paid five silver" → thanks for the coin, "locked" → a complaint), else the
    persona's own words for the action, else a general line."""
    if not results:
        return ""
    result = next((r for r in results if not r.ok), results[0])
    cue = cue_for(result)
    lines = cue.lines if cue else result.said or _LINES["ok" if result.ok else "failed"]
    return lines[seed % len(lines)]


__all__ = [
    "CUES",
    "ActionRegistry",
    "Cue",
    "Exchange",
    "Fired",
    "Ruled",
    "accept_options",
    "embedded_rules",
    "gives_errands",
    "proposed_in",
    "fired_rules",
    "cue_for",
    "Decided",
    "Outcome",
    "acknowledge",
    "doing",
    "not_now",
    "Proposal",
    "Situation",
    "Verdict",
    "WorldFacts",
    "embedded_proposals",
    "judge",
    "possible",
    "world_keys",
]
