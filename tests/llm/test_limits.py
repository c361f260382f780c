"""Token buckets, the circuit breaker and backoff, on virtual time."""

from __future__ import annotations

import random

from llm_support import FakeClock

from sidecar.llm.limits import CircuitBreaker, TokenBucket, backoff_delay


def test_bucket_bursts_one_minute_then_paces() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, clock)
    assert [bucket.reserve(1) for _ in range(60)] == [0.0] * 60
    assert bucket.reserve(1) == 1.0  # one per second after the burst
    bucket.refund(1)
    clock.now += 0.5
    assert bucket.reserve(1) == 0.5


def test_bucket_settles_real_usage_after_the_fact() -> None:
    clock = FakeClock()
    bucket = TokenBucket(600, clock)
    assert bucket.reserve(500) == 0.0
    bucket.settle(300)  # the reply used 300 more than estimated
    assert bucket.level == -200
    assert bucket.reserve(100) == 30.0  # 300 tokens short at 10/s


def test_a_request_larger_than_the_bucket_does_not_wait_forever() -> None:
    bucket = TokenBucket(100, FakeClock())
    assert bucket.reserve(10_000) == 0.0


def test_breaker_opens_after_threshold_doubles_its_cooldown_and_half_opens_once() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock, threshold=2, cooldown=10, max_cooldown=25)
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow() and breaker.snapshot.state == "open"
    clock.now += 10
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # nobody else while it runs
    breaker.failure()  # trial failed: re-open for twice as long
    clock.now += 19
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()
    breaker.failure()
    assert breaker.retry_in == 25  # capped
    clock.now += 25
    assert breaker.allow()
    breaker.success()
    assert breaker.snapshot.state == "closed" and breaker.allow() and breaker.allow()


def test_breaker_honours_a_long_retry_after() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock, threshold=5, cooldown=10, max_cooldown=60)
    breaker.cool_down(300)
    assert not breaker.allow() and breaker.retry_in == 300


def test_backoff_grows_is_jittered_and_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base=0.5, cap=4.0, rng=rng) for n in range(6)]
    for n, d in enumerate(delays):
        step = min(4.0, 0.5 * 2**n)
        assert step / 2 <= d <= step
    assert len(set(delays)) == len(delays)
