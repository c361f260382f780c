"""The provider chain's summariser: a side request (`purpose = "summary"`), checked for the
facts to keep, with the extractive summary whenever the chain cannot give a usable one.

Lives apart from engine/summary.py so the embedded engine's turn never loads the provider
package.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sidecar.engine.summary import Fold, Folded, extractive, transcript, with_facts
from sidecar.engine.tokens import truncate
from sidecar.llm.types import ChatMessage, ChatRequest, RequestTags

log = logging.getLogger(__name__)

SUMMARY_TEMPERATURE = 0.2


def summary_request(job: Fold) -> ChatRequest:
    words = max(20, job.max_tokens * 3 // 5)
    parts = []
    if job.previous:
        parts.append("Summary so far:\n" + job.previous)
    parts.append("New lines:\n" + "\n".join(transcript(job.rows)))
    if job.facts:
        parts.append("Facts the summary must keep:\n" + "\n".join(f"- {f}" for f in dict.fromkeys(job.facts)))
    parts.append(
        f"Write the updated summary: at most {words} words, third person, past tense, oldest first. "
        "Keep names, promises, gifts, quarrels and every fact listed. Only the summary, no heading."
    )
    return ChatRequest(
        system="You keep the running summary of a conversation in a role-playing game, so the characters "
        "remember what was said after the lines themselves are gone.",
        messages=(ChatMessage("user", "\n\n".join(parts)),),
        temperature=SUMMARY_TEMPERATURE,
        max_tokens=job.max_tokens,
        tags=RequestTags(conversation=job.conversation or None, persona=job.persona or None, purpose="summary"),
    )


Ask = Callable[[ChatRequest, str], Awaitable[str | None]]
"""A side request through the provider chain (`RoutedSource.ask`): the text, or None when
only the embedded engine could answer or the request failed."""


class RoutedSummariser:
    """`Summariser` over the provider chain. `ready` says whether a remote provider would
    answer now (`Router.first_ready`): when none would, the extractive summary is made at
    once instead of waiting on the chain."""

    def __init__(self, ask: Ask, ready: Callable[[], bool]) -> None:
        self._ask = ask
        self._ready = ready

    async def fold(self, job: Fold) -> Folded:
        if self._ready():
            try:
                text = await self._ask(summary_request(job), "summary")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a summary must never fail a turn
                log.warning("summary request failed; the extractive summary is used", exc_info=True)
                text = None
            text = " ".join((text or "").split())
            if text:
                # A model that ran long is cut at the budget, then given back what it lost.
                return Folded(with_facts(truncate(text, job.max_tokens, job.counter), job.facts), "llm")
            log.info("no usable summary from the providers; the extractive summary is used")
        return extractive(job.previous, job.rows, job.facts, job.max_tokens, job.counter)


__all__ = ["Ask", "RoutedSummariser", "summary_request"]
