"""Anthropic Messages API.

Wire format: POST {base_url}/messages with `x-api-key` and `anthropic-version` headers; the
system prompt is a top-level `system` field, not a message; `max_tokens` is required.
Streaming answers are server-sent events: `message_start` (input usage), `content_block_*`
(text deltas; NPC actions as `tool_use` blocks and `input_json_delta`, sidecar/llm/tools.py),
`message_delta` (stop reason, cumulative output usage), `message_stop`, plus
`ping` and `error`.

Per-character tuning that is dropped here, and why:
- `frequency_penalty`: the Messages API has no such parameter (it would be rejected).
- temperature above 1.0: the API's range is 0..1, so it is clamped.
- `json_schema`: no `response_format`; the schema is put in the system prompt and the reply
  must parse as a JSON object, otherwise it is a bad reply and the chain moves on.
Messages are also normalised to what the API accepts: consecutive turns of one role are
joined, and a conversation that opens with the NPC gets a short user turn before it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sidecar.errors import ProviderBadReply, ProviderRefused
from sidecar.llm import _http, tools
from sidecar.llm.types import ChatReply, ChatRequest, Delta, ProviderKind, ToolCall, Usage, estimate_usage

log = logging.getLogger(__name__)

API_VERSION = "2023-06-01"
OPENING = "(The conversation begins.)"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Usage(_Loose):
    input_tokens: int | None = None
    output_tokens: int | None = None


class _Block(_Loose):
    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class _Message(_Loose):
    model: str | None = None
    content: list[_Block] = []
    stop_reason: str | None = None
    usage: _Usage | None = None


class _Delta(_Loose):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None


class _Event(_Loose):
    type: str
    index: int = 0
    content_block: _Block | None = None
    message: _Message | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None
    error: dict[str, Any] | None = None


def wire_messages(req: ChatRequest) -> list[dict[str, str]]:
    """Alternating user/assistant turns, opening with the user."""
    out: list[dict[str, str]] = []
    for m in req.messages:
        if out and out[-1]["role"] == m.role:
            out[-1] = {"role": m.role, "content": out[-1]["content"] + "\n" + m.content}
        else:
            out.append({"role": m.role, "content": m.content})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": OPENING})
    return out


class AnthropicProvider(_http.HttpProvider):
    """Satisfies `llm.Provider`. The client is injected (one pool per process)."""

    PATH = "/messages"

    @property
    def kind(self) -> ProviderKind:
        return "anthropic"

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "anthropic-version": API_VERSION,
            "Accept": "text/event-stream" if stream else "application/json",
        }
        if self._spec.key is not None:
            headers["x-api-key"] = self._spec.key.get_secret_value()
        return headers

    def body(self, req: ChatRequest, *, stream: bool) -> dict[str, Any]:
        system = req.system
        if req.json_schema is not None:
            system += _http.schema_instruction(dict(req.json_schema))
        body: dict[str, Any] = {
            "model": self._spec.model,
            "max_tokens": req.max_tokens,
            "messages": wire_messages(req),
            "temperature": min(max(req.temperature, 0.0), 1.0),
        }
        if system:
            body["system"] = system
        if req.stop:
            body["stop_sequences"] = list(req.stop)
        if req.tools:
            body["tools"] = tools.anthropic_tools(req.tools)
            body["tool_choice"] = {"type": "auto"}
        if stream:
            body["stream"] = True
        return body

    def _finish(
        self,
        req: ChatRequest,
        text: str,
        stop_reason: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        model: str | None,
        calls: tuple[ToolCall, ...] = (),
    ) -> ChatReply:
        if stop_reason == "refusal":
            raise ProviderRefused(self.name, "refused (stop_reason refusal)")
        if not text.strip() and not calls:
            raise ProviderBadReply(self.name, "empty reply")
        if req.json_schema is not None:
            _http.check_json_object(self.name, text)
        if input_tokens is None and output_tokens is None:
            usage = estimate_usage(req, text)
        else:
            usage = Usage(input_tokens or 0, output_tokens or 0)
        return ChatReply(
            text=text,
            finish_reason="length" if stop_reason == "max_tokens" else "stop",
            usage=usage,
            model=model or self._spec.model,
            tool_calls=calls,
        )

    async def complete(self, req: ChatRequest) -> ChatReply:
        with _http.mapped_errors(self.name, receiving=False):
            response = await self._client.post(
                self._url, json=self.body(req, stream=False), headers=self._headers(stream=False)
            )
        await self._raise_for_status(response)
        data = _http.parse_json(self.name, response.content)
        if data.get("type") == "error":
            raise _http.error_for_payload(self.name, data.get("error"), self._spec.key)
        try:
            msg = _Message.model_validate(data)
        except ValidationError as exc:
            raise ProviderBadReply(self.name, "reply does not look like a message") from exc
        text = "".join(b.text or "" for b in msg.content if b.type == "text")
        usage = msg.usage or _Usage()
        calls = tools.anthropic_calls([b.model_dump() for b in msg.content])
        return self._finish(req, text, msg.stop_reason, usage.input_tokens, usage.output_tokens, msg.model, calls)

    async def stream(self, req: ChatRequest) -> AsyncIterator[Delta | ChatReply]:
        parts: list[str] = []
        stop_reason: str | None = None
        input_tokens: int | None = None
        output_tokens: int | None = None
        model: str | None = None
        started = stopped = False
        calls = tools.AnthropicToolStream()
        with _http.mapped_errors(self.name, receiving=False):
            response = await self._client.open_stream(
                self._url, json=self.body(req, stream=True), headers=self._headers(stream=True)
            )
        reader = _http.SseReader(self.name, response)
        try:
            await self._raise_for_status(response)
            async for sse in reader:
                if sse.event == "ping" or not sse.data.strip():
                    continue
                try:
                    event = _Event.model_validate(_http.parse_json(self.name, sse.data))
                except ValidationError as exc:
                    raise ProviderBadReply(self.name, f"malformed {sse.event} event") from exc
                if event.type == "error":
                    raise _http.error_for_payload(self.name, event.error, self._spec.key)
                if event.type == "message_start" and event.message is not None:
                    started = True
                    model = event.message.model
                    if event.message.usage is not None:
                        input_tokens = event.message.usage.input_tokens
                        output_tokens = event.message.usage.output_tokens
                elif event.type == "content_block_start" and event.content_block is not None:
                    calls.start(event.index, event.content_block.model_dump())
                elif event.type == "content_block_delta" and event.delta is not None:
                    if event.delta.type == "text_delta" and event.delta.text:
                        parts.append(event.delta.text)
                        yield Delta(event.delta.text)
                    elif event.delta.type == "input_json_delta" and event.delta.partial_json is not None:
                        calls.delta(event.index, event.delta.partial_json)
                elif event.type == "message_delta":
                    if event.delta is not None and event.delta.stop_reason:
                        stop_reason = event.delta.stop_reason
                    if event.usage is not None:
                        if event.usage.output_tokens is not None:
                            output_tokens = event.usage.output_tokens  # cumulative
                        if event.usage.input_tokens is not None:
                            input_tokens = event.usage.input_tokens
                elif event.type == "message_stop":
                    stopped = True
                    reader.finish()
        finally:
            await reader.aclose()
            await response.aclose()
        if not (started and stopped):
            raise ProviderBadReply(self.name, "stream ended before message_stop")
        yield self._finish(req, "".join(parts), stop_reason, input_tokens, output_tokens, model, calls.calls())


__all__ = ["API_VERSION", "AnthropicProvider", "wire_messages"]
