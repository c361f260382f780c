"""Step 7, remember: the long-term memories this turn leaves (stored by `persist` in the
turn's transaction, sourced to the turn's lines).

The line source reads them first (`LineSource.extract`: a provider's structured output when
a provider wrote the line); when it has no reading or its reading failed, the line-reading
heuristics do (sidecar/engine/remember.py), so a turn never loses its memories to a provider
fault. The heuristics' name is kept beside a provider's reading that has none. A line with
nothing to remember by the rules' cues (small talk, questions about the NPC) is not sent.
"""

from __future__ import annotations

from sidecar.engine import remember as rules
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.reading import read
from sidecar.engine.source import LineSource
from sidecar.store.memory import NewMemory


class Remember:
    def __init__(self, source: LineSource) -> None:
        self.source = source

    async def __call__(self, draft: Draft) -> tuple[NewMemory, ...]:
        line = draft.generation.line
        found = rules.heuristics(read(draft.player_text), draft.player_text, line.text, draft.tone)
        made = found
        if rules.worth_asking(draft.player_text, found):
            extracted = await self.source.extract(draft.turn, line)
            if extracted is not None:
                made = rules.with_name(extracted, found)
        return (*made, *self.kept(made, draft))

    @staticmethod
    def kept(made: list[NewMemory], draft: Draft) -> list[NewMemory]:
        """A line that keeps a promise the NPC recalled for it (a gift, or "..., as promised")
        turns that promise into a kept one (it replaces the promise: the NPC stops bringing
        it up)."""
        promise = rules.promise_kept(draft.player_text, made, (r.memory for r in draft.recalled.memories))
        return [rules.kept(promise)] if promise is not None else []


__all__ = ["Remember"]
