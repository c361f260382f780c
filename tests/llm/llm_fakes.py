"""Loopback HTTP servers that speak the providers' real wire formats (the only fakes allowed).

Written from the API references: OpenAI chat completions (JSON bodies, SSE `data:` chunks of
`chat.completion.chunk`, `data: [DONE]`, usage in a last chunk with empty `choices` when
`stream_options.include_usage` is set, `{"error": {...}}` bodies) and the Anthropic Messages
API (`x-api-key` + `anthropic-version`, `system` outside the messages, SSE events
`message_start` / `content_block_start` / `ping` / `content_block_delta` /
`content_block_stop` / `message_delta` / `message_stop` / `error`, `{"type": "error", ...}`
bodies, 529 `overloaded_error`).

Tool calls (NPC actions), in each API's own shape: OpenAI's `tools` / `tool_choice` are
checked (function names `^[a-zA-Z0-9_-]{1,64}$`, `parameters` an object schema) and answered
with `message.tool_calls` (`finish_reason: "tool_calls"`, `content` null when there is no
text) or, streamed, `delta.tool_calls` pieces by `index` (id and name first, the arguments
text in several pieces); Anthropic's `tools` (`input_schema` of type object) and
`tool_choice` are answered with `tool_use` content blocks (`stop_reason: "tool_use"`) or,
streamed, `content_block_start` + `input_json_delta` pieces + `content_block_stop` per block.

Each server answers from a queue of `Reply` scripts (then repeats its `default`), validates
what it receives the way the real API would (bad key → 401, unknown fields → 400) and keeps
the received requests so tests can assert on what went over the wire.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Mode = Literal["ok", "status", "hang", "cut", "malformed", "empty", "refusal", "filter", "stream_error", "no_usage"]

OPENAI_FIELDS = {
    "model",
    "messages",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "frequency_penalty",
    "presence_penalty",
    "stop",
    "stream",
    "stream_options",
    "response_format",
    "top_p",
    "seed",
    "n",
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
}
ANTHROPIC_FIELDS = {
    "model",
    "messages",
    "system",
    "max_tokens",
    "temperature",
    "stop_sequences",
    "stream",
    "top_p",
    "top_k",
    "metadata",
    "tools",
    "tool_choice",
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class Reply:
    mode: Mode = "ok"
    text: str = "Well met, traveller."
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = ""
    error_message: str = ""
    usage: tuple[int, int] = (42, 7)
    finish: str = ""
    """Vendor finish/stop reason; default `stop` (OpenAI) or `end_turn` (Anthropic)."""
    cut_after: int = 2
    """For `cut`: text pieces sent before the connection is dropped."""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    """(name, arguments as JSON text) of each tool call, after the text. The text may be ""
    (a reply that only acts). Anthropic's whole replies carry `input` as an object, so there
    the arguments text must parse; its streams send the text as is (malformed included)."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    peer: Any = None
    """The client's (host, port): the same port twice means a reused connection."""


def pieces(text: str) -> list[str]:
    """Split like a tokenizer would: words with their leading space."""
    out: list[str] = []
    for i, word in enumerate(text.split(" ")):
        out.append(word if i == 0 else " " + word)
    return out


class FakeProvider:
    def __init__(
        self, dialect: Literal["openai", "anthropic"], *, key: str | None = None, model: str = "fake-model"
    ) -> None:
        self.dialect = dialect
        self.key = key
        self.model = model
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.received: list[Received] = []
        self.first_byte_at: list[float] = []
        """perf_counter() when the first SSE text chunk of each stream was written."""
        self._release = asyncio.Event()
        self.arrived = asyncio.Event()
        """Set when a request has been received (to act while a reply is pending)."""
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> FakeProvider:
        app = web.Application()
        path = "/v1/chat/completions" if self.dialect == "openai" else "/v1/messages"
        app.router.add_post(path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = int(server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *replies: Reply) -> None:
        self.script.extend(replies)

    @property
    def calls(self) -> int:
        return len(self.received)

    # -- dispatch -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, "invalid_request_error", "body is not JSON")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.received.append(Received(request.path, dict(request.headers), body, peer))
        self.arrived.set()
        problem = self._validate(request, body)
        if problem is not None:
            return problem
        reply = self.script.popleft() if self.script else self.default
        if reply.mode == "status":
            return self._error(reply.status, reply.error_type, reply.error_message, reply.headers)
        if reply.mode == "hang":
            await self._release.wait()
            return web.Response(status=503)
        if reply.mode == "malformed":
            ctype = "text/event-stream" if body.get("stream") else "application/json"
            if body.get("stream"):
                resp = web.StreamResponse(headers={"Content-Type": ctype})
                await resp.prepare(request)
                await resp.write(b'data: {"choices": [{"delta": {"content": "Hel\n\n')
                await resp.write_eof()
                return resp
            return web.Response(body=b'{"id": "x", "choices": [', content_type="application/json")
        if body.get("stream"):
            return await self._stream(request, body, reply)
        return self._whole(body, reply)

    def _validate(self, request: web.Request, body: dict[str, Any]) -> web.Response | None:
        if self.dialect == "openai":
            auth = request.headers.get("Authorization")
            if self.key is not None and auth != f"Bearer {self.key}":
                presented = (auth or "").removeprefix("Bearer ")
                # Like OpenAI, echo a masked form of the presented key.
                masked = presented[:3] + "*" * 10 + presented[-4:] if len(presented) > 8 else presented
                return self._error(401, "invalid_request_error", f"Incorrect API key provided: {masked}.")
            unknown = set(body) - OPENAI_FIELDS
            if unknown:
                return self._error(400, "invalid_request_error", f"Unrecognized request argument: {sorted(unknown)}")
            if "stream_options" in body and not body.get("stream"):
                return self._error(400, "invalid_request_error", "stream_options requires stream")
            roles = {m.get("role") for m in body.get("messages", [])}
            if not body.get("messages") or not roles <= {"system", "user", "assistant"}:
                return self._error(400, "invalid_request_error", "bad messages")
            return self._openai_tools_problem(body)
        if request.headers.get("anthropic-version") is None:
            return self._error(400, "invalid_request_error", "anthropic-version header is required")
        if self.key is not None and request.headers.get("x-api-key") != self.key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        unknown = set(body) - ANTHROPIC_FIELDS
        if unknown:
            return self._error(400, "invalid_request_error", f"{sorted(unknown)[0]}: Extra inputs are not permitted")
        if "max_tokens" not in body:
            return self._error(400, "invalid_request_error", "max_tokens: Field required")
        messages = body.get("messages", [])
        if not messages or messages[0].get("role") != "user":
            return self._error(400, "invalid_request_error", "first message must use the user role")
        for a, b in zip(messages, messages[1:], strict=False):
            if a.get("role") == b.get("role") or b.get("role") not in ("user", "assistant"):
                return self._error(400, "invalid_request_error", "roles must alternate between user and assistant")
        if not 0 <= body.get("temperature", 1) <= 1:
            return self._error(400, "invalid_request_error", "temperature: must be <= 1")
        return self._anthropic_tools_problem(body)

    def _openai_tools_problem(self, body: dict[str, Any]) -> web.Response | None:
        if "tool_choice" in body and "tools" not in body:
            return self._error(400, "invalid_request_error", "tool_choice is only allowed when tools are specified")
        for i, tool in enumerate(body.get("tools", [])):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
                return self._error(400, "invalid_request_error", f"tools[{i}]: expected a function tool")
            if not TOOL_NAME.match(str(fn.get("name", ""))):
                return self._error(400, "invalid_request_error", f"tools[{i}].function.name: invalid")
            params = fn.get("parameters", {"type": "object"})
            if not isinstance(params, dict) or params.get("type") != "object":
                return self._error(
                    400, "invalid_request_error", f"tools[{i}].function.parameters: not an object schema"
                )
        if body.get("tool_choice", "auto") not in ("auto", "none", "required") and not isinstance(
            body.get("tool_choice"), dict
        ):
            return self._error(400, "invalid_request_error", "tool_choice: invalid")
        return None

    def _anthropic_tools_problem(self, body: dict[str, Any]) -> web.Response | None:
        if "tool_choice" in body and "tools" not in body:
            return self._error(400, "invalid_request_error", "tool_choice: requires tools")
        for i, tool in enumerate(body.get("tools", [])):
            if not isinstance(tool, dict) or not TOOL_NAME.match(str(tool.get("name", ""))):
                return self._error(400, "invalid_request_error", f"tools.{i}.name: invalid")
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return self._error(400, "invalid_request_error", f"tools.{i}.input_schema.type: Field required")
        choice = body.get("tool_choice", {"type": "auto"})
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            return self._error(400, "invalid_request_error", "tool_choice: invalid")
        return None

    def _error(self, status: int, etype: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        if self.dialect == "openai":
            payload: dict[str, Any] = {
                "error": {"message": message, "type": etype or "server_error", "param": None, "code": None}
            }
        else:
            payload = {"type": "error", "error": {"type": etype or "api_error", "message": message}}
        return web.json_response(payload, status=status, headers=headers)

    # -- OpenAI and Anthropic bodies ----------------------------------------------------

    def _whole(self, body: dict[str, Any], reply: Reply) -> web.Response:
        model = body.get("model", self.model)
        if self.dialect == "openai":
            content: str | None = reply.text
            refusal = None
            finish = reply.finish or "stop"
            if reply.mode == "refusal":
                content, refusal = None, "I'm sorry, I can't help with that."
            if reply.mode == "filter":
                content, finish = "", "content_filter"
            message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
            if reply.tool_calls:
                message["content"] = content or None
                message["tool_calls"] = [
                    {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
                    for i, (name, args) in enumerate(reply.tool_calls)
                ]
                finish = reply.finish or "tool_calls"
            choices = (
                []
                if reply.mode == "empty"
                else [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ]
            )
            payload: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
            }
            if reply.mode != "no_usage":
                payload["usage"] = {
                    "prompt_tokens": reply.usage[0],
                    "completion_tokens": reply.usage[1],
                    "total_tokens": sum(reply.usage),
                }
            return web.json_response(payload)
        stop = reply.finish or "end_turn"
        blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        for i, (name, args) in enumerate(reply.tool_calls):
            blocks.append({"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": json.loads(args)})
            stop = reply.finish or "tool_use"
        if reply.mode == "refusal":
            stop, blocks = "refusal", []
        if reply.mode == "empty":
            blocks = []
        return web.json_response(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": blocks,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": reply.usage[0], "output_tokens": reply.usage[1]},
            }
        )

    async def _stream(self, request: web.Request, body: dict[str, Any], reply: Reply) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        if self.dialect == "openai":
            await self._openai_stream(request, resp, body, reply)
        else:
            await self._anthropic_stream(request, resp, body, reply)
        return resp

    async def _openai_stream(
        self, request: web.Request, resp: web.StreamResponse, body: dict[str, Any], reply: Reply
    ) -> None:
        include_usage = bool(body.get("stream_options", {}).get("include_usage"))
        model = body.get("model", self.model)

        def chunk(delta: dict[str, Any], finish: str | None, choices: bool = True) -> bytes:
            data: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
            }
            if include_usage:
                data["usage"] = None
            return f"data: {json.dumps(data)}\n\n".encode()

        await resp.write(chunk({"role": "assistant", "content": "", "refusal": None}, None))
        if reply.mode == "refusal":
            await resp.write(chunk({"refusal": "I'm sorry, I can't help with that."}, None))
            await resp.write(chunk({}, "stop"))
        elif reply.mode == "filter":
            await resp.write(chunk({"content": "Well"}, None))
            await resp.write(chunk({}, "content_filter"))
        elif reply.mode == "empty":
            await resp.write(chunk({}, "stop"))
        else:
            for i, piece in enumerate(pieces(reply.text)):
                if reply.mode == "cut" and i == reply.cut_after:
                    assert request.transport is not None
                    request.transport.close()  # no final chunk: the body is incomplete
                    return
                if reply.mode == "hang" and i == reply.cut_after:
                    await self._release.wait()
                    return
                if i == 0:
                    self.first_byte_at.append(time.perf_counter())
                await resp.write(chunk({"content": piece}, None))
            if reply.mode == "stream_error":
                err = {"error": {"message": "upstream overloaded", "type": "server_error", "code": "502"}}
                await resp.write(f"data: {json.dumps(err)}\n\n".encode())
                await resp.write_eof()
                return
            for i, (name, args) in enumerate(reply.tool_calls):
                first = {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}
                await resp.write(chunk({"tool_calls": [first]}, None))
                half = len(args) // 2
                for part in (args[:half], args[half:]):
                    await resp.write(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}, None))
            await resp.write(chunk({}, reply.finish or ("tool_calls" if reply.tool_calls else "stop")))
        if include_usage and reply.mode != "no_usage":
            usage_chunk = json.loads(chunk({}, None, choices=False)[6:])
            usage_chunk["usage"] = {
                "prompt_tokens": reply.usage[0],
                "completion_tokens": reply.usage[1],
                "total_tokens": sum(reply.usage),
            }
            await resp.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()

    async def _anthropic_stream(
        self, request: web.Request, resp: web.StreamResponse, body: dict[str, Any], reply: Reply
    ) -> None:
        async def event(name: str, data: dict[str, Any]) -> None:
            await resp.write(f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode())

        await event(
            "message_start",
            {
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": body.get("model", self.model),
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": reply.usage[0], "output_tokens": 1},
                }
            },
        )
        await event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        await event("ping", {})
        stop = reply.finish or ("tool_use" if reply.tool_calls else "end_turn")
        if reply.mode == "refusal":
            stop = "refusal"
        elif reply.mode != "empty":
            for i, piece in enumerate(pieces(reply.text)):
                if reply.mode == "cut" and i == reply.cut_after:
                    assert request.transport is not None
                    request.transport.close()
                    return
                if reply.mode == "hang" and i == reply.cut_after:
                    await self._release.wait()
                    return
                if reply.mode == "stream_error" and i == reply.cut_after:
                    await resp.write(
                        b'event: error\ndata: {"type": "error", "error": '
                        b'{"type": "overloaded_error", "message": "Overloaded"}}\n\n'
                    )
                    await resp.write_eof()
                    return
                if i == 0:
                    self.first_byte_at.append(time.perf_counter())
                await event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        await event("content_block_stop", {"index": 0})
        for i, (name, args) in enumerate(reply.tool_calls, start=1):
            block = {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": {}}
            await event("content_block_start", {"index": i, "content_block": block})
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                await event(
                    "content_block_delta", {"index": i, "delta": {"type": "input_json_delta", "partial_json": part}}
                )
            await event("content_block_stop", {"index": i})
        await event(
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": reply.usage[1]}},
        )
        await event("message_stop", {})
        await resp.write_eof()
