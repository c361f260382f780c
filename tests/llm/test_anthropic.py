"""The Anthropic provider against a loopback server speaking the Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, request, spec_for

from sidecar.errors import ProviderAuth, ProviderBadReply, ProviderOverloaded, ProviderRateLimited, ProviderRefused
from sidecar.llm import ChatMessage, ChatReply, ChatRequest, Delta
from sidecar.llm._http import HttpClient, build_client
from sidecar.llm.anthropic import API_VERSION, AnthropicProvider


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = build_client(timeout=5.0)
    yield c
    await c.aclose()


def provider(fake: FakeProvider, client: HttpClient, **over: Any) -> AnthropicProvider:
    return AnthropicProvider(
        spec_for(fake.base_url, kind="anthropic", json="prompt", frequency_penalty=False, **over), client
    )


async def collect(p: AnthropicProvider, req: ChatRequest | None = None) -> tuple[list[str], ChatReply]:
    deltas: list[str] = []
    final: ChatReply | None = None
    async for item in p.stream(req or request()):
        if isinstance(item, Delta):
            deltas.append(item.text)
        else:
            final = item
    assert final is not None
    return deltas, final


async def test_complete_puts_system_outside_and_sends_the_version_and_key(
    anthropic_fake: FakeProvider, client: HttpClient
) -> None:
    reply = await provider(anthropic_fake, client).complete(request(temperature=1.4, frequency_penalty=0.9))
    assert reply.text == "Well met, traveller."
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (42, 7)
    sent = anthropic_fake.received[0]
    assert sent.headers["x-api-key"] == TEST_KEY
    assert sent.headers["anthropic-version"] == API_VERSION
    assert sent.body["system"] == "You are Bjorn, the village blacksmith."
    assert all(m["role"] != "system" for m in sent.body["messages"])
    assert sent.body["temperature"] == 1.0  # clamped to the API's range
    assert "frequency_penalty" not in sent.body  # the fake rejects unknown fields like the API does


async def test_messages_are_normalised_to_alternate_and_open_with_the_user(
    anthropic_fake: FakeProvider, client: HttpClient
) -> None:
    req = ChatRequest(
        system="s",
        messages=(
            ChatMessage("assistant", "Welcome to the forge."),
            ChatMessage("user", "Hello."),
            ChatMessage("user", "Anyone here?"),
        ),
    )
    await provider(anthropic_fake, client).complete(req)
    roles = [m["role"] for m in anthropic_fake.received[0].body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert anthropic_fake.received[0].body["messages"][2]["content"] == "Hello.\nAnyone here?"


async def test_stream_reads_usage_from_message_start_and_message_delta(
    anthropic_fake: FakeProvider, client: HttpClient
) -> None:
    anthropic_fake.default = Reply(usage=(120, 33))
    deltas, final = await collect(provider(anthropic_fake, client))
    assert deltas == ["Well", " met,", " traveller."]
    assert final.text == "Well met, traveller."
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.estimated) == (120, 33, False)
    assert final.finish_reason == "stop"


async def test_max_tokens_stop_is_length(anthropic_fake: FakeProvider, client: HttpClient) -> None:
    anthropic_fake.default = Reply(finish="max_tokens")
    _, final = await collect(provider(anthropic_fake, client))
    assert final.finish_reason == "length"


async def test_refusal_stop_reason_is_refused(anthropic_fake: FakeProvider, client: HttpClient) -> None:
    anthropic_fake.default = Reply("refusal")
    with pytest.raises(ProviderRefused):
        await provider(anthropic_fake, client).complete(request())
    with pytest.raises(ProviderRefused):
        await collect(provider(anthropic_fake, client))


async def test_529_overloaded_and_429_with_retry_after(anthropic_fake: FakeProvider, client: HttpClient) -> None:
    anthropic_fake.queue(
        Reply("status", status=529, error_type="overloaded_error", error_message="Overloaded"),
        Reply("status", status=429, error_type="rate_limit_error", headers={"retry-after": "3"}),
    )
    with pytest.raises(ProviderOverloaded, match="overloaded_error"):
        await provider(anthropic_fake, client).complete(request())
    with pytest.raises(ProviderRateLimited) as info:
        await provider(anthropic_fake, client).complete(request())
    assert info.value.retry_after == 3.0


async def test_bad_key_is_auth(anthropic_fake: FakeProvider, client: HttpClient) -> None:
    with pytest.raises(ProviderAuth, match="authentication_error"):
        await provider(anthropic_fake, client, key="sk-ant-nope-0000000000").complete(request())


async def test_error_event_mid_stream_is_classified(anthropic_fake: FakeProvider, client: HttpClient) -> None:
    anthropic_fake.default = Reply("stream_error", cut_after=1)
    got: list[str] = []
    with pytest.raises(ProviderOverloaded, match="Overloaded"):
        async for item in provider(anthropic_fake, client).stream(request()):
            if isinstance(item, Delta):
                got.append(item.text)
    assert got == ["Well"]


async def test_cut_stream_and_garbage_are_bad_replies(anthropic_fake: FakeProvider, client: HttpClient) -> None:
    anthropic_fake.queue(Reply("cut", cut_after=1), Reply("malformed"), Reply("empty"))
    with pytest.raises(ProviderBadReply, match="broke off"):
        await collect(provider(anthropic_fake, client))
    with pytest.raises(ProviderBadReply):
        await collect(provider(anthropic_fake, client))
    with pytest.raises(ProviderBadReply, match="empty reply"):
        await collect(provider(anthropic_fake, client))


async def test_structured_output_is_asked_in_the_system_prompt(
    anthropic_fake: FakeProvider, client: HttpClient
) -> None:
    anthropic_fake.default = Reply(text='{"mood": "gruff"}')
    reply = await provider(anthropic_fake, client).complete(request(json_schema={"type": "object"}))
    assert reply.text == '{"mood": "gruff"}'
    assert "JSON Schema" in anthropic_fake.received[0].body["system"]
    assert "response_format" not in anthropic_fake.received[0].body


async def test_a_finished_stream_gives_its_connection_back_to_the_pool(
    anthropic_fake: FakeProvider, client: HttpClient
) -> None:
    for _ in range(3):
        await collect(provider(anthropic_fake, client))
    assert len({r.peer for r in anthropic_fake.received}) == 1
