"""The HTTP boundary shared by the remote providers (aiohttp).

Only `openai_compat` and `anthropic` import this module (and so aiohttp), and they are only
imported when a remote provider is built: a sidecar with the embedded engine alone never pays
for aiohttp at start-up. Every aiohttp exception and every non-2xx status becomes a
`ProviderError` here, with a message that is safe to log and to show: provider bodies are
cut short and scrubbed of the key before they reach an error.

Why aiohttp and not httpx: on the loopback bench a POST cost 0.9-1.6 ms of the sidecar's CPU
through httpx (httpcore + h11 in Python, anyio per request) and 0.4 ms through aiohttp (C
HTTP parser), the largest single item of an LLM turn's own CPU. The wire format is unchanged:
the same JSON bodies, headers and server-sent events.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import email.utils
import json
import re
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import aiohttp
import certifi
import orjson
from pydantic import SecretStr

if TYPE_CHECKING:
    from sidecar.llm.spec import ProviderSpec

from sidecar.errors import (
    ProviderAuth,
    ProviderBadReply,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
)

MAX_BODY_IN_MESSAGE = 200
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_KEYLIKE = re.compile(r"\b(?:sk|gsk|pk|key|sess)[-_][A-Za-z0-9_\-*.]{6,}")


class Headers(Protocol):
    """A reply's headers, looked up without regard to case (aiohttp's `CIMultiDictProxy`)."""

    def get(self, key: str, /) -> str | None: ...


class Response(Protocol):
    """What the status check reads of a reply, whole or streamed."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Headers: ...

    async def aread(self) -> bytes: ...


@dataclass(frozen=True)
class WholeResponse:
    """A reply read to its end: status, headers and body."""

    status_code: int
    headers: Headers
    content: bytes

    async def aread(self) -> bytes:
        return self.content


class StreamResponse:
    """A reply whose body is read as it arrives (an event stream); `aclose()` releases the
    connection (back to the pool when the body was read to its end)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Headers:
        return self._response.headers

    async def aread(self) -> bytes:
        return await self._response.read()

    def lines(self) -> AsyncGenerator[str, None]:
        """The body's lines (see `split_lines`)."""
        return split_lines(self._response.content.iter_any())

    async def aclose(self) -> None:
        self._response.release()


async def split_lines(chunks: AsyncIterable[bytes]) -> AsyncGenerator[str, None]:
    """Lines without their endings (LF, CRLF or a lone CR, as the event-stream format allows),
    decoded as UTF-8 (bad bytes replaced), whatever the chunk boundaries; an unterminated last
    line too."""
    buffer = ""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    async for chunk in chunks:
        buffer += decoder.decode(chunk)
        # A CR that ends a chunk may be the first half of a CRLF: it waits for the next.
        held = "\r" if buffer.endswith("\r") else ""
        *whole, buffer = _LINE_BREAK.split(buffer[:-1] if held else buffer)
        buffer += held
        for line in whole:
            yield line
    *whole, last = _LINE_BREAK.split(buffer + decoder.decode(b"", final=True))
    for line in whole:
        yield line
    if last:
        yield last


class HttpClient:
    """The process's one pooled HTTP client, shared by every remote provider (keys travel in
    per-request headers, so sharing leaks nothing between providers). Its aiohttp session is
    made on first use, inside the running event loop (aiohttp binds a session to its loop)."""

    def __init__(self, *, timeout: float = 30.0, max_connections: int = 32) -> None:
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(timeout, 10.0), sock_read=timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    def _get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # certifi's roots, as httpx used: a packaged sidecar cannot count on the OS's.
            tls = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ssl=tls),
                timeout=self._timeout,
                # Not aiohttp's trust_env: it re-reads the environment and ~/.netrc on every
                # request (~0.2 ms); `_proxy` reads the proxy variables once per host instead.
                trust_env=False,
            )
        return self._session

    def _proxy(self, url: str) -> str | None:
        """The proxy for `url` from HTTP_PROXY / HTTPS_PROXY / NO_PROXY (as httpx honoured
        them by default), looked up once per scheme and host for the client's life."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            env = urllib.request.getproxies_environment()
            proxy = env.get(parts.scheme)
            if proxy and urllib.request.proxy_bypass(key[1]):
                proxy = None
            self._proxies[key] = proxy
        return self._proxies[key]

    async def post(self, url: str, *, json: Any, headers: Mapping[str, str]) -> WholeResponse:
        """POST `json` and read the whole reply. Raises aiohttp's errors (see `mapped_errors`)."""
        session = self._get()
        async with session.post(url, data=_dumps(json), headers=_json_headers(headers), proxy=self._proxy(url)) as r:
            return WholeResponse(r.status, r.headers, await r.read())

    async def open_stream(self, url: str, *, json: Any, headers: Mapping[str, str]) -> StreamResponse:
        """POST `json` and return once the reply's headers are in; the caller reads the body
        and closes the reply."""
        session = self._get()
        response = await session.post(url, data=_dumps(json), headers=_json_headers(headers), proxy=self._proxy(url))
        return StreamResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {"Content-Type": "application/json", **headers}


class HttpProvider:
    """What the remote providers share: the injected client (one pool per process), the
    spec, and the endpoint under the spec's base URL. Subclasses set `PATH` and `kind`."""

    PATH: ClassVar[str]

    def __init__(self, spec: ProviderSpec, client: HttpClient) -> None:
        self._spec = spec
        self._client = client
        self._url = f"{spec.base_url}{self.PATH}"

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def model(self) -> str:
        return self._spec.model

    async def _raise_for_status(self, response: Response) -> None:
        """A non-2xx answer as the provider error it means (its body read, the key redacted)."""
        if response.status_code < 300:
            return
        with mapped_errors(self.name, receiving=True):
            raw = await response.aread()
        raise error_for_status(self.name, response, raw.decode("utf-8", "replace"), self._spec.key)


def redact(text: str, key: SecretStr | None) -> str:
    """Remove the key, anything shaped like a key, and any word sharing the key's first six
    or last four characters (providers echo masked keys such as `sk-abc…wxyz`)."""
    secret = key.get_secret_value() if key is not None else ""
    if secret:
        text = text.replace(secret, "[redacted]")
        head, tail = secret[:6], secret[-4:]
        words = []
        for word in text.split(" "):
            if len(secret) >= 8 and (head in word or (len(word) >= 6 and tail in word)):
                word = "[redacted]"
            words.append(word)
        text = " ".join(words)
    return _KEYLIKE.sub("[redacted]", text)


def parse_retry_after(headers: Headers, now: float | None = None) -> float | None:
    """Seconds to wait, from `retry-after-ms` (OpenAI), or `Retry-After` as delta-seconds or
    an HTTP date (RFC 9110 §10.2.3). Unparseable values are ignored rather than trusted."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(ms) / 1000.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _vendor_message(body: str) -> tuple[str, str]:
    """(error type, message) from an OpenAI- or Anthropic-style error body, best effort."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", body.strip()
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("type") or err.get("code") or ""), str(err.get("message") or "")
    if isinstance(err, str):
        return "", err
    if isinstance(data, dict) and "message" in data:
        return "", str(data["message"])
    return "", body.strip()


def error_for_status(name: str, response: Response, body: str, key: SecretStr | None) -> ProviderError:
    """Classify a non-2xx answer. 401/403/404 mean a bad key or unknown model, 402 an empty
    account: not retried, and the router stops using the provider until the config is reloaded;
    429 and 5xx/529 are transient (retried, honouring Retry-After); other 4xx mean the
    provider rejected this request (not retried, but the next provider may accept it)."""
    status = response.status_code
    etype, vendor = _vendor_message(body)
    vendor = redact(vendor, key)[:MAX_BODY_IN_MESSAGE]
    detail = f"HTTP {status}" + (f" {etype}" if etype else "") + (f": {vendor}" if vendor else "")
    details = {"status": status}
    retry_after = parse_retry_after(response.headers)
    if status in (401, 403):
        return ProviderAuth(name, f"bad or missing API key ({detail})", details=details)
    if status == 402:
        return ProviderAuth(name, f"account out of credits or billing problem ({detail})", details=details)
    if status == 404:
        return ProviderAuth(name, f"unknown model or endpoint ({detail})", details=details)
    if status == 429:
        return ProviderRateLimited(name, f"rate limited ({detail})", retry_after=retry_after, details=details)
    if status == 408:
        return ProviderTimeout(name, f"request timed out at the provider ({detail})", details=details)
    if status >= 500 or "overloaded" in etype:
        return ProviderOverloaded(name, f"overloaded or failing ({detail})", retry_after=retry_after, details=details)
    return ProviderError(name, f"rejected the request ({detail})", details=details)


@contextlib.contextmanager
def mapped_errors(name: str, *, receiving: bool) -> Iterator[None]:
    """Map aiohttp's exceptions to the provider tree. `receiving` says whether the reply body
    was being read: a connection lost there is a broken reply, before it a transient fault.
    (The router's own deadline cancels the call from outside: that is not caught here.)"""
    try:
        yield
    except (aiohttp.ServerTimeoutError, aiohttp.ConnectionTimeoutError) as exc:
        raise ProviderTimeout(name, f"timed out ({type(exc).__name__})") from exc
    except aiohttp.ClientConnectorError as exc:
        raise ProviderOverloaded(name, "unreachable (cannot connect)") from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
        # Dropped connections and replies that are not HTTP (the parser's errors arrive as
        # ClientResponseError; a status never does: it is read, not raised).
        if receiving:
            raise ProviderBadReply(name, f"reply broke off ({type(exc).__name__})") from exc
        raise ProviderOverloaded(name, f"connection dropped ({type(exc).__name__})") from exc
    except aiohttp.ClientError as exc:
        raise ProviderOverloaded(name, f"transport failure ({type(exc).__name__})") from exc


def parse_json(name: str, raw: bytes | str) -> dict[str, Any]:
    """A JSON object or `ProviderBadReply`; garbage never reaches the parsers."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProviderBadReply(name, "malformed JSON in reply") from exc
    if not isinstance(data, dict):
        raise ProviderBadReply(name, "reply is not a JSON object")
    return data


@dataclass(frozen=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class _SseDecoder:
    """Lines to events, by the event-stream rules (HTML Living Standard, "server-sent
    events"): `field: value` lines, `:` comments, a blank line dispatches. aiohttp has no
    client for the format; what is here is the part of the spec the providers use."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None

    def decode(self, line: str) -> ServerSentEvent | None:
        if not line:
            # The spec: an event without data lines is dropped (its type with it); the last
            # event id carries over to the events after it.
            sse = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
            dispatched = bool(self._data)
            self._event, self._data, self._retry = "", [], None
            return sse if dispatched else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._id = value
        elif field == "retry" and value.isdigit():
            self._retry = int(value)
        return None


class SseReader:
    """Server-sent events of a streaming reply, with transport errors mapped.

    A 2xx reply that is not `text/event-stream` is a bad reply. After the provider's end
    marker (`[DONE]`, `message_stop`) the caller calls `finish()` and keeps iterating: the
    rest of the body (normally just the chunked terminator) is drained for at most `tail`
    seconds and dropped, so the connection goes back to the pool instead of being closed
    half-read, and a server that never closes cannot stall a turn.
    """

    def __init__(self, name: str, response: StreamResponse, *, tail: float = 0.25) -> None:
        self._name = name
        self._response = response
        self._lines = response.lines()
        self._decoder = _SseDecoder()
        self._tail = tail
        self._finished = False
        self._checked = False

    def finish(self) -> None:
        self._finished = True

    def __aiter__(self) -> SseReader:
        return self

    async def __anext__(self) -> ServerSentEvent:
        if not self._finished:
            with mapped_errors(self._name, receiving=True):
                return await self._next_event()
        try:
            async with asyncio.timeout(self._tail):
                async for _ in self._lines:
                    pass
        except (TimeoutError, aiohttp.ClientError):
            pass  # the reply is complete; only the connection's reuse is lost
        raise StopAsyncIteration

    async def _next_event(self) -> ServerSentEvent:
        if not self._checked:
            content_type = self._response.headers.get("content-type") or ""
            if "text/event-stream" not in content_type.lower():
                raise ProviderBadReply(self._name, f"not an event stream (content-type {content_type[:60]!r})")
            self._checked = True
        async for line in self._lines:
            event = self._decoder.decode(line)
            if event is not None:
                return event
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await self._lines.aclose()


def build_client(*, timeout: float = 30.0) -> HttpClient:
    """One pooled client per process, shared by every remote provider."""
    return HttpClient(timeout=timeout)


def check_json_object(name: str, text: str) -> None:
    """Structured output must be a JSON object; anything else is a bad reply, so the router
    can fall through instead of storing garbage."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ProviderBadReply(name, "structured output is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ProviderBadReply(name, "structured output is not a JSON object")


def schema_instruction(schema: Any) -> str:
    """How providers without native structured output are asked for it."""
    return "\n\nAnswer with one JSON object only, no prose, matching this JSON Schema:\n" + json.dumps(
        schema, separators=(",", ":")
    )


def error_for_payload(name: str, err: Any, key: SecretStr | None) -> ProviderError:
    """Classify an error object that arrived inside a 2xx reply or an event stream
    (Anthropic's `event: error`, OpenRouter's mid-stream `{"error": ...}`)."""
    etype, code, message = "", "", ""
    if isinstance(err, dict):
        etype = str(err.get("type") or "")
        code = str(err.get("code") or "")
        message = str(err.get("message") or "")
    elif isinstance(err, str):
        message = err
    message = redact(message, key)[:MAX_BODY_IN_MESSAGE]
    detail = " ".join(p for p in (etype, code) if p) + (f": {message}" if message else "")
    text = f"error in reply ({detail or 'no detail'})"
    if "rate_limit" in etype or code == "429":
        return ProviderRateLimited(name, text)
    if "overloaded" in etype or etype in ("api_error", "server_error") or code.startswith("5"):
        return ProviderOverloaded(name, text)
    return ProviderBadReply(name, text)
