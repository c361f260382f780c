"""OpenAI-compatible chat completions (OpenAI, Groq, Together, Mistral, OpenRouter, Ollama,
llama.cpp, LM Studio…): one class, the differences are preset data.

Wire format: POST {base_url}/chat/completions with a Bearer key; streaming answers are
server-sent events whose `data:` lines carry `chat.completion.chunk` objects and end with
`data: [DONE]`; usage arrives in a last chunk with empty `choices` when
`stream_options.include_usage` is sent.

Per-character tuning: temperature and max tokens always map; `frequency_penalty` is sent only
where the preset says the API takes it (local servers and the hosted APIs named in
presets.toml all do; a custom server may not, so `frequency_penalty = false` drops it).
Structured output follows the preset's `json` mode (see presets.toml).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sidecar.errors import ProviderBadReply, ProviderRefused
from sidecar.llm import _http, tools
from sidecar.llm.json_line import FieldReader
from sidecar.llm.types import ChatReply, ChatRequest, Delta, ProviderKind, ToolCall, Usage, estimate_usage

log = logging.getLogger(__name__)

MAX_STOP = 4  # OpenAI's limit on stop sequences


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Usage(_Loose):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Message(_Loose):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _Choice(_Loose):
    message: _Message | None = None
    delta: _Message | None = None
    finish_reason: str | None = None


class _Completion(_Loose):
    model: str | None = None
    choices: list[_Choice] = []
    usage: _Usage | None = None
    error: dict[str, Any] | str | None = None


class OpenAICompatProvider(_http.HttpProvider):
    """Satisfies `llm.Provider`. The client is injected (one pool per process)."""

    PATH = "/chat/completions"

    @property
    def kind(self) -> ProviderKind:
        return "openai"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._spec.key is not None:
            headers["Authorization"] = f"Bearer {self._spec.key.get_secret_value()}"
        return headers

    def structured_tools(self, req: ChatRequest) -> bool:
        """Whether `req`'s actions are asked for as a structured reply, not as tool calls."""
        return bool(req.tools) and not self._spec.tools and req.json_schema is None

    def body(self, req: ChatRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON body for `req` (public so tests and `providers check` can show it)."""
        spec = self._spec
        system = req.system
        response_format: dict[str, Any] | None = None
        wanted = req.json_schema
        if self.structured_tools(req):
            wanted = tools.structured_schema(req.tools)
            system += tools.structured_instruction(req.tools)
        if wanted is not None:
            schema = dict(wanted)
            if spec.json == "json_schema":
                response_format = {
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": schema, "strict": False},
                }
            elif spec.json == "json_object_schema":
                response_format = {"type": "json_object", "schema": schema}
            else:
                system += _http.schema_instruction(schema)
                if spec.json == "json_object":
                    response_format = {"type": "json_object"}
        messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
        messages += [{"role": m.role, "content": m.content} for m in req.messages]
        body: dict[str, Any] = {
            "model": spec.model,
            "messages": messages,
            "temperature": req.temperature,
            spec.max_tokens_field: req.max_tokens,
        }
        if req.frequency_penalty and spec.frequency_penalty:
            body["frequency_penalty"] = req.frequency_penalty
        if req.stop:
            body["stop"] = list(req.stop[:MAX_STOP])
        if response_format is not None:
            body["response_format"] = response_format
        if req.tools and spec.tools:
            body["tools"] = tools.openai_tools(req.tools)
            body["tool_choice"] = "auto"
        if stream:
            body["stream"] = True
            if spec.stream_usage:
                body["stream_options"] = {"include_usage": True}
        return body

    def _finish(
        self,
        req: ChatRequest,
        text: str,
        finish: str | None,
        refusal: str | None,
        usage: _Usage | None,
        model: str | None,
        calls: tuple[ToolCall, ...] = (),
    ) -> ChatReply:
        if refusal or finish == "content_filter":
            raise ProviderRefused(self.name, "refused" + (" (content filter)" if finish == "content_filter" else ""))
        raw = text
        if self.structured_tools(req):
            try:
                text, calls = tools.structured_reply(self.name, raw)
            except ProviderBadReply:
                # Only asked for in the prompt, the format is a request the model may ignore:
                # its text is then the line, with no actions. A schema-constrained reply
                # (response_format) that is not the object is broken, so the chain moves on.
                if self._spec.json != "prompt":
                    raise
        if not text.strip() and not calls:
            raise ProviderBadReply(self.name, "empty reply")
        if req.json_schema is not None:
            _http.check_json_object(self.name, text)
        if usage is not None and (usage.prompt_tokens or usage.completion_tokens):
            counted = Usage(usage.prompt_tokens, usage.completion_tokens)
        else:
            counted = estimate_usage(req, raw)
        return ChatReply(
            text=text,
            finish_reason="length" if finish == "length" else "stop",
            usage=counted,
            model=model or self._spec.model,
            tool_calls=calls,
        )

    async def complete(self, req: ChatRequest) -> ChatReply:
        with _http.mapped_errors(self.name, receiving=False):
            response = await self._client.post(self._url, json=self.body(req, stream=False), headers=self._headers())
        await self._raise_for_status(response)
        data = _http.parse_json(self.name, response.content)
        try:
            parsed = _Completion.model_validate(data)
        except ValidationError as exc:
            raise ProviderBadReply(self.name, "reply does not look like a chat completion") from exc
        if parsed.error is not None:
            raise _http.error_for_payload(self.name, parsed.error, self._spec.key)
        if not parsed.choices or parsed.choices[0].message is None:
            raise ProviderBadReply(self.name, "reply has no choices")
        choice = parsed.choices[0]
        assert choice.message is not None
        msg = choice.message
        calls = tools.openai_calls(msg.tool_calls)
        return self._finish(
            req, msg.content or "", choice.finish_reason, msg.refusal, parsed.usage, parsed.model, calls
        )

    async def stream(self, req: ChatRequest) -> AsyncIterator[Delta | ChatReply]:
        parts: list[str] = []
        refusal: list[str] = []
        finish: str | None = None
        usage: _Usage | None = None
        model: str | None = None
        done = False
        calls = tools.OpenAIToolStream()
        # A structured reply is JSON: its `line` is streamed as it is read from the JSON.
        structured = self.structured_tools(req)
        lines = _LineStream(self._spec.json == "prompt") if structured else None
        with _http.mapped_errors(self.name, receiving=False):
            response = await self._client.open_stream(
                self._url, json=self.body(req, stream=True), headers={**self._headers(), "Accept": "text/event-stream"}
            )
        reader = _http.SseReader(self.name, response)
        try:
            await self._raise_for_status(response)
            async for event in reader:
                if event.data == "[DONE]":
                    done = True
                    reader.finish()
                    continue
                if not event.data.strip():
                    continue
                try:
                    chunk = _Completion.model_validate(_http.parse_json(self.name, event.data))
                except ValidationError as exc:
                    raise ProviderBadReply(self.name, "stream chunk is not a completion chunk") from exc
                if chunk.error is not None:
                    # OpenRouter and some local servers report failures inside the stream.
                    raise _http.error_for_payload(self.name, chunk.error, self._spec.key)
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta is not None and delta.refusal:
                        refusal.append(delta.refusal)
                    if delta is not None and delta.tool_calls:
                        calls.feed(delta.tool_calls)
                    if delta is not None and delta.content:
                        parts.append(delta.content)
                        shown = delta.content if lines is None else lines.feed(delta.content)
                        if shown:
                            yield Delta(shown)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        finally:
            await reader.aclose()
            await response.aclose()
        if not done and finish is None:
            raise ProviderBadReply(self.name, "stream ended before it finished")
        reply = self._finish(req, "".join(parts), finish, "".join(refusal) or None, usage, model, calls.calls())
        if lines is not None:
            rest = lines.rest(self.name, reply.text)
            if rest:
                yield Delta(rest)
        yield reply


class _LineStream:
    """The words of a structured reply as they arrive: its `line`, read from the JSON text
    (sidecar/llm/json_line.py). Where the format was only asked for in the prompt, a reply
    that does not open with "{" is taken to be the line itself and streamed as it comes
    (`_finish` reads it so too)."""

    def __init__(self, plain_allowed: bool) -> None:
        self._reader = FieldReader("line")
        self._plain_allowed = plain_allowed
        self._plain = False
        self._before: list[str] = []  # what came before the reply showed whether it is JSON
        self._shown: list[str] = []

    def feed(self, content: str) -> str:
        if self._plain:
            out = content
        else:
            out = self._reader.feed(content)
            if not self._reader.started:
                self._before.append(content)
            if self._plain_allowed and self._reader.failed and not self._reader.started:
                self._plain = True
                out = "".join(self._before)
        self._shown.append(out)
        return out

    def rest(self, provider: str, line: str) -> str:
        """What is left to show of the finished reply's `line`. Raises `ProviderBadReply`
        when the streamed words are not the start of it (a duplicate `line` key; text
        around a JSON object in a prompt-only reply): the router resets the partial line."""
        shown = "".join(self._shown)
        if not line.startswith(shown):
            raise ProviderBadReply(provider, "the structured reply's line is not what was streamed")
        return line[len(shown) :]


__all__ = ["OpenAICompatProvider"]
