"""The tool-call wire pieces (sidecar/llm/tools.py) on their own: stream joining by index,
calls without a name, a structured reply that is not the object asked for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sidecar.errors import ProviderBadReply
from sidecar.llm.tools import (
    AnthropicToolStream,
    OpenAIToolStream,
    ToolCall,
    ToolDef,
    anthropic_calls,
    openai_calls,
    structured_reply,
    structured_schema,
)


def test_openai_stream_pieces_join_by_index_even_interleaved() -> None:
    s = OpenAIToolStream()
    s.feed([{"index": 1, "id": "call_b", "function": {"name": "sell_item", "arguments": ""}}])
    s.feed([{"index": 0, "id": "call_a", "function": {"name": "repair_item", "arguments": '{"item": '}}])
    s.feed(
        [
            {"index": 1, "function": {"arguments": '{"item": "nails"}'}},
            {"index": 0, "function": {"arguments": '"axe"}'}},
        ]
    )
    s.feed([{"index": 2, "function": {"arguments": "{}"}}])  # never named: not a call
    assert s.calls() == (
        ToolCall("call_a", "repair_item", '{"item": "axe"}'),
        ToolCall("call_b", "sell_item", '{"item": "nails"}'),
    )


def test_openai_whole_calls_skip_what_is_not_a_function() -> None:
    raw: list[dict[str, Any]] = [
        {"id": "c1", "type": "function", "function": {"name": "open_gate", "arguments": "{}"}},
        {"id": "c2", "type": "web_search"},
        {"id": "c3", "type": "function", "function": {"name": "x", "arguments": {"not": "text"}}},
    ]
    assert openai_calls(raw) == (ToolCall("c1", "open_gate", "{}"), ToolCall("c3", "x", ""))


def test_anthropic_blocks_and_stream() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": "Fine."},
        {"type": "tool_use", "id": "t1", "name": "open_gate", "input": {}},
    ]
    assert anthropic_calls(blocks) == (ToolCall("t1", "open_gate", "{}"),)
    s = AnthropicToolStream()
    s.start(0, {"type": "text", "text": ""})
    s.delta(0, "ignored: not a tool block")
    s.start(1, {"type": "tool_use", "id": "t2", "name": "repair_item", "input": {}})
    s.delta(1, '{"item"')
    s.delta(1, ': "axe"}')
    s.start(2, {"type": "tool_use", "id": "t3", "name": "open_gate", "input": {}})
    assert s.calls() == (ToolCall("t2", "repair_item", '{"item": "axe"}'), ToolCall("t3", "open_gate", "{}"))


def test_structured_reply_and_its_schema() -> None:
    tools = [ToolDef("open_gate", "Open it.", {"type": "object", "properties": {}, "required": []})]
    schema = structured_schema(tools)
    assert schema["properties"]["actions"]["items"]["anyOf"][0]["properties"]["name"] == {"const": "open_gate"}
    line, calls = structured_reply("p", json.dumps({"line": "Fine.", "actions": [{"name": "open_gate"}, 5, {"x": 1}]}))
    assert line == "Fine." and calls == (ToolCall("json_0", "open_gate", "{}"),)
    for bad in ("Fine.", json.dumps({"actions": []}), "[" * 3000):
        with pytest.raises(ProviderBadReply):
            structured_reply("p", bad)
