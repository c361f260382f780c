"""Step 4, act: what the NPC does besides speaking.

The join point for NPC actions (give an item, open a door, call the guard). Today an NPC
only speaks, so the step returns no action; actions will be read from the generated line
(or asked of the line source) here, after the gate kept the line and before `settle`, so a
later step can let an action move affinity or a goal, and `persist` stores them with the turn.
"""

from __future__ import annotations

from sidecar.engine.pipeline.draft import Action, Draft


class Act:
    async def __call__(self, draft: Draft) -> tuple[Action, ...]:
        return ()


__all__ = ["Act"]
