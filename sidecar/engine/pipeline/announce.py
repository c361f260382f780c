"""Step 8, announce: the turn's events, sent after the commit and before the reply.

`affinity_changed` (only when the stored affinity moved; a clamped change at 0 or 100 is
not a change), then the goal's `goal_progressed` / `goal_completed`. A quality retry is
logged here too (counts only, never the text).
"""

from __future__ import annotations

import logging

from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.source import Emit

log = logging.getLogger(__name__)


async def announce(draft: Draft, emit: Emit) -> None:
    stored, settled, gen = draft.stored, draft.settled, draft.generation
    if stored.delta:
        await emit(
            "affinity_changed",
            {"old": stored.old, "new": stored.new, "delta": stored.delta, "reason": settled.change.reason},
        )
    for name, data in settled.goal_events:
        await emit(name, data)
    if gen.retries:
        log.info(
            "quality retry",
            extra={"conversation": draft.conversation.id, "retries": gen.retries, "score": gen.quality.score},
        )


__all__ = ["announce"]
