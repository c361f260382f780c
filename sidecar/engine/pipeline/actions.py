"""Step 4, act: what the NPC does besides speaking (mend the sword, open the gate).

Two halves around `generate`:
- `prepare` (before the line): the speaker's actions (file and run-time), the situation the
  conditions and limits are judged in (affinity, the goal as loaded, the world facts the
  conditions name, this conversation's decided actions) and the game's results that no line
  has reacted to yet; the line source gets the actions (a provider as tools) and the results
  (a prompt hint, or the embedded engine's first words).
- `__call__` (after the gate kept the line): the kept line's proposals — a provider's tool
  calls, or the persona's embedded rules when the embedded engine wrote the line — judged by
  the one validator (sidecar/engine/actions.py); an invalid one is dropped with its reason
  logged (the gate already scored it down, `problems`, so a retry could do better), a valid
  one is stored and then announced as `npc.action`, before the reply and before `settle`.

Actions are stored in their own transaction before the game hears of them, so the game
never acts on an action the store does not have; they survive a crash before the turn's own
commit too (then `actions.pending` still lists them, and the game decides).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sidecar.engine.actions import (
    CONDITION,
    LIMIT,
    ActionRegistry,
    Decided,
    Exchange,
    Outcome,
    Proposal,
    Ruled,
    Situation,
    Verdict,
    WorldFacts,
    askable,
    embedded_rules,
    judge,
    possible,
    world_keys,
)
from sidecar.engine.pipeline.draft import Acting, Action, Draft
from sidecar.engine.reading import read
from sidecar.engine.source import Emit, Generated
from sidecar.personas.actions import ActionDef
from sidecar.personas.model import Persona
from sidecar.store.actions import ActionStore, Logged, NewAction
from sidecar.store.db import Store

log = logging.getLogger(__name__)

ACTION_EVENT = "npc.action"


def new_id() -> str:
    return "a_" + secrets.token_hex(8)


class Act:
    def __init__(
        self,
        store: Store,
        registry: ActionRegistry,
        personas: Callable[[], Sequence[Persona]],
        world: WorldFacts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = ActionStore(store)
        self.registry = registry
        self.personas = personas
        self.world = world
        """None: the world facts the turn loaded with its state (`draft.turn.world`)."""
        self.clock = clock

    async def prepare(self, draft: Draft) -> Acting:
        """Reads the conversation's actions and the world facts; sets what the line source
        is told (`draft.turn`). Raises `StoreError`."""
        available = self.registry.available(draft.speaker)
        action_log = await self.store.log(draft.conversation.id)
        keys = world_keys(available.values())
        if self.world is None:
            world: Mapping[str, object] = {k: draft.turn.world[k] for k in keys if k in draft.turn.world}
        else:
            world = await self.world.world_facts(keys) if keys else {}
        goal = draft.goal_row
        situation = Situation(
            affinity=draft.ctx.affinity,
            turn=draft.conversation.turns + 1,
            now=self.clock(),
            goal_id=goal.goal_id if goal else None,
            goal_completed=bool(goal and goal.completed),
            world=world,
            decided=tuple(Decided(r.name, r.turn, r.decided_at) for r in action_log.decided),
        )
        results = tuple(self._outcome(r, available) for r in action_log.untold)
        rules = self._embedded(draft, available, situation)
        acting = Acting(available, situation, action_log, rules.proposals)
        # A provider is offered only what it may do now, so it does not promise the rest.
        now = {name: a for name, a in available.items() if possible(name, a, situation)}
        # What the persona's rules decide from this line shapes the embedded engine's words.
        ruled = self._judged(acting, acting.ruled)
        draft.turn = replace(
            draft.turn,
            actions=now,
            action_results=results,
            actions_refused=any(not v.ok for v in ruled),
            actions_decided=any(v.ok for v in ruled),
            not_yet=self._not_yet(ruled, available),
            asks=self._asks(available, situation, draft.ctx.seed),
            quotes=rules.quotes,
            accepted=rules.accepted,
            agreed=tuple(
                line for v in ruled if v.ok and rules.accepted and v.name in available
                for line in available[v.name].agrees(v.args)
            ),
        )
        return acting

    @staticmethod
    def _not_yet(ruled: Sequence[Verdict], available: Mapping[str, ActionDef]) -> tuple[str, ...]:
        # A condition refusal has the rule's "not yet" words, a limit its "again" words: a
        # limit means it was done already or just now, and "convince me first" would be wrong.
        return tuple(
            line
            for v in ruled
            if v.problem is not None and v.problem.startswith((CONDITION, LIMIT)) and v.name in available
            for line in available[v.name].not_yet(v.args, limited=v.problem.startswith(LIMIT))
        )

    @staticmethod
    def _asks(available: Mapping[str, ActionDef], situation: Situation, seed: int) -> tuple[str, ...]:
        # Rotated by the turn's seed, so the options do not repeat one line.
        out: list[str] = []
        for name, action in available.items():
            rule = action.embedded
            if rule is not None and rule.ask and askable(name, action, situation):
                k = seed % len(rule.ask)
                out += [*rule.ask[k:], *rule.ask[:k]]
        return tuple(out)

    @staticmethod
    def _outcome(row: Logged, available: Mapping[str, ActionDef]) -> Outcome:
        # An action no longer available to the speaker is answered with the general words.
        action = available.get(row.name)
        said = action.said(bool(row.ok), row.args) if action is not None else ()
        return Outcome(row.name, bool(row.ok), row.detail, said)

    @staticmethod
    def _embedded(draft: Draft, available: Mapping[str, ActionDef], situation: Situation) -> Ruled:
        if not any(a.embedded is not None for a in available.values()):
            return Ruled()
        intents = read(draft.player_text).intents  # the flags do not depend on the line's tone
        return embedded_rules(available, draft.player_text, intents, situation, _last_exchange(draft))

    def proposals(self, draft: Draft, line: Generated) -> tuple[Proposal, ...]:
        return line.proposals if line.from_provider else draft.acting.ruled

    def verdicts(self, draft: Draft, line: Generated) -> list[Verdict]:
        return self._judged(draft.acting, self.proposals(draft, line))

    def _judged(self, acting: Acting, proposals: Sequence[Proposal]) -> list[Verdict]:
        everyone = self.personas()
        out: list[Verdict] = []
        for proposal in proposals:
            verdict = judge(
                proposal,
                acting.available,
                acting.situation,
                known=self.registry.known(proposal.name, everyone),
                this_turn=[v.name for v in out if v.ok],
            )
            out.append(verdict)
        return out

    def problems(self, draft: Draft, line: Generated) -> list[str]:
        """Why each action a provider proposed with `line` is invalid (the quality gate's
        `invalid_action` rule). The embedded engine's rules are not scored: its line would
        not change with a retry, and a rule whose conditions fail simply does not fire."""
        if not line.from_provider:
            return []
        return [f"{v.name}: {v.problem}" for v in self.verdicts(draft, line) if not v.ok]

    async def __call__(self, draft: Draft, emit: Emit) -> tuple[Action, ...]:
        """Raises `StoreError` (then the turn fails and the game heard of no action)."""
        line = draft.generation.line
        kept: list[Action] = []
        for verdict in self.verdicts(draft, line):
            if not verdict.ok:
                # Not an error of the game's: the model proposed something it may not do.
                log.info(
                    "action dropped",
                    extra={
                        "conversation": draft.conversation.id,
                        "action": verdict.name[:64],
                        "reason": verdict.problem,
                        "provider": line.provider,
                    },
                )
                continue
            kept.append(Action(new_id(), verdict.name, verdict.args))
        if not kept:
            return ()
        await self.store.decide(
            draft.conversation.id,
            draft.speaker.id,
            draft.acting.situation.turn,
            [NewAction(a.id, a.name, a.args) for a in kept],
        )
        for action in kept:
            await emit(ACTION_EVENT, {"id": action.id, "name": action.name, "args": dict(action.args)})
        # The NPC is doing it: this turn's options ask for nothing (the next turn's prepare
        # judges again, with its limits).
        draft.turn = replace(draft.turn, asks=())
        return tuple(kept)


def _last_exchange(draft: Draft) -> Exchange | None:
    """The speaker's last line and the player's line it answered (what a yes is a yes to)."""
    last = draft.ctx.last_exchange()
    return None if last is None else Exchange(last[0], read(last[0]).intents, last[1])


__all__ = ["ACTION_EVENT", "Act", "new_id"]
