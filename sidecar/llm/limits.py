"""Small timing machinery for the router: a clock seam, jittered backoff, token buckets and
a circuit breaker.

Written here rather than taken from aiolimiter/pybreaker because the router needs answers
those do not give: *how long* until a slot frees (to decide between waiting briefly and moving
to the next provider), token debts settled after the fact (a reply's real usage is known only
at its end), a breaker that can be told "cool down for exactly Retry-After seconds", and one
injectable clock for all of them.
"""

from __future__ import annotations

import asyncio
import random
import time as _time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Unix time (cost rows, budget days)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return _time.monotonic()

    def time(self) -> float:
        return _time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """ "Equal jitter" exponential backoff: half the step fixed, half random, so retries from
    many NPCs do not arrive in lockstep yet never retry immediately."""
    step = min(cap, base * 2.0**attempt)
    return step / 2 + rng.uniform(0, step / 2)


class TokenBucket:
    """`rate` units per minute, bursting up to one minute's worth. `reserve` takes the units
    at once (the level may go negative) and says how long the caller must wait for them, so
    concurrent turns queue fairly without a lock; `refund` gives them back when the caller
    decides not to wait."""

    def __init__(self, per_minute: float, clock: Clock) -> None:
        self.capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._level = self.capacity
        self._clock = clock
        self._stamp = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self._rate)
        self._stamp = now

    def reserve(self, amount: float) -> float:
        """Take `amount` (clamped to the capacity, so one big request cannot wait forever);
        return the seconds until the level is back to zero."""
        self._refill()
        self._level -= min(amount, self.capacity)
        return 0.0 if self._level >= 0 else -self._level / self._rate

    def refund(self, amount: float) -> None:
        self._refill()
        self._level = min(self.capacity, self._level + min(amount, self.capacity))

    def settle(self, delta: float) -> None:
        """Charge (positive) or credit (negative) the difference between an estimate and
        the real usage."""
        self._refill()
        self._level = min(self.capacity, self._level - delta)

    @property
    def level(self) -> float:
        self._refill()
        return self._level


@dataclass
class BreakerState:
    state: str
    """`closed`, `open` or `half_open`."""
    failures: int
    retry_in: float


class CircuitBreaker:
    """Opens after `threshold` consecutive failures and stays open for a cooldown that
    doubles on each re-open (capped); then lets one trial call through (half-open): success
    closes it, failure re-opens it."""

    def __init__(self, clock: Clock, *, threshold: int, cooldown: float, max_cooldown: float) -> None:
        self._clock = clock
        self._threshold = threshold
        self._base = cooldown
        self._max = max_cooldown
        self._failures = 0
        self._opens = 0
        self._until: float | None = None
        self._trial = False

    def allow(self) -> bool:
        if self._until is None:
            return True
        if self._clock.monotonic() < self._until or self._trial:
            return False
        self._trial = True  # half-open: exactly one caller gets through
        return True

    def success(self) -> None:
        self._failures = 0
        self._opens = 0
        self._until = None
        self._trial = False

    def failure(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opens += 1
            self._open_for(min(self._max, self._base * 2.0 ** (self._opens - 1)))

    def cool_down(self, seconds: float) -> None:
        """Stay open for at least `seconds` (a long Retry-After)."""
        self._open_for(max(seconds, self.retry_in))

    def _open_for(self, seconds: float) -> None:
        self._until = self._clock.monotonic() + seconds
        self._trial = False

    def abandon_trial(self) -> None:
        """The half-open trial never reached the provider (e.g. skipped by a budget)."""
        self._trial = False

    @property
    def retry_in(self) -> float:
        if self._until is None:
            return 0.0
        return max(0.0, self._until - self._clock.monotonic())

    @property
    def snapshot(self) -> BreakerState:
        if self._until is None:
            return BreakerState("closed", self._failures, 0.0)
        state = "open" if self.retry_in > 0 or self._trial else "half_open"
        return BreakerState(state, self._failures, self.retry_in)


__all__ = ["BreakerState", "CircuitBreaker", "Clock", "SystemClock", "TokenBucket", "backoff_delay"]
