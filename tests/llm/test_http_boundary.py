"""The HTTP boundary: Retry-After parsing and key scrubbing."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict
from pydantic import SecretStr

from sidecar.llm._http import HttpClient, ServerSentEvent, _SseDecoder, parse_retry_after, redact, split_lines


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(CIMultiDict({"Retry-After": "12"}), now) == 12.0
    assert parse_retry_after(CIMultiDict({"retry-after-ms": "1500", "Retry-After": "9"}), now) == 1.5
    date = email.utils.formatdate(now + 40, usegmt=True)
    assert parse_retry_after(CIMultiDict({"Retry-After": date}), now) == 40.0
    past = email.utils.formatdate(now - 40, usegmt=True)
    assert parse_retry_after(CIMultiDict({"Retry-After": past}), now) == 0.0
    assert parse_retry_after(CIMultiDict({"Retry-After": "soon"}), now) is None
    assert parse_retry_after(CIMultiDict({}), now) is None


def test_redact_removes_the_key_its_masked_echoes_and_key_shapes() -> None:
    key = SecretStr("sk-proj-AbCdEf0123456789wxyz")
    text = (
        "Incorrect API key provided: sk-proj-********wxyz. Also sk-proj-AbCdEf0123456789wxyz and "
        "gsk_otherkey1234567 appear."
    )
    out = redact(text, key)
    assert "wxyz" not in out and "AbCdEf" not in out and "gsk_other" not in out
    assert out.startswith("Incorrect API key provided: [redacted]")
    assert redact("nothing secret here", key) == "nothing secret here"


def test_event_stream_decoding_follows_the_format() -> None:
    decoder = _SseDecoder()
    lines = [": a comment", "event: delta", "data: one", "data:two", "id: 7", "retry: 1500", "", "", "data: x", ""]
    events = [e for e in map(decoder.decode, lines) if e is not None]
    assert events == [ServerSentEvent("delta", "one\ntwo", "7", 1500), ServerSentEvent("message", "x", "7", None)]


async def test_stream_lines_split_on_every_line_ending_across_chunk_boundaries() -> None:
    """LF, CRLF and a lone CR end a line, also when a CRLF or a UTF-8 character is cut between
    two chunks; an unterminated last line is kept."""

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"data: a\r", b"\ndata: b\r\rdata: \xc3", b"\xa9t\xc3\xa9\n", b"\ndata: end"):
            yield chunk

    assert [line async for line in split_lines(chunks())] == ["data: a", "data: b", "", "data: été", "", "data: end"]


def test_proxy_comes_from_the_environment_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = HttpClient()
    assert client._proxy("https://api.example.com/v1/chat") == "http://proxy.example:3128"
    assert client._proxy("https://127.0.0.1:8080/v1/chat") is None
    assert client._proxy("http://api.example.com/v1/chat") is None  # no HTTP_PROXY set
    monkeypatch.delenv("HTTPS_PROXY")
    assert client._proxy("https://api.example.com/v1/chat") == "http://proxy.example:3128"  # read once
