"""Step 2, recall: what memory brings to this turn.

The join point for long-term memory. Today it recalls nothing (the embedded engine's
short-term memory travels in the conversation's state and is read by the engine itself);
memory will return what it found about this player and speaker as `Recalled.hints`. Nothing
reads them yet: when memory lands, `Generate` passes them to the line source beside the
goal hint (`TurnInput`), so the LLM prompt and the embedded engine both see them.
"""

from __future__ import annotations

from sidecar.engine.pipeline.draft import Draft, Recalled

NOTHING = Recalled()


class Recall:
    async def __call__(self, draft: Draft) -> Recalled:
        return NOTHING


__all__ = ["NOTHING", "Recall"]
