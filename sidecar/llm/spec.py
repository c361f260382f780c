"""Resolved settings: what `config.load_config` + `config.resolve` hand the router.

Frozen dataclasses (pydantic stays at the config-file edge). Keys are `SecretStr` and kept
out of every repr, so a settings object can be logged or shown without leaking them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from sidecar.engine.tokens import DEFAULT_CONTEXT_BUDGET
from sidecar.llm.presets import JsonMode


@dataclass(frozen=True)
class Limits:
    """Per-provider limits (config `[limits]` defaults, overridden per provider)."""

    timeout: float = 15.0
    """Seconds for one attempt, first byte to last (streams included)."""
    retries: int = 2
    """Extra attempts on the same provider for transient failures (429, 5xx, timeouts)."""
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None


@dataclass(frozen=True)
class RouterLimits:
    """Chain-wide timing: how long a turn may take and how patient retries are."""

    deadline: float = 30.0
    """Seconds for the remote part of a turn, all providers and retries together; the
    embedded engine always answers after it."""
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 10.0
    """A Retry-After longer than this is not waited for within a turn: the provider cools
    down for that long and the chain moves on."""
    max_queue_wait: float = 2.0
    """Longest wait for a client-side rate-limit token before moving on."""
    breaker_failures: int = 3
    """Consecutive failed attempts that open the circuit breaker."""
    breaker_cooldown: float = 30.0
    breaker_max_cooldown: float = 600.0


@dataclass(frozen=True)
class Budgets:
    per_day_usd: float | None = None
    """Spend per local calendar day; once reached, paid providers are skipped."""
    per_conversation_usd: float | None = None


@dataclass(frozen=True)
class Price:
    input: float
    """USD per 1M input tokens."""
    output: float
    """USD per 1M output tokens."""
    date: str | None = None
    source: Literal["table", "config", "local"] = "table"

    @property
    def free(self) -> bool:
        return self.input == 0 and self.output == 0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    kind: Literal["openai", "anthropic", "embedded"]
    model: str = ""
    base_url: str = ""
    preset: str | None = None
    key: SecretStr | None = field(default=None, repr=False)
    key_source: str | None = None
    """Where the key came from: `env:NAME` or `keyring`; never the key itself."""
    key_problem: str | None = None
    """Why the provider cannot run (no key found…); None when it can."""
    local: bool = False
    frequency_penalty: bool = True
    json: JsonMode = "prompt"
    stream_usage: bool = True
    max_tokens_field: str = "max_tokens"
    options_in_line: bool = True
    """Ask for the player's answer options with the line (one call per turn) instead of in
    a second call; the second call still happens when the reply brings none."""
    memory_in_line: bool = True
    """With `options_in_line`: a memorable turn's long-term memories are asked for in the
    same block (sidecar/engine/inline_options.py), not in a call of their own; the separate
    call still happens when the reply brings no usable memory line."""
    tools: bool = True
    """Native tool calls for NPC actions; false: a structured `{"line", "actions"}` reply."""
    context_budget: int = DEFAULT_CONTEXT_BUDGET
    """Tokens one request may hold, prompt and reply together (sidecar/llm/budget.py)."""
    tokenizer: str | None = None
    """A GGUF file whose vocabulary counts this provider's tokens; None = the estimate."""
    limits: Limits = Limits()
    price: Price | None = None
    """None when the price of this model is unknown (costs recorded as 0, logged once)."""

    @property
    def paid(self) -> bool:
        """Whether budgets apply: everything not local and not priced at zero."""
        return not self.local and not (self.price is not None and self.price.free)


@dataclass(frozen=True)
class QualitySettings:
    """The turn pipeline's quality gate (`[quality]`); None = the engine's default."""

    threshold: int | None = None
    """Score (0..100) below which a line is retried."""
    max_retries: int | None = None
    """Retries per turn (0..10) after the first attempt."""


@dataclass(frozen=True)
class MemorySettings:
    """Long-term memory's recall ranking (`[memory]`); None = the engine's default
    (sidecar/data/memory.toml `[recall]`)."""

    recency: float | None = None
    importance: float | None = None
    relevance: float | None = None
    """The weights of the three normalised parts of a memory's score (each >= 0)."""
    decay_per_hour: float | None = None
    """Recency's exponential decay per hour since the memory was made (0 < d <= 1)."""
    limit: int | None = None
    """Memories given to a turn (0: none)."""


@dataclass(frozen=True)
class LlmSettings:
    chain: tuple[ProviderSpec, ...] = ()
    """Providers in the order tried; `embedded` is always appended implicitly."""
    router: RouterLimits = RouterLimits()
    budgets: Budgets = Budgets()
    quality: QualitySettings = QualitySettings()
    memory: MemorySettings = MemorySettings()
    source: str | None = None
    """The config file these came from, for messages."""


__all__ = [
    "Budgets", "Limits", "LlmSettings", "MemorySettings", "Price", "ProviderSpec", "QualitySettings", "RouterLimits",
]
