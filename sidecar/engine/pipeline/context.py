"""Step 2b, context: keep the conversation's prompt under the provider's context budget.

Between recall and generate. It reads the persona's summary in force and the stored lines
after it (store/summaries.py), keeps only the lines the persona heard (`heard`: the one
place a witness rule filters them), and when those recent lines no longer fit — more lines
than a prompt takes (`FOLD_LINES`), or more than `RECENT_SHARE` of the prompt budget — folds
the oldest into a new rolling summary until `KEEP_LINES` / `KEEP_SHARE` is left. The
summariser gets the facts to keep over the whole range (those of the summary in force, and
the memories of the folded lines) and its result is checked for them
(engine/summary.py). The new summary goes to the prompt through `TurnInput.summary`, and
into the store with the turn's own transaction (`persist`), so a failed or cancelled turn
stores none.

The thresholds are hysteresis: a fold leaves room for several turns, so a summary is made
about every fourth turn of a long talk, not on every turn. `build_request` still enforces
the budget as a hard cap (sidecar/llm/budget.py), whatever this step decided.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

from sidecar.engine.cancel import until_cancelled
from sidecar.engine.pipeline.draft import Draft, Fitted
from sidecar.engine.summary import Extractive, Fact, Fold, Summariser, SummaryView, reading_facts
from sidecar.engine.tokens import EMBEDDED_CONTEXT_BUDGET, MESSAGE_FRAMING, ContextBudget
from sidecar.engine.types import Line
from sidecar.personas.model import Persona
from sidecar.store.db import MessageRow, Store
from sidecar.store.memory import MemoryStore
from sidecar.store.summaries import SummaryRow, SummaryStore, SummaryWrite

FOLD_LINES = 16
"""More unsummarised lines than this (the player's new line included) are folded: it is
what a prompt takes (`llm.prompt.MAX_HISTORY`), so no line is ever lost between the two."""
KEEP_LINES = 8
RECENT_SHARE = 0.5
"""Of the prompt budget, what the recent lines may take before the oldest are folded."""
KEEP_SHARE = 0.3
MIN_KEEP = 2
"""Lines never folded: the exchange the player is answering."""
SUMMARY_SHARE = 0.2
"""Of the prompt budget, the summary's target size (`SUMMARY_MAX_TOKENS` at most)."""
SUMMARY_MAX_TOKENS = 400

Facts = Callable[[Draft, Sequence[MessageRow]], Awaitable[Sequence[Fact]]]
"""The facts the speaker's memories hold about the lines being folded (of `draft`'s
conversation and player)."""


class MemoryFacts:
    """The facts to keep when lines are folded: the speaker's long-term memories of this
    player that came from those lines (store/memory.py: a memory's source is its line), then
    what the line-reading module finds in them (a fact no memory took, e.g. a like the turn's
    extraction missed). A summary checked against these never drops what a memory holds."""

    def __init__(self, memories: MemoryStore) -> None:
        self.memories = memories

    async def __call__(self, draft: Draft, rows: Sequence[MessageRow]) -> Sequence[Fact]:
        if not rows:
            return []
        first, last = min(r.seq for r in rows), max(r.seq for r in rows)
        conversation = draft.conversation.id
        held = [
            Fact(m.text, m.source.seq)
            for m in await self.memories.for_pair(draft.conversation.player_id, draft.speaker.id)
            if m.source is not None and m.source.conversation == conversation and first <= m.source.seq <= last
        ]
        seen = {f.text for f in held}
        return [*sorted(held, key=lambda f: f.seq), *(f for f in reading_facts(rows) if f.text not in seen)]


def heard(persona: Persona, rows: Sequence[MessageRow], present_for: Collection[int] | None = None) -> list[MessageRow]:
    """The lines `persona` heard, of `rows`: in a conversation every line of it; in a scene
    only the lines it was present for (`present_for`: their seqs, as the scene's store read
    gave them, store/scenes.py `heard_lines`). The witness rule filters here, and only here."""
    if present_for is None:
        return list(rows)
    return [r for r in rows if r.seq in present_for]


def _view(summary: SummaryRow | SummaryWrite | None, rows: Sequence[MessageRow]) -> SummaryView | None:
    if summary is None:
        return None
    recent = tuple(Line(r.speaker, r.text) for r in rows)
    return SummaryView(summary.text, summary.from_seq, summary.to_seq, recent)


class Context:
    def __init__(
        self,
        store: Store,
        summariser: Summariser | None = None,
        budget: Callable[[], ContextBudget] | None = None,
        *,
        facts: Facts | None = None,
        select: Callable[[Persona, Sequence[MessageRow], Collection[int] | None], list[MessageRow]] = heard,
    ) -> None:
        self.summaries = SummaryStore(store)
        self.summariser: Summariser = summariser or Extractive()
        self.budget = budget or (lambda: ContextBudget(EMBEDDED_CONTEXT_BUDGET))
        self.facts: Facts = facts or MemoryFacts(MemoryStore(store))
        self.select = select

    def fold_point(self, rows: Sequence[MessageRow], player_text: str, budget: ContextBudget, limit: int) -> int:
        """How many of the oldest `rows` to fold (0: they fit)."""
        if len(rows) + 1 <= FOLD_LINES:
            # Fast path for most turns: a token stands for at least one byte of text (the
            # estimate and every byte-level BPE alike), so bytes bound tokens from above.
            size = sum(len(r.text.encode("utf-8", "surrogatepass")) for r in rows) + len(
                player_text.encode("utf-8", "surrogatepass")
            )
            if size + MESSAGE_FRAMING * (len(rows) + 1) <= limit * RECENT_SHARE:
                return 0
        cost = [budget.counter.count(r.text) + MESSAGE_FRAMING for r in rows]
        newest = budget.counter.count(player_text) + MESSAGE_FRAMING
        if len(rows) + 1 <= FOLD_LINES and sum(cost) + newest <= limit * RECENT_SHARE:
            return 0
        k, rest = 0, sum(cost) + newest
        while k < len(rows) - MIN_KEEP and (len(rows) - k + 1 > KEEP_LINES or rest > limit * KEEP_SHARE):
            rest -= cost[k]
            k += 1
        return k

    async def __call__(self, draft: Draft) -> Fitted:
        persona = draft.speaker
        window = await self.summaries.window(draft.conversation.id, persona.id, loaded=draft.lines)
        # A scene's draft holds only the lines its speaker heard; a read past them must not add more.
        present_for = {r.seq for r in draft.lines} if draft.turn.scene is not None else None
        rows = self.select(persona, window.lines, present_for)
        budget = self.budget()
        limit = budget.prompt_tokens(min(draft.tuning.max_tokens, budget.tokens // 2))
        k = self.fold_point(rows, draft.player_text, budget, limit)
        if not k:
            return Fitted(_view(window.summary, rows), None)
        folded, kept = rows[:k], rows[k:]
        previous = window.summary
        found = await self.facts(draft, folded)
        facts = tuple(dict.fromkeys([*(previous.facts if previous else ()), *(f.text for f in found)]))
        job = Fold(
            previous=previous.text if previous else "",
            rows=folded,
            facts=facts,
            max_tokens=max(32, min(SUMMARY_MAX_TOKENS, int(limit * SUMMARY_SHARE))),
            counter=budget.counter,
            persona=persona.id,
            conversation=draft.conversation.id,
        )
        # A provider's summary is generation work: the game's cancel stops it (nothing stored).
        made = await until_cancelled(self.summariser.fold(job))
        write = SummaryWrite(
            persona_id=persona.id,
            from_seq=previous.from_seq if previous else folded[0].seq,
            to_seq=folded[-1].seq,
            text=made.text,
            method=made.method,
            facts=facts,
        )
        return Fitted(_view(write, kept), write)


__all__ = [
    "FOLD_LINES",
    "KEEP_LINES",
    "KEEP_SHARE",
    "RECENT_SHARE",
    "SUMMARY_MAX_TOKENS",
    "SUMMARY_SHARE",
    "Context",
    "Facts",
    "MemoryFacts",
    "heard",
]
