"""Token counting for context budgets, without a provider: the counter seam and the budget.

`TokenCounter` is what a budget counts with: `ESTIMATE` (`text.estimate_tokens`, which errs
high) unless a provider has an offline tokenizer (`llm.budget.GgufVocab`). `ContextBudget`
is one provider's tokens per request, prompt and reply together. Pure and import-light: the
embedded engine's turn uses these without loading the provider package.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Protocol

from sidecar.engine.text import estimate_tokens

DEFAULT_CONTEXT_BUDGET = 4096
"""Tokens (prompt + reply) for a provider whose preset and config name none."""
EMBEDDED_CONTEXT_BUDGET = 2048
"""The embedded engine's budget: it reads no prompt, so this only decides when a long
conversation is folded into its summary (the same rhythm as a small local model's)."""
MIN_CONTEXT_BUDGET = 512
MESSAGE_FRAMING = 6
"""Tokens a chat template adds around each message and the system prompt (ChatML's
`<|im_start|>role\\n … <|im_end|>\\n` is 5; Llama 3's header is 5; 6 errs high)."""


class TokenCounter(Protocol):
    """Counts the tokens of a text as one provider's tokenizer would (or an upper estimate)."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...


_cached_estimate = functools.lru_cache(maxsize=4096)(estimate_tokens)
"""The context step counts the same recent lines turn after turn; a line is at most a few
KB (the protocol's limit), so the cache stays small."""


class Estimate:
    """`text.estimate_tokens`: errs high; for providers without an offline tokenizer."""

    name = "estimate"

    def count(self, text: str) -> int:
        return _cached_estimate(text) if len(text) <= 4096 else estimate_tokens(text)


ESTIMATE = Estimate()


@dataclass(frozen=True)
class ContextBudget:
    """Tokens one request may hold (prompt + reply) and how they are counted."""

    tokens: int
    counter: TokenCounter = ESTIMATE

    def prompt_tokens(self, reply_tokens: int) -> int:
        """What is left for the prompt once the reply's `max_tokens` is reserved."""
        return self.tokens - reply_tokens

    def less(self, tokens: int) -> ContextBudget:
        return replace(self, tokens=self.tokens - tokens)


def truncate(text: str, tokens: int, counter: TokenCounter = ESTIMATE) -> str:
    """The longest start of `text` that counts at most `tokens`, cut at a space where one
    is near the end; "" when not even a word fits."""
    if counter.count(text) <= tokens:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.count(text[:mid]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    part = text[:lo]
    cut = part.rfind(" ")
    return part[:cut] if cut > len(part) * 3 // 4 else part


__all__ = [
    "DEFAULT_CONTEXT_BUDGET",
    "EMBEDDED_CONTEXT_BUDGET",
    "ESTIMATE",
    "MESSAGE_FRAMING",
    "MIN_CONTEXT_BUDGET",
    "ContextBudget",
    "Estimate",
    "TokenCounter",
    "truncate",
]
