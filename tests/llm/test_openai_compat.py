"""The OpenAI-compatible provider against a loopback server speaking chat completions."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, request, spec_for

from sidecar.errors import (
    ProviderAuth,
    ProviderBadReply,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderRefused,
)
from sidecar.llm import ChatReply, Delta
from sidecar.llm._http import HttpClient, build_client
from sidecar.llm.openai_compat import OpenAICompatProvider


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = build_client(timeout=5.0)
    yield c
    await c.aclose()


def provider(fake: FakeProvider, client: HttpClient, **over: Any) -> OpenAICompatProvider:
    return OpenAICompatProvider(spec_for(fake.base_url, **over), client)


async def collect(p: OpenAICompatProvider, **kw: Any) -> tuple[list[str], ChatReply]:
    deltas: list[str] = []
    final: ChatReply | None = None
    async for item in p.stream(request(**kw)):
        if isinstance(item, Delta):
            deltas.append(item.text)
        else:
            final = item
    assert final is not None
    return deltas, final


async def test_complete_sends_the_chat_completions_shape_and_reads_usage(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    reply = await provider(openai_fake, client).complete(request(frequency_penalty=0.7, stop=("\nAna:",)))
    assert reply.text == "Well met, traveller."
    assert reply.finish_reason == "stop"
    assert (reply.usage.input_tokens, reply.usage.output_tokens, reply.usage.estimated) == (42, 7, False)
    sent = openai_fake.received[0]
    assert sent.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert sent.body["messages"][0] == {"role": "system", "content": "You are Bjorn, the village blacksmith."}
    assert sent.body["messages"][1]["role"] == "user"
    assert sent.body["frequency_penalty"] == 0.7
    assert sent.body["stop"] == ["\nAna:"]
    assert "stream" not in sent.body


async def test_frequency_penalty_is_dropped_where_the_api_lacks_it(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    await provider(openai_fake, client, frequency_penalty=False).complete(request(frequency_penalty=0.7))
    assert "frequency_penalty" not in openai_fake.received[0].body


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "json_schema",
            {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object"}, "strict": False}},
        ),
        ("json_object_schema", {"type": "json_object", "schema": {"type": "object"}}),
        ("json_object", {"type": "json_object"}),
        ("prompt", None),
    ],
)
async def test_structured_output_follows_the_preset_mode(
    openai_fake: FakeProvider, client: HttpClient, mode: str, expected: dict[str, Any] | None
) -> None:
    openai_fake.default = Reply(text='{"options": ["Hi", "Bye"]}')
    reply = await provider(openai_fake, client, json=mode).complete(request(json_schema={"type": "object"}))
    assert reply.text == '{"options": ["Hi", "Bye"]}'
    body = openai_fake.received[0].body
    assert body.get("response_format") == expected
    in_prompt = "JSON Schema" in body["messages"][0]["content"]
    assert in_prompt == (mode in ("json_object", "prompt"))


async def test_structured_output_that_is_not_json_is_a_bad_reply(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    openai_fake.default = Reply(text="Sure! Here are some options: hi, bye")
    with pytest.raises(ProviderBadReply, match="not valid JSON"):
        await provider(openai_fake, client).complete(request(json_schema={"type": "object"}))


async def test_stream_yields_deltas_then_a_reply_with_the_servers_usage(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    deltas, final = await collect(provider(openai_fake, client))
    assert deltas == ["Well", " met,", " traveller."]
    assert final.text == "".join(deltas)
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.estimated) == (42, 7, False)
    body = openai_fake.received[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_stream_without_usage_estimates_and_says_so(openai_fake: FakeProvider, client: HttpClient) -> None:
    deltas, final = await collect(provider(openai_fake, client, stream_usage=False))
    assert "stream_options" not in openai_fake.received[0].body
    assert final.usage.estimated and final.usage.output_tokens > 0 and final.usage.input_tokens > 0


async def test_max_tokens_field_follows_the_preset(openai_fake: FakeProvider, client: HttpClient) -> None:
    await provider(openai_fake, client, max_tokens_field="max_completion_tokens").complete(request(max_tokens=33))
    body = openai_fake.received[0].body
    assert body["max_completion_tokens"] == 33 and "max_tokens" not in body


async def test_finish_reason_length_is_kept(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.default = Reply(finish="length")
    assert (await provider(openai_fake, client).complete(request())).finish_reason == "length"
    _, final = await collect(provider(openai_fake, client))
    assert final.finish_reason == "length"


async def test_429_carries_retry_after_seconds(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.queue(
        Reply(
            "status",
            status=429,
            headers={"Retry-After": "7"},
            error_type="requests",
            error_message="Rate limit reached for requests",
        )
    )
    with pytest.raises(ProviderRateLimited) as info:
        await provider(openai_fake, client).complete(request())
    assert info.value.retry_after == 7.0
    assert "Rate limit reached" in info.value.reason


async def test_429_carries_retry_after_as_http_date(openai_fake: FakeProvider, client: HttpClient) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    openai_fake.queue(Reply("status", status=429, headers={"Retry-After": when}))
    with pytest.raises(ProviderRateLimited) as info:
        await provider(openai_fake, client).complete(request())
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 31


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_server_errors_are_overloaded(openai_fake: FakeProvider, client: HttpClient, status: int) -> None:
    openai_fake.queue(Reply("status", status=status))
    with pytest.raises(ProviderOverloaded, match=f"HTTP {status}"):
        await provider(openai_fake, client).complete(request())


async def test_bad_key_is_auth_and_the_echoed_key_is_scrubbed(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    with pytest.raises(ProviderAuth) as info:
        await provider(openai_fake, client, key="sk-wrong-key-abcdefghij1234").complete(request())
    assert "1234" not in str(info.value) and "sk-" not in str(info.value)
    assert "Incorrect API key" in str(info.value)


async def test_unknown_model_404_is_auth_class(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.queue(Reply("status", status=404, error_message="The model `nope` does not exist"))
    with pytest.raises(ProviderAuth, match="unknown model"):
        await provider(openai_fake, client).complete(request())


async def test_rejected_request_is_a_plain_provider_error(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.queue(Reply("status", status=400, error_message="context length exceeded"))
    with pytest.raises(ProviderError, match="rejected the request") as info:
        await provider(openai_fake, client).complete(request())
    assert type(info.value) is ProviderError and not info.value.retryable


async def test_malformed_json_is_a_bad_reply(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.default = Reply("malformed")
    with pytest.raises(ProviderBadReply, match="malformed JSON"):
        await provider(openai_fake, client).complete(request())
    with pytest.raises(ProviderBadReply):
        await collect(provider(openai_fake, client))


async def test_empty_choices_is_a_bad_reply(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.default = Reply("empty")
    with pytest.raises(ProviderBadReply, match="no choices"):
        await provider(openai_fake, client).complete(request())
    with pytest.raises(ProviderBadReply, match="empty reply"):
        await collect(provider(openai_fake, client))


@pytest.mark.parametrize("mode", ["refusal", "filter"])
async def test_refusals_and_content_filter_are_refused(
    openai_fake: FakeProvider, client: HttpClient, mode: str
) -> None:
    openai_fake.default = Reply(mode)  # type: ignore[arg-type]
    with pytest.raises(ProviderRefused):
        await provider(openai_fake, client).complete(request())
    with pytest.raises(ProviderRefused):
        await collect(provider(openai_fake, client))


async def test_a_stream_cut_half_way_raises_after_the_deltas_it_sent(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    openai_fake.default = Reply("cut", text="one two three four", cut_after=2)
    got: list[str] = []
    with pytest.raises(ProviderBadReply, match="broke off"):
        async for item in provider(openai_fake, client).stream(request()):
            if isinstance(item, Delta):
                got.append(item.text)
    assert got == ["one", " two"]


async def test_an_error_object_inside_the_stream_is_classified(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    openai_fake.default = Reply("stream_error")
    with pytest.raises(ProviderOverloaded, match="upstream overloaded"):
        await collect(provider(openai_fake, client))


async def test_nothing_listening_is_a_transient_failure(client: HttpClient) -> None:
    with pytest.raises(ProviderOverloaded, match="unreachable"):
        await OpenAICompatProvider(spec_for("http://127.0.0.1:9/v1"), client).complete(request())


async def test_a_finished_stream_gives_its_connection_back_to_the_pool(
    openai_fake: FakeProvider, client: HttpClient
) -> None:
    for _ in range(3):
        await collect(provider(openai_fake, client))
    await provider(openai_fake, client).complete(request())
    assert len({r.peer for r in openai_fake.received}) == 1


async def test_payment_required_is_treated_like_a_bad_key(openai_fake: FakeProvider, client: HttpClient) -> None:
    openai_fake.queue(Reply("status", status=402, error_message="Insufficient credits"))
    with pytest.raises(ProviderAuth, match="out of credits"):
        await provider(openai_fake, client).complete(request())
