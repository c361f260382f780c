"""Tool calls on the wire: how an NPC's actions are offered to a provider and read back.

Three formats, one result (`ToolCall`, its arguments as the raw JSON text the model wrote,
validated later by the turn pipeline, never here):

- OpenAI-compatible: `tools: [{"type": "function", "function": {"name", "description",
  "parameters"}}]`; the reply's `message.tool_calls[]` (`{"id", "type": "function",
  "function": {"name", "arguments": "<json text>"}}`), or, streamed, `delta.tool_calls[]`
  pieces keyed by `index` (the first piece has `id` and `function.name`, later ones append
  to `function.arguments`); `finish_reason` is `tool_calls`.
- Anthropic: `tools: [{"name", "description", "input_schema"}]`; the reply's `tool_use`
  content blocks (`{"id", "name", "input": {...}}`), or, streamed, a `content_block_start`
  with an empty `tool_use` block, `input_json_delta` pieces (`partial_json`) and a
  `content_block_stop`; `stop_reason` is `tool_use`.
- Structured output, for a server without tool calling (llama.cpp's `response_format`
  `json_object` + `schema`, a preset's `tools = false`): the reply is one JSON object
  `{"line": "...", "actions": [{"name", "args"}]}`, constrained by a schema whose `actions`
  items are one `anyOf` branch per action, so the grammar itself keeps the names known.

Every format lets the line and the actions come from the same call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sidecar.errors import ProviderBadReply


@dataclass(frozen=True)
class ToolDef:
    """An action offered to the model."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    """The arguments' JSON Schema (a flat object). Not to be changed once made: a tool is
    made once per declared action and offered turn after turn (`tool_for`)."""

    @functools.cached_property
    def rendered(self) -> str:
        """Name, description and arguments as JSON: what a prompt's budget counts of it."""
        return json.dumps({"name": self.name, "description": self.description, "parameters": self.parameters})


@dataclass(frozen=True)
class ToolCall:
    """An action the model proposed. `arguments` is the model's JSON text, untrusted."""

    id: str
    name: str
    arguments: str


def openai_tools(tools: Sequence[ToolDef]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
        }
        for t in tools
    ]


def anthropic_tools(tools: Sequence[ToolDef]) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "input_schema": dict(t.parameters)} for t in tools]


def openai_calls(raw: Sequence[Mapping[str, Any]] | None) -> tuple[ToolCall, ...]:
    """`message.tool_calls` of a whole reply (items that are not function calls are skipped)."""
    out: list[ToolCall] = []
    for i, item in enumerate(raw or ()):
        fn = item.get("function") if isinstance(item, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            continue
        args = fn.get("arguments")
        out.append(ToolCall(str(item.get("id") or f"call_{i}"), fn["name"], args if isinstance(args, str) else ""))
    return tuple(out)


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)


class OpenAIToolStream:
    """Joins streamed `delta.tool_calls` pieces by their `index`."""

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}

    def feed(self, pieces: Sequence[Mapping[str, Any]] | None) -> None:
        for piece in pieces or ():
            if not isinstance(piece, Mapping):
                continue
            index = piece.get("index", 0)
            call = self._calls.setdefault(index if isinstance(index, int) else 0, _Partial())
            if isinstance(piece.get("id"), str):
                call.id = piece["id"]
            fn = piece.get("function")
            if isinstance(fn, Mapping):
                if isinstance(fn.get("name"), str):
                    call.name += fn["name"]
                if isinstance(fn.get("arguments"), str):
                    call.parts.append(fn["arguments"])

    def calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(c.id or f"call_{i}", c.name, "".join(c.parts)) for i, c in sorted(self._calls.items()) if c.name
        )


def anthropic_calls(blocks: Sequence[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """`tool_use` blocks of a whole message; `input` is already JSON, written back as text."""
    return tuple(
        ToolCall(str(b.get("id") or f"toolu_{i}"), str(b["name"]), json.dumps(b.get("input", {})))
        for i, b in enumerate(blocks)
        if b.get("type") == "tool_use" and isinstance(b.get("name"), str)
    )


class AnthropicToolStream:
    """Joins a stream's `tool_use` blocks: started by `content_block_start`, filled by
    `input_json_delta` pieces, keyed by the block's `index`."""

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}

    def start(self, index: int, block: Mapping[str, Any]) -> None:
        if block.get("type") == "tool_use":
            self._calls[index] = _Partial(str(block.get("id") or ""), str(block.get("name") or ""))

    def delta(self, index: int, partial_json: str) -> None:
        call = self._calls.get(index)
        if call is not None:
            call.parts.append(partial_json)

    def calls(self) -> tuple[ToolCall, ...]:
        # A tool_use block with no input deltas had an empty input: {}.
        return tuple(
            ToolCall(c.id or f"toolu_{i}", c.name, "".join(c.parts) or "{}")
            for i, c in sorted(self._calls.items())
            if c.name
        )


# --- structured output (no native tool calls) ------------------------------------------------


def structured_schema(tools: Sequence[ToolDef]) -> dict[str, Any]:
    """The reply's schema: the line, and actions drawn from `tools` only."""
    branches = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "args": dict(t.parameters)},
            "required": ["name", "args"],
        }
        for t in tools
    ]
    return {
        "type": "object",
        "properties": {
            "line": {"type": "string"},
            "actions": {"type": "array", "items": {"anyOf": branches}, "maxItems": 4},
        },
        "required": ["line", "actions"],
    }


def structured_instruction(tools: Sequence[ToolDef]) -> str:
    listed = "\n".join(f"- {t.name}: {t.description}" for t in tools)
    return (
        "\n\nAnswer with one JSON object: `line` is what you say; `actions` lists what you do "
        'now, if anything ([] when nothing), each as {"name", "args"}, from these only:\n' + listed
    )


def structured_reply(provider: str, text: str) -> tuple[str, tuple[ToolCall, ...]]:
    """(line, calls) of a structured reply. Raises `ProviderBadReply` when it is not the
    object asked for (the chain moves on); a malformed action item is kept as a call with
    what it had, so the pipeline drops it with a reason."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProviderBadReply(provider, "structured reply is not valid JSON") from exc
    if not isinstance(value, dict) or not isinstance(value.get("line"), str):
        raise ProviderBadReply(provider, "structured reply has no `line`")
    calls: list[ToolCall] = []
    actions = value.get("actions")
    for i, item in enumerate(actions if isinstance(actions, list) else ()):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            args = item.get("args", {})
            calls.append(ToolCall(f"json_{i}", item["name"], json.dumps(args)))
    return value["line"], tuple(calls)


__all__ = [
    "AnthropicToolStream",
    "OpenAIToolStream",
    "ToolCall",
    "ToolDef",
    "anthropic_calls",
    "anthropic_tools",
    "openai_calls",
    "openai_tools",
    "structured_instruction",
    "structured_reply",
    "structured_schema",
]
