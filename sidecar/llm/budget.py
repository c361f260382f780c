"""Context budgets: how many tokens a provider's request may hold, and how they are counted.

Each provider has a `context_budget` (tokens for the prompt and the reply together; presets in
sidecar/data/presets.toml, `context_budget = N` in a provider's config section). Tokens are
counted with the provider's own tokenizer where one is available offline — a GGUF model's
vocabulary through llama-cpp-python (`tokenizer = "/path/model.gguf"` in the provider's
section; only the vocabulary is loaded, nothing is run or downloaded) — and otherwise with
`engine.text.estimate_tokens`, which errs high (1.25x Gemma 3's count on the shipped text).

`fit_sections` is the budgeted assembly's one rule (`prompt.build_request` renders the
sections it keeps). What goes first when a request does not fit, in order:

    1. the oldest recent lines, down to the newest `MIN_RECENT`
    2. recalled memories, the lowest-ranked first
    3. the conversation's summary, its oldest sentences first (its kept facts come last)
    4. the remaining recent lines, oldest first, down to the newest one (the player's line)
    5. hints (goal, retry note, options format), the last first
    6. the persona's own text is shortened (its start kept), then the newest line; the
       reply rules stay

The result is checked by counting the whole assembled request (`request_tokens`) and
reduced further until that count fits, so a tokenizer whose count of a joined text differs
from the sum of its parts cannot push a request over. `BudgetTooSmall` is raised only when
the reply rules and message framing alone do not fit (a budget below ~100 tokens).
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.engine.tokens import (
    DEFAULT_CONTEXT_BUDGET,
    ESTIMATE,
    MESSAGE_FRAMING,
    ContextBudget,
    TokenCounter,
    truncate,
)
from sidecar.llm.tools import ToolDef
from sidecar.llm.types import ChatMessage, ChatRequest

if TYPE_CHECKING:
    from sidecar.llm.spec import ProviderSpec

log = logging.getLogger(__name__)

MIN_RECENT = 4
"""Recent lines kept before memories or the summary are touched (two exchanges)."""


class GgufVocab:
    """A GGUF model's own tokenizer, through llama-cpp-python with `vocab_only=True` (the
    vocabulary is read from the file; no weights are loaded, no network is used)."""

    def __init__(self, path: Path) -> None:
        llama_cpp: Any = importlib.import_module("llama_cpp")
        self.path = path
        self._vocab: Any = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)

    @property
    def name(self) -> str:
        return f"gguf:{self.path.name}"

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._vocab.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False, special=False))


@functools.cache
def counter_for(tokenizer: str | None) -> TokenCounter:
    """The counter for a provider's `tokenizer` setting (a GGUF path), made once per path.
    Falls back to `ESTIMATE` with one warning when llama-cpp-python is not installed or the
    file cannot be read: a missing tokenizer costs precision, never a turn."""
    if not tokenizer:
        return ESTIMATE
    path = Path(tokenizer).expanduser()
    try:
        return GgufVocab(path)
    except Exception as exc:  # noqa: BLE001 - ImportError, ValueError (bad file), OSError
        log.warning(
            "tokenizer unavailable; token counts are estimated",
            extra={"tokenizer": str(path), "error": type(exc).__name__},
        )
        return ESTIMATE


def chain_budget(chain: Sequence[ProviderSpec], fallback: int = DEFAULT_CONTEXT_BUDGET) -> ContextBudget:
    """The budget for a request built before the router picks who answers it: the smallest
    of the chain's remote providers, so a fallback to any of them fits too. Counted with the
    providers' tokenizer when they all name the same one, else with the estimate (an exact
    count for one model can be low for another). `fallback` when the chain has no remote
    provider."""
    remote = [s for s in chain if s.kind != "embedded"]
    if not remote:
        return ContextBudget(fallback)
    tokenizers = {s.tokenizer for s in remote}
    counter = counter_for(tokenizers.pop()) if len(tokenizers) == 1 else ESTIMATE
    return ContextBudget(min(s.context_budget for s in remote), counter)


class BudgetTooSmall(ValueError):
    """Not even the reply rules fit: the configured budget is far too small (a config bug)."""


def tools_tokens(tools: Sequence[ToolDef], counter: TokenCounter) -> int:
    """What offering `tools` adds to a prompt: each tool's name, description and argument
    schema as JSON (how chat templates render them, or the structured-output schema that
    stands in for them), with framing."""
    return sum(
        counter.count(t.rendered) + MESSAGE_FRAMING
        for t in tools
    )


def request_tokens(req: ChatRequest, counter: TokenCounter) -> int:
    """The prompt's tokens: system prompt, every message and the tools offered, with their
    framing."""
    return (
        counter.count(req.system)
        + sum(counter.count(m.content) for m in req.messages)
        + MESSAGE_FRAMING * (len(req.messages) + 1)
        + tools_tokens(req.tools, counter)
    )


@dataclass(frozen=True)
class Sections:
    """A request in parts, as `prompt.build_request` made them. `render` joins the kept
    parts into the system prompt and messages; `fit_sections` decides what is kept."""

    head: str
    """The persona's rendered prompt and the situation (who, feeling, names, present)."""
    memories: tuple[str, ...]
    """Best first."""
    summary: tuple[str, ...]
    """Sentences, oldest first."""
    hints: tuple[str, ...]
    rules: str
    lines: tuple[ChatMessage, ...]
    """The recent lines as messages, oldest first; the last is the newest."""
    tail: Callable[[tuple[ChatMessage, ...]], tuple[ChatMessage, ...]]
    """Adds the stage note a request needs after the kept lines (none kept, or the NPC spoke
    last)."""


SUMMARY_HEADING = "Earlier in this conversation (a summary, oldest first):"
MEMORY_HEADING = "Things you remember:"


def render(s: Sections) -> tuple[str, tuple[ChatMessage, ...]]:
    parts = [s.head] if s.head else []
    if s.summary:
        parts.append(SUMMARY_HEADING + "\n" + " ".join(s.summary))
    if s.memories:
        parts.append(MEMORY_HEADING + "\n" + "\n".join(f"- {m}" for m in s.memories))
    parts.extend(s.hints)
    parts.append(s.rules)
    return "\n\n".join(parts), s.tail(s.lines)


def _sections_tokens(s: Sections, counter: TokenCounter) -> int:
    system, messages = render(s)
    return (
        counter.count(system) + sum(counter.count(m.content) for m in messages) + MESSAGE_FRAMING * (len(messages) + 1)
    )


def _reductions(s: Sections) -> Sequence[Callable[[Sections], Sections | None]]:
    """Each returns the sections one step smaller, or None when that step has nothing left."""

    def drop_line(floor: int) -> Callable[[Sections], Sections | None]:
        return lambda x: replace(x, lines=x.lines[1:]) if len(x.lines) > floor else None

    return (
        drop_line(MIN_RECENT),
        lambda x: replace(x, memories=x.memories[:-1]) if x.memories else None,
        lambda x: replace(x, summary=x.summary[1:]) if x.summary else None,
        drop_line(1),
        lambda x: replace(x, hints=x.hints[:-1]) if x.hints else None,
    )


def fit_sections(s: Sections, limit: int, counter: TokenCounter) -> Sections:
    """The largest request, by the documented drop order, whose prompt counts at most
    `limit` tokens. Raises `BudgetTooSmall` when no reduction makes it fit."""
    if _sections_tokens(s, counter) <= limit:
        return s
    for step in _reductions(s):
        while (smaller := step(s)) is not None:
            s = smaller
            if _sections_tokens(s, counter) <= limit:
                return s
    # Only text is left to cut: the persona's own text (its start is kept), then the newest line.
    for shorten in (_shorten_head, _shorten_line):
        s = shorten(s, limit, counter)
        if _sections_tokens(s, counter) <= limit:
            return s
    raise BudgetTooSmall(f"a request needs more than {limit} prompt tokens even without history")


def _over(s: Sections, limit: int, counter: TokenCounter) -> int:
    return _sections_tokens(s, counter) - limit


def _shorten_line(s: Sections, limit: int, counter: TokenCounter) -> Sections:
    if not s.lines:
        return s
    last = s.lines[-1]
    room = counter.count(last.content) - _over(s, limit, counter)
    shorter = s
    for _ in range(8):  # a tokenizer's count of a cut text may differ by a token or two
        cut = truncate(last.content, max(room, 0), counter)
        shorter = replace(s, lines=(*s.lines[:-1], replace(last, content=cut)) if cut else s.lines[:-1])
        if _over(shorter, limit, counter) <= 0 or room <= 0:
            return shorter
        room -= max(1, _over(shorter, limit, counter))
    return shorter


def _shorten_head(s: Sections, limit: int, counter: TokenCounter) -> Sections:
    room = counter.count(s.head) - _over(s, limit, counter)
    shorter = s
    for _ in range(8):
        shorter = replace(s, head=truncate(s.head, max(room, 0), counter))
        if _over(shorter, limit, counter) <= 0 or room <= 0:
            return shorter
        room -= max(1, _over(shorter, limit, counter))
    return shorter


__all__ = [
    "MEMORY_HEADING",
    "MIN_RECENT",
    "SUMMARY_HEADING",
    "BudgetTooSmall",
    "GgufVocab",
    "Sections",
    "chain_budget",
    "counter_for",
    "fit_sections",
    "render",
    "request_tokens",
    "tools_tokens",
]
