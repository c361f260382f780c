"""Plain data that crosses the provider seam: one request shape, one reply shape.

Frozen dataclasses, no I/O and no vendor types: each provider maps these onto its own wire
format, so the router and the turn pipeline never see a vendor's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from sidecar.engine.text import estimate_tokens
from sidecar.llm.tools import ToolCall, ToolDef

Role = Literal["user", "assistant"]
ProviderKind = Literal["openai", "anthropic", "embedded"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ChatMessage:
    """One turn of the conversation as the model sees it. The system prompt is not a
    message: `ChatRequest.system` carries it, because Anthropic takes it outside the list."""

    role: Role
    content: str


@dataclass(frozen=True)
class RequestTags:
    """Who a request is for; copied into cost rows and logs, never sent to a provider."""

    conversation: str | None = None
    persona: str | None = None
    purpose: str = "line"
    """What the call is for: `line` (an NPC reply), `options`, `summary`, `check`…"""


@dataclass(frozen=True)
class ChatRequest:
    """Everything a provider needs for one generation.

    Knobs a provider's API lacks are dropped by that provider (each module says which and
    why); `json_schema` asks for structured output, which every provider either honours or
    emulates with an instruction, and whose reply text must then parse as a JSON object.
    """

    system: str
    messages: tuple[ChatMessage, ...]
    temperature: float = 0.8
    max_tokens: int = 160
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] | None = None
    tags: RequestTags = field(default_factory=RequestTags)
    tools: tuple[ToolDef, ...] = ()
    """Actions the NPC may take with this line (sidecar/llm/tools.py): native tool calls
    where the provider has them, else a structured reply `{"line", "actions"}`."""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False
    """True when the provider reported no counts and we estimated them from the text."""

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ChatReply:
    text: str
    finish_reason: str
    """Normalised: `stop` (natural end or stop sequence) or `length` (max_tokens hit);
    refusals never arrive here, they are raised as `ProviderRefused`."""
    usage: Usage
    model: str
    tool_calls: tuple[ToolCall, ...] = ()
    """Actions the model proposed with the text (unvalidated); `text` may then be empty."""


@dataclass(frozen=True)
class Delta:
    """A piece of streamed text; the last item of a stream is the whole `ChatReply`."""

    text: str


def estimate_usage(req: ChatRequest, reply_text: str) -> Usage:
    # Only when a provider reports no usage; the resulting `Usage` is marked `estimated`.
    prompt = req.system + "".join(m.content for m in req.messages)
    # A few tokens of per-message framing, as chat templates add role markers.
    framing = 4 * (len(req.messages) + 1)
    return Usage(estimate_tokens(prompt) + framing, estimate_tokens(reply_text), estimated=True)


__all__ = [
    "ChatMessage",
    "ChatReply",
    "ChatRequest",
    "Delta",
    "ProviderKind",
    "RequestTags",
    "Role",
    "ToolCall",
    "ToolDef",
    "Usage",
    "estimate_tokens",
    "estimate_usage",
]
