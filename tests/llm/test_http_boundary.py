"""The httpx boundary: Retry-After parsing and key scrubbing."""

from __future__ import annotations

import email.utils

import httpx
from pydantic import SecretStr

from sidecar.llm._http import parse_retry_after, redact


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "12"}), now) == 12.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"}), now) == 1.5
    date = email.utils.formatdate(now + 40, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now) == 40.0
    past = email.utils.formatdate(now - 40, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past}), now) == 0.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"}), now) is None
    assert parse_retry_after(httpx.Headers({}), now) is None


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
