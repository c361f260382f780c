"""The router against loopback providers: who answers, what the game is told, what it costs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import EMBEDDED_LINE, TEST_KEY, FakeClock, Recorder, compose, make_router, request

from sidecar.errors import ProviderUnavailable
from sidecar.llm import ChatReply, ChatRequest
from sidecar.llm.costs import MemoryLedger
from sidecar.llm.limits import SystemClock
from sidecar.llm.prompt import StreamCleaner

ENV = {"MAIN_KEY": TEST_KEY, "BACKUP_KEY": TEST_KEY}


def two_links(
    main: FakeProvider,
    backup: FakeProvider,
    *,
    limits: str = "",
    main_extra: str = "",
    backup_extra: str = "",
    budgets: str = "",
) -> str:
    main_kind = main.dialect
    backup_kind = backup.dialect
    return f"""
[router]
chain = ["main", "backup"]
[limits]
backoff_base = 0.5
{limits if "retries" in limits else "retries = 0" + chr(10) + limits}
[budgets]
{budgets}
[providers.main]
kind = "{main_kind}"
base_url = "{main.base_url}"
model = "main-model"
api_key_env = "MAIN_KEY"
{main_extra}
[providers.main.price]
input = 1.0
output = 2.0
[providers.backup]
kind = "{backup_kind}"
base_url = "{backup.base_url}"
model = "backup-model"
api_key_env = "BACKUP_KEY"
{backup_extra}
[providers.backup.price]
input = 0.5
output = 0.5
"""


async def test_first_link_answers_and_its_cost_is_recorded(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=ENV, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert routed.provider == "main" and routed.provider_kind == "openai" and not routed.embedded
    assert routed.reply.text == "Well met, traveller."
    assert routed.fallbacks == () and recorder.items == []
    assert openai_fake2.calls == 0
    [row] = ledger.rows
    assert (row.provider, row.model, row.conversation, row.persona) == ("main", "main-model", "c1", "bjorn")
    assert (row.input_tokens, row.output_tokens, row.estimated) == (42, 7, False)
    assert row.usd == pytest.approx((42 * 1.0 + 7 * 2.0) / 1e6)
    assert routed.usd == pytest.approx(row.usd)


async def test_429_is_retried_after_retry_after_on_the_same_provider(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.queue(Reply("status", status=429, headers={"Retry-After": "2"}))
    toml = two_links(openai_fake, openai_fake2, limits="retries = 2")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert routed.provider == "main"
    assert routed.attempts[0].tries == 2
    assert recorder.events("provider.fallback") == []
    assert openai_fake.calls == 2 and openai_fake2.calls == 0
    assert 2.0 <= sum(clock.slept) <= 3.0  # honoured Retry-After, plus a little jitter


async def test_retry_after_longer_than_the_turn_can_wait_falls_through_and_cools_down(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.queue(Reply("status", status=429, headers={"Retry-After": "120"}))
    toml = two_links(openai_fake, openai_fake2, limits="retries = 3")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        first = await router.complete(request(), embedded=compose, on_event=recorder.event)
        second = await router.complete(request(), embedded=compose, on_event=recorder.event)
        assert [s.state for s in router.states()][:1] == ["cooling"]
        clock.now += 121
        third = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert (first.provider, second.provider, third.provider) == ("backup", "backup", "main")
    fallbacks = recorder.events("provider.fallback")
    assert fallbacks[0]["from"] == "main" and fallbacks[0]["to"] == "backup"
    assert fallbacks[0]["code"] == "provider_rate_limited" and "Retry-After 120s" in fallbacks[0]["reason"]
    assert fallbacks[1]["code"] == "cooling_down"
    assert openai_fake.calls == 2  # once for the 429, once after the cooldown; never while cooling
    assert sum(clock.slept) == 0  # nothing waited inside a turn


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply("status", status=500), "provider_overloaded"),
        (Reply("status", status=529, error_type="overloaded_error"), "provider_overloaded"),
        (Reply("malformed"), "provider_bad_reply"),
        (Reply("empty"), "provider_bad_reply"),
        (Reply("refusal"), "provider_refused"),
        (Reply("filter"), "provider_refused"),
        (Reply("status", status=400, error_message="bad param"), "provider_error"),
    ],
)
async def test_each_failure_falls_to_the_next_provider_with_its_reason(
    openai_fake: FakeProvider,
    openai_fake2: FakeProvider,
    ledger: MemoryLedger,
    recorder: Recorder,
    clock: FakeClock,
    reply: Reply,
    code: str,
) -> None:
    openai_fake.default = reply
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=ENV, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert routed.provider == "backup"
    [event] = recorder.events("provider.fallback")
    assert (event["from"], event["to"], event["code"]) == ("main", "backup", code)
    assert event["reason"]
    assert [a.outcome for a in routed.attempts] == [code, "ok"]
    assert [r.provider for r in ledger.rows] == ["backup"]  # failed calls cost nothing here


async def test_transient_failures_back_off_with_growing_jittered_delays(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, clock: FakeClock
) -> None:
    openai_fake.queue(Reply("status", status=503), Reply("status", status=503))
    toml = two_links(openai_fake, openai_fake2, limits="retries = 2\nbreaker_failures = 5")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose)
    assert routed.provider == "main" and routed.attempts[0].tries == 3
    first, second = clock.slept
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0


async def test_an_anthropic_529_falls_back_to_an_openai_compatible_provider(
    anthropic_fake: FakeProvider, openai_fake: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    anthropic_fake.default = Reply("status", status=529, error_type="overloaded_error", error_message="Overloaded")
    async with make_router(two_links(anthropic_fake, openai_fake), ledger, env=ENV, clock=clock) as router:
        routed = await router.stream(request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event)
    assert routed.provider == "backup"
    assert recorder.events("provider.fallback")[0]["code"] == "provider_overloaded"
    assert recorder.text_since_reset() == routed.reply.text == "Well met, traveller."


async def test_a_hang_past_the_timeout_falls_through(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder
) -> None:
    openai_fake.default = Reply("hang")
    toml = two_links(
        openai_fake, openai_fake2, limits="retries = 2", main_extra="[providers.main.limits]\ntimeout = 0.3"
    )
    async with make_router(toml, ledger, env=ENV, clock=SystemClock()) as router:
        routed = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert routed.provider == "backup"
    assert openai_fake.calls == 1  # a timeout is not retried on the same provider within the turn
    [event] = recorder.events("provider.fallback")
    assert event["code"] == "provider_timeout" and "0.3s" in event["reason"]


async def test_the_turn_deadline_hands_the_line_to_the_embedded_engine(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder
) -> None:
    openai_fake.default = Reply("hang")
    toml = two_links(openai_fake, openai_fake2, limits="deadline = 0.4\ntimeout = 30")
    async with make_router(toml, ledger, env=ENV, clock=SystemClock()) as router:
        routed = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert routed.embedded and routed.provider == "embedded" and routed.reply.text == EMBEDDED_LINE
    assert openai_fake2.calls == 0
    [event] = recorder.events("provider.fallback")
    assert (event["from"], event["to"], event["reason"]) == ("main", "embedded", "turn deadline reached")


async def test_a_stream_broken_half_way_is_reset_then_the_next_provider_streams(
    openai_fake: FakeProvider, anthropic_fake: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.default = Reply("cut", text="I shall tell you about the", cut_after=3)
    async with make_router(two_links(openai_fake, anthropic_fake), ledger, env=ENV, clock=clock) as router:
        routed = await router.stream(request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event)
    names = [n for n, _ in recorder.items]
    assert names == ["line.delta"] * 3 + ["line.reset", "provider.fallback"] + ["line.delta"] * 3
    reset = recorder.events("line.reset")[0]
    assert reset["provider"] == "main" and "broke off" in reset["reason"]
    assert routed.provider == "backup"
    assert recorder.text_since_reset() == routed.reply.text == "Well met, traveller."
    assert [r.provider for r in ledger.rows] == ["backup"]


async def test_a_bad_key_marks_the_provider_unusable_and_says_so_once(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    env = {"MAIN_KEY": "sk-live-wrongkey-9876543210", "BACKUP_KEY": TEST_KEY}
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=env, clock=clock) as router:
        first = await router.complete(request(), embedded=compose, on_event=recorder.event)
        second = await router.complete(request(), embedded=compose, on_event=recorder.event)
        states = {s.name: s for s in router.states()}
    assert first.provider == second.provider == "backup"
    assert openai_fake.calls == 1  # never retried, never tried again
    [event] = recorder.events("provider.fallback")
    assert event["code"] == "provider_auth" and "API key" in event["reason"]
    assert states["main"].state == "unusable" and "API key" in states["main"].reason
    assert states["backup"].state == "ready" and states["embedded"].state == "embedded"


async def test_no_keys_at_all_falls_to_the_embedded_engine_and_says_so_once(
    ledger: MemoryLedger, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    toml = """
[router]
chain = ["main", "backup"]
[providers.main]
preset = "groq"
[providers.backup]
preset = "anthropic"
"""
    caplog.set_level(logging.WARNING)
    async with make_router(toml, ledger, env={}) as router:
        turns = [await router.complete(request(), embedded=compose, on_event=recorder.event) for _ in range(3)]
    assert all(t.embedded and t.reply.text == EMBEDDED_LINE for t in turns)
    warnings = [r for r in caplog.records if "no provider in the chain can run" in r.getMessage()]
    assert len(warnings) == 1
    assert "GROQ_API_KEY" in " ".join(warnings[0].reasons)  # type: ignore[attr-defined]
    events = recorder.events("provider.fallback")
    assert [(e["from"], e["to"]) for e in events] == [("main", "backup"), ("backup", "embedded")]
    assert "GROQ_API_KEY" in events[0]["reason"] and "ANTHROPIC_API_KEY" in events[1]["reason"]


async def test_the_circuit_breaker_cools_a_failing_provider_and_retries_it_later(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.queue(Reply("status", status=500), Reply("status", status=500))
    toml = two_links(openai_fake, openai_fake2, limits="breaker_failures = 2\nbreaker_cooldown = 30")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        providers = [(await router.complete(request(), embedded=compose)).provider for _ in range(4)]
        assert openai_fake.calls == 2
        clock.now += 31
        after = await router.complete(request(), embedded=compose)
    assert providers == ["backup"] * 4
    assert after.provider == "main" and openai_fake.calls == 3


async def test_client_side_rate_limit_moves_on_instead_of_earning_a_429(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    toml = two_links(openai_fake, openai_fake2, main_extra="[providers.main.limits]\nrequests_per_minute = 1")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        first = await router.complete(request(), embedded=compose, on_event=recorder.event)
        second = await router.complete(request(), embedded=compose, on_event=recorder.event)
        clock.now += 60
        third = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert (first.provider, second.provider, third.provider) == ("main", "backup", "main")
    [event] = recorder.events("provider.fallback")
    assert "client-side rate limit" in event["reason"]
    assert openai_fake.calls == 2


async def test_a_short_rate_limit_wait_is_waited_out(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, clock: FakeClock
) -> None:
    toml = two_links(
        openai_fake,
        openai_fake2,
        limits="max_queue_wait = 5",
        main_extra="[providers.main.limits]\nrequests_per_minute = 30",
    )
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        providers = [(await router.complete(request(), embedded=compose)).provider for _ in range(31)]
    assert providers == ["main"] * 31
    assert sum(clock.slept) == pytest.approx(2.0)  # the 31st request waited for one slot


async def test_the_daily_budget_skips_paid_providers_for_a_free_one(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    toml = two_links(openai_fake, openai_fake2, budgets="per_day_usd = 0.00005", backup_extra="local = true")
    toml = toml.replace("[providers.backup.price]\ninput = 0.5\noutput = 0.5", "")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        first = await router.complete(request(), embedded=compose, on_event=recorder.event)
        second = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert (first.provider, second.provider) == ("main", "backup")
    [event] = recorder.events("provider.fallback")
    assert event["code"] == "budget_exceeded" and "daily budget" in event["reason"]
    assert [r.usd > 0 for r in ledger.rows] == [True, False]


async def test_the_conversation_budget_is_per_conversation(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, clock: FakeClock
) -> None:
    toml = two_links(openai_fake, openai_fake2, budgets="per_conversation_usd = 0.00005")
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        a1 = await router.complete(request(conversation="a"), embedded=compose)
        a2 = await router.complete(request(conversation="a"), embedded=compose)
        b1 = await router.complete(request(conversation="b"), embedded=compose)
    # backup is paid too, so conversation "a" ends on the embedded engine once over budget
    assert (a1.provider, a2.provider, b1.provider) == ("main", "embedded", "main")


async def test_usage_is_estimated_and_marked_only_when_the_provider_gives_none(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.default = Reply("no_usage")
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=ENV, clock=clock) as router:
        await router.complete(request(), embedded=compose)
        await router.stream(request(), embedded=compose, on_delta=recorder.delta)
    assert [r.estimated for r in ledger.rows] == [True, True]
    assert all(r.output_tokens > 0 and r.usd > 0 for r in ledger.rows)


async def test_preset_prices_come_from_the_table(
    openai_fake: FakeProvider, ledger: MemoryLedger, clock: FakeClock
) -> None:
    toml = f"""
[router]
chain = ["groq"]
[providers.groq]
preset = "groq"
base_url = "{openai_fake.base_url}"
"""
    async with make_router(toml, ledger, env={"GROQ_API_KEY": TEST_KEY}, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose)
    [row] = ledger.rows
    assert openai_fake.received[0].body["model"] == "llama-3.1-70b-versatile"
    assert row.priced and row.usd == pytest.approx((42 * 0.59 + 7 * 0.79) / 1e6)
    assert routed.usd == row.usd


async def test_unpriced_models_are_recorded_at_zero_and_logged_once(
    openai_fake: FakeProvider, ledger: MemoryLedger, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    toml = f"""
[router]
chain = ["x"]
[providers.x]
kind = "openai"
base_url = "{openai_fake.base_url}"
model = "mystery-model"
api_key_env = "K"
"""
    caplog.set_level(logging.WARNING)
    async with make_router(toml, ledger, env={"K": TEST_KEY}, clock=clock) as router:
        for _ in range(2):
            await router.complete(request(), embedded=compose)
    assert [(r.priced, r.usd) for r in ledger.rows] == [(False, 0.0), (False, 0.0)]
    assert len([r for r in caplog.records if "no price known" in r.getMessage()]) == 1


async def test_cancelling_the_turn_propagates_and_records_nothing(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder
) -> None:
    openai_fake.default = Reply("hang")
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=ENV, clock=SystemClock()) as router:
        task = asyncio.create_task(
            router.stream(request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event)
        )
        await openai_fake.arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert recorder.items == [] and ledger.rows == [] and openai_fake2.calls == 0


async def test_an_explicit_embedded_link_ends_the_chain(
    openai_fake: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.default = Reply("status", status=500)
    toml = f"""
[router]
chain = ["main", "offline"]
[limits]
retries = 0
[providers.main]
kind = "openai"
base_url = "{openai_fake.base_url}"
model = "m"
api_key_env = "K"
[providers.offline]
kind = "embedded"
"""
    async with make_router(toml, ledger, env={"K": TEST_KEY}, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose, on_event=recorder.event)
    assert routed.provider == "offline" and routed.embedded
    assert recorder.events("provider.fallback")[0]["to"] == "offline"


async def test_when_even_the_embedded_engine_fails_the_error_is_typed(ledger: MemoryLedger) -> None:
    async def broken(req: ChatRequest) -> ChatReply:
        raise RuntimeError("engine bug")

    async with make_router("", ledger) as router:
        with pytest.raises(ProviderUnavailable):
            await router.complete(request(), embedded=broken)


async def test_a_chain_of_only_the_embedded_engine_streams_its_line(ledger: MemoryLedger, recorder: Recorder) -> None:
    async with make_router("", ledger) as router:
        routed = await router.stream(request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event)
    assert routed.embedded and recorder.items == [("line.delta", EMBEDDED_LINE)]
    assert [(r.provider, r.usd) for r in ledger.rows] == [("embedded", 0.0)]


async def test_providers_check_reports_latency_or_the_exact_error(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, clock: FakeClock
) -> None:
    env = {"MAIN_KEY": TEST_KEY, "BACKUP_KEY": "sk-bad-000000000000"}
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=env, clock=clock) as router:
        results = {r.provider: r for r in await router.check()}
    assert results["main"].ok and results["main"].usage == (42, 7)
    assert not results["backup"].ok and results["backup"].code == "provider_auth"
    assert "Incorrect API key" in results["backup"].message
    assert openai_fake.received[0].body["max_tokens"] == 5
    assert [r.purpose for r in ledger.rows] == ["check"]


async def test_a_failing_ledger_does_not_silence_the_npc(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(MemoryLedger):
        async def record(self, row):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

    caplog.set_level(logging.ERROR)
    async with make_router(two_links(openai_fake, openai_fake2), Broken(), env=ENV, clock=clock) as router:
        routed = await router.complete(request(), embedded=compose)
    assert routed.provider == "main"
    assert any("cost row not recorded" in r.getMessage() for r in caplog.records)


def test_recorder_helper_follows_resets() -> None:
    r = Recorder()
    r.items = [("line.delta", "a"), ("line.reset", {}), ("line.delta", "b")]
    assert r.text_since_reset() == "b"


def test_fake_clock_is_monotonic() -> None:
    c = FakeClock()
    before = c.monotonic()
    asyncio.run(c.sleep(1.5))
    assert c.monotonic() == before + 1.5


def bjorn_cleaner() -> StreamCleaner:
    return StreamCleaner(["Bjorn"], "Ana")


async def test_a_cleaner_shapes_streamed_text_and_the_stored_line_alike(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.default = Reply(text='Bjorn: "Aye, the forge is hot." Ana: I will buy a sword.')
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=ENV, clock=clock) as router:
        routed = await router.stream(
            request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event, cleaner=bjorn_cleaner
        )
        whole = await router.complete(request(), embedded=compose, cleaner=bjorn_cleaner)
    assert routed.provider == "main" and routed.reply.text == "Aye, the forge is hot."
    assert recorder.text_since_reset() == routed.reply.text
    assert whole.reply.text == routed.reply.text


async def test_a_reply_that_only_speaks_for_the_player_falls_through(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, recorder: Recorder, clock: FakeClock
) -> None:
    openai_fake.default = Reply(text="Ana: I will buy the sword, then.")
    async with make_router(two_links(openai_fake, openai_fake2), ledger, env=ENV, clock=clock) as router:
        routed = await router.stream(
            request(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event, cleaner=bjorn_cleaner
        )
    assert routed.provider == "backup" and routed.reply.text == "Well met, traveller."
    assert recorder.events("line.reset") == []  # nothing of main's reply was ever shown
    [event] = recorder.events("provider.fallback")
    assert event["code"] == "provider_bad_reply" and "after cleaning" in event["reason"]


async def test_a_half_open_trial_stopped_by_the_rate_limit_does_not_jam_the_breaker(
    openai_fake: FakeProvider, openai_fake2: FakeProvider, ledger: MemoryLedger, clock: FakeClock
) -> None:
    openai_fake.queue(Reply("status", status=500))
    toml = two_links(
        openai_fake,
        openai_fake2,
        limits="breaker_failures = 1\nbreaker_cooldown = 10",
        main_extra="[providers.main.limits]\nrequests_per_minute = 1",
    )
    async with make_router(toml, ledger, env=ENV, clock=clock) as router:
        assert (await router.complete(request(), embedded=compose)).provider == "backup"  # 500: breaker opens
        clock.now += 11  # cooldown over, but the one request/min slot is still taken
        assert (await router.complete(request(), embedded=compose)).provider == "backup"
        clock.now += 60
        assert (await router.complete(request(), embedded=compose)).provider == "main"
