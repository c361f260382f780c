"""Step 5, settle: what the kept line changes in the relationship.

    NPC sentiment → emotional arc → affinity (turn delta + arc bonus) → goal (heuristics,
    then the source's judge; its reward) → affinity, combined → the line's emotion

The arc and the turn delta follow the player's *stance* toward the NPC (engine/tone.py), not
the mood of the topic: sad news, fears and confessions are no hostility.

Each part is a function of the draft, unit-tested on its own; `Settle` runs them in that
order because the goal is checked against the affinity the turn would leave without the
goal's reward, and the reward is one more affinity change. Nothing here writes: `persist`
stores the result, `announce` sends its events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.engine import arc as arcs
from sidecar.engine import emotion as feelings
from sidecar.engine import goals as goal_rules
from sidecar.engine.affinity import AffinityChange, apply, combine, likes_topic, turn_delta
from sidecar.engine.pipeline.draft import Draft, GoalState, Settled
from sidecar.engine.sentiment import analyze
from sidecar.engine.source import LineSource
from sidecar.engine.types import PLAYER, Line, Sentiment
from sidecar.store.db import GoalWrite

ARC_WINDOW = 8
"""Recent player-line scores the arc is classified on."""


def arc_step(draft: Draft) -> arcs.ArcStep:
    """The emotional arc over the player's recent stances: how the player treats this NPC,
    not the mood of what they talk about. NPC lines are left out on purpose: NPCs (embedded
    and LLM alike) tend to answer an insult kindly, which would make every insult look like
    a "reconciliation". Lines stored before stances were (NULL) are left out too."""
    scores = [r.stance for r in draft.lines if r.speaker == PLAYER and r.stance is not None]
    recent = [*scores[-(ARC_WINDOW - 1) :], draft.tone.stance]
    return arcs.step(draft.ctx.state.arc_episode, recent)


def relationship_changes(draft: Draft, step: arcs.ArcStep) -> list[AffinityChange]:
    """The per-turn delta (the player's stance, the liked-topic bonus) and the arc's
    once-per-episode bonus."""
    liked = likes_topic(draft.speaker, draft.generation.topic)
    changes = [turn_delta(draft.tone, topic_liked=liked)]
    if step.bonus:
        changes.append(AffinityChange(step.bonus, f"{step.arc.value} arc"))
    return changes


@dataclass(frozen=True)
class GoalOutcome:
    state: GoalState
    write: GoalWrite
    reward: AffinityChange | None
    events: tuple[tuple[str, Mapping[str, Any]], ...]


async def goal_progress(
    draft: Draft, source: LineSource, *, affinity: int, npc_sentiment: Sentiment
) -> GoalOutcome | None:
    """The goal's progress over the lines since it was set, this turn included: the
    heuristics first, then the source's judge (an LLM's verdict replaces the heuristics' when
    it gives one). Progress never goes back; the reward is paid once. None without a goal."""
    row, goal = draft.goal_row, draft.goal
    if row is None or goal is None:
        return None
    line_text = draft.generation.text
    since = [r for r in draft.lines if r.seq >= row.set_at_seq]
    npc_rows = [r for r in since if r.speaker != PLAYER]
    check = goal_rules.check(
        goal,
        npc_lines=[r.text for r in npc_rows] + [line_text],
        player_lines=[r.text for r in since if r.speaker == PLAYER] + [draft.player_text],
        sentiments=[(r.compound if r.compound is not None else analyze(r.text).compound) for r in npc_rows]
        + [npc_sentiment.compound],
        affinity=affinity,
        persona=draft.speaker,
        previous_progress=row.progress,
    )
    lines: Sequence[Line] = [Line(r.speaker, r.text) for r in since] + [
        Line(PLAYER, draft.player_text),
        Line(draft.speaker.id, line_text),
    ]
    found = await source.judge(draft.turn, draft.generation.line, goal, lines)
    if found is not None:
        check = goal_rules.settle(goal, found, affinity=affinity, previous_progress=row.progress)
    bonus = goal_rules.reward(goal, check, rewarded=row.rewarded)
    due = goal_rules.reward_due(check, rewarded=row.rewarded)
    events: list[tuple[str, Mapping[str, Any]]] = []
    if check.progress > row.progress:
        events.append(
            ("goal_progressed", {"id": goal.id, "progress": round(check.progress, 3), "reason": check.reason})
        )
    if due:
        events.append(("goal_completed", {"id": goal.id, "reward": bonus, "reason": check.reason}))
    return GoalOutcome(
        state=GoalState(goal.id, check.progress, check.completed, check.reason, goal.description),
        write=GoalWrite(check.progress, check.completed, row.rewarded or due, check.reason),
        reward=AffinityChange(bonus, f"goal {goal.id} completed") if bonus else None,
        events=tuple(events),
    )


class Settle:
    def __init__(self, source: LineSource) -> None:
        self.source = source

    async def __call__(self, draft: Draft) -> Settled:
        npc_sentiment = analyze(draft.generation.text)
        step = arc_step(draft)
        changes = relationship_changes(draft, step)
        provisional = apply(draft.ctx.affinity, combine(changes))
        goal = await goal_progress(draft, self.source, affinity=provisional, npc_sentiment=npc_sentiment)
        if goal is not None and goal.reward is not None:
            changes.append(goal.reward)
        change = combine(changes)
        return Settled(
            npc_sentiment=npc_sentiment,
            arc=step,
            change=change,
            goal=goal.state if goal else None,
            goal_write=goal.write if goal else None,
            goal_events=goal.events if goal else (),
            feeling=feelings.settle(
                draft.generation.line.emotion,
                draft.generation.text,
                npc_sentiment,
                reading=draft.tone,
                affinity=apply(draft.ctx.affinity, change),
                arc=step.arc.value,
                voice=draft.tuning.voice,
            ),
        )


__all__ = ["ARC_WINDOW", "GoalOutcome", "Settle", "arc_step", "goal_progress", "relationship_changes"]
