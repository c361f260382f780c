"""Step 2, recall: what long-term memory brings to this turn.

The speaker's memories of this player (every conversation they had, this one included: memory
is per player x persona) ranked against the player's line as Generative Agents does
(sidecar/engine/recollect.py: recency, importance, BM25 relevance). The best `limit` go to the
line source as `TurnInput.memories` (the sequencer puts them there): an LLM prompt lists them,
the embedded engine brings them up. `greeting` is the same recall with no line (the start of
a meeting: recency and importance alone).
"""

from __future__ import annotations

import time

from sidecar.engine.pipeline.draft import Draft, Recalled
from sidecar.engine.recollect import DEFAULT_WEIGHTS, RecallWeights, Recollection, query_words, rank
from sidecar.store.memory import MemoryStore

NOTHING = Recalled()


class Recall:
    def __init__(self, memories: MemoryStore, weights: RecallWeights = DEFAULT_WEIGHTS) -> None:
        self.memories = memories
        self.weights = weights

    async def ranked(
        self, player: str, persona: str, text: str, conversation: str | None = None
    ) -> tuple[Recollection, ...]:
        """The best `weights.limit` memories of `persona` about `player` for the line `text`
        said in `conversation`."""
        if self.weights.limit == 0:
            return ()
        candidates = await self.memories.candidates(player, persona, query_words(text))
        ranked = rank(candidates, now=time.time(), weights=self.weights, conversation=conversation)
        return tuple(ranked[: self.weights.limit])

    async def __call__(self, draft: Draft) -> Recalled:
        conv = draft.conversation
        found = await self.ranked(conv.player_id, draft.speaker.id, draft.player_text, conv.id)
        return Recalled(memories=found) if found else NOTHING

    async def greeting(self, player: str, persona: str) -> tuple[Recollection, ...]:
        return await self.ranked(player, persona, "")


__all__ = ["NOTHING", "Recall"]
