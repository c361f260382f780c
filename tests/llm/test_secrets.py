"""A key in the environment never reaches the logs, errors, events or cost rows."""

from __future__ import annotations

import logging

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, Recorder, compose, make_router, request

from sidecar.errors import ProviderError
from sidecar.llm.costs import MemoryLedger

WRONG_KEY = "sk-live-WRONGwrongWRONG-4242"


def fragments(key: str) -> list[str]:
    return [key, key[:8], key[-6:]]


async def test_keys_stay_out_of_logs_errors_and_events(
    openai_fake: FakeProvider, anthropic_fake: FakeProvider, ledger: MemoryLedger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's included
    toml = f"""
[router]
chain = ["main", "claude", "wrong"]
[limits]
retries = 1
backoff_base = 0.01
[providers.main]
kind = "openai"
base_url = "{openai_fake.base_url}"
model = "m"
api_key_env = "MAIN_KEY"
[providers.claude]
kind = "anthropic"
base_url = "{anthropic_fake.base_url}"
model = "claude-3-5-haiku-20241022"
api_key_env = "CLAUDE_KEY"
[providers.wrong]
kind = "openai"
base_url = "{openai_fake.base_url}"
model = "m"
api_key_env = "WRONG_KEY"
"""
    env = {"MAIN_KEY": TEST_KEY, "CLAUDE_KEY": TEST_KEY, "WRONG_KEY": WRONG_KEY}
    openai_fake.queue(
        Reply("status", status=429, headers={"Retry-After": "0"}),  # main: retried
        Reply("cut"),  # main: broken stream
        Reply("ok"),  # wrong: 401 before this is used
    )
    anthropic_fake.queue(Reply("status", status=529, error_type="overloaded_error"), Reply("malformed"))
    recorder = Recorder()
    async with make_router(toml, ledger, env=env) as router:
        routed = await router.stream(request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event)
        checks = await router.check()
        states = router.states()
    assert routed.embedded  # every link failed one way or another, including the 401 of "wrong"
    codes = [a.outcome for a in routed.attempts]
    assert codes == ["provider_bad_reply", "provider_bad_reply", "provider_auth", "ok"]
    assert any(c.code == "provider_auth" and "Incorrect API key" in c.message for c in checks)

    said = "\n".join(
        [
            caplog.text,
            *(str(r.__dict__) for r in caplog.records),
            repr(recorder.items),
            repr(routed),
            repr(checks),
            repr(states),
            repr(ledger.rows),
        ]
    )
    for key in (TEST_KEY, WRONG_KEY):
        for piece in fragments(key):
            assert piece not in said, f"{piece!r} leaked"
    assert "Incorrect API key" in said  # the provider's message itself survives, scrubbed


async def test_error_messages_never_carry_the_key(openai_fake: FakeProvider) -> None:
    from llm_support import spec_for

    from sidecar.llm._http import build_client, redact
    from sidecar.llm.openai_compat import OpenAICompatProvider

    async with build_client() as client:
        with pytest.raises(ProviderError) as info:
            await OpenAICompatProvider(spec_for(openai_fake.base_url, key=WRONG_KEY), client).complete(request())
    text = f"{info.value} {info.value.details} {info.value.reason}"
    assert all(piece not in text for piece in fragments(WRONG_KEY))
    assert redact(f"bad key {TEST_KEY}.", None) == "bad key [redacted]"
