"""The httpx boundary shared by the remote providers.

Only `openai_compat` and `anthropic` import this module (and so httpx), and they are only
imported when a remote provider is built: a sidecar with the embedded engine alone never pays
for httpx at start-up. Every httpx exception and every non-2xx status becomes a
`ProviderError` here, with a message that is safe to log and to show: provider bodies are
cut short and scrubbed of the key before they reach an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import httpx_sse
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
_KEYLIKE = re.compile(r"\b(?:sk|gsk|pk|key|sess)[-_][A-Za-z0-9_\-*.]{6,}")


class HttpProvider:
    """What the remote providers share: the injected client (one pool per process), the
    spec, and the endpoint under the spec's base URL. Subclasses set `PATH` and `kind`."""

    PATH: ClassVar[str]

    def __init__(self, spec: ProviderSpec, client: httpx.AsyncClient) -> None:
        self._spec = spec
        self._client = client
        self._url = f"{spec.base_url}{self.PATH}"

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def model(self) -> str:
        return self._spec.model

    async def _raise_for_status(self, response: httpx.Response) -> None:
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


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
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


def error_for_status(name: str, response: httpx.Response, body: str, key: SecretStr | None) -> ProviderError:
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
    """Map httpx's exceptions to the provider tree. `receiving` says whether the reply body
    was being read: a connection lost there is a broken reply, before it a transient fault."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(name, f"timed out ({type(exc).__name__})") from exc
    except httpx_sse.SSEError as exc:
        raise ProviderBadReply(name, f"not an event stream ({exc})") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if receiving:
            raise ProviderBadReply(name, f"reply broke off ({type(exc).__name__})") from exc
        raise ProviderOverloaded(name, f"connection dropped ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise ProviderOverloaded(name, "unreachable (cannot connect)") from exc
    except httpx.TransportError as exc:
        raise ProviderOverloaded(name, f"transport failure ({type(exc).__name__})") from exc
    except httpx.DecodingError as exc:
        raise ProviderBadReply(name, "reply could not be decoded") from exc


def parse_json(name: str, raw: bytes | str) -> dict[str, Any]:
    """A JSON object or `ProviderBadReply`; garbage never reaches the parsers."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProviderBadReply(name, "malformed JSON in reply") from exc
    if not isinstance(data, dict):
        raise ProviderBadReply(name, "reply is not a JSON object")
    return data


class SseReader:
    """Server-sent events of a streaming reply, with transport errors mapped.

    After the provider's end marker (`[DONE]`, `message_stop`) the caller calls `finish()`
    and keeps iterating: the rest of the body (normally just the chunked terminator) is
    drained for at most `tail` seconds and dropped, so the connection goes back to the pool
    instead of being closed half-read, and a server that never closes cannot stall a turn.
    """

    def __init__(self, name: str, response: httpx.Response, *, tail: float = 0.25) -> None:
        self._name = name
        self._events = httpx_sse.EventSource(response).aiter_sse()
        self._tail = tail
        self._finished = False

    def finish(self) -> None:
        self._finished = True

    def __aiter__(self) -> SseReader:
        return self

    async def __anext__(self) -> httpx_sse.ServerSentEvent:
        if not self._finished:
            with mapped_errors(self._name, receiving=True):
                return await self._events.__anext__()
        try:
            async with asyncio.timeout(self._tail):
                async for _ in self._events:
                    pass
        except (TimeoutError, httpx.HTTPError, httpx_sse.SSEError):
            pass  # the reply is complete; only the connection's reuse is lost
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await self._events.aclose()


def build_client(*, timeout: float = 30.0) -> httpx.AsyncClient:
    """One pooled client per process, shared by every remote provider (keys travel in
    per-request headers, so sharing leaks nothing between providers)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        follow_redirects=False,
    )


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
