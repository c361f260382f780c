"""The router: one request in, one line out, from the first provider in the chain that can
give it, and from the embedded engine when none can. An NPC never goes silent.

Per link of the chain:
- skipped, with a reason, when it has no key or a rejected key (said once), when its circuit
  breaker is open, or when it is paid and a budget is spent;
- tried up to `1 + retries` times: transient failures (429, 5xx/529, connection errors) back
  off with jitter, honouring Retry-After when it fits the turn's deadline; a timeout moves on
  at once (another full timeout on the same provider would rarely beat the next link);
  refusals, bad replies and rejected requests move straight on; 401/403/404 mark the
  provider unusable until the next config load.
Every move to the next link is a `provider.fallback` event `{"from", "to", "reason", "code"}`
and a WARNING log line; a stream that breaks after text went out is a `line.reset` event
first, so the game discards the partial line. Cancellation of the turn propagates
immediately (the provider's request is closed on the way out).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from sidecar.errors import (
    ProviderAuth,
    ProviderBadReply,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from sidecar.llm.costs import CostLedger, CostRow, start_of_local_day
from sidecar.llm.embedded import EMBEDDED, Compose, EmbeddedProvider
from sidecar.llm.limits import CircuitBreaker, Clock, SystemClock, TokenBucket, backoff_delay
from sidecar.llm.provider import Provider
from sidecar.llm.spec import LlmSettings, Price, ProviderSpec
from sidecar.llm.types import ChatMessage, ChatReply, ChatRequest, Delta, RequestTags, estimate_usage

if TYPE_CHECKING:
    from sidecar.llm._http import HttpClient

log = logging.getLogger(__name__)

EventSink = Callable[[str, Mapping[str, Any]], Awaitable[None]]
DeltaSink = Callable[[str], Awaitable[None]]


class TextFilter(Protocol):
    """Incremental reply cleaning (`prompt.StreamCleaner` fits): `feed` returns what may be
    shown now, `finish` the rest."""

    def feed(self, chunk: str) -> str: ...

    def finish(self) -> str: ...


Cleaner = Callable[[], TextFilter]

FALLBACK_EVENT = "provider.fallback"
RESET_EVENT = "line.reset"


def _usd(amount: float) -> str:
    return f"${amount:.2f}" if amount >= 1 else f"${amount:.4g}"


@dataclass(frozen=True)
class Attempt:
    """What happened at one link of the chain during one turn."""

    provider: str
    outcome: str
    """`ok`, `skipped`, or the error code that made the router leave this link."""
    reason: str = ""
    tries: int = 0
    """Calls actually sent to the provider (0 for a skipped link)."""


@dataclass(frozen=True)
class Fallback:
    source: str
    target: str
    code: str
    reason: str

    def to_event(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "reason": self.reason, "code": self.code}


@dataclass(frozen=True)
class Routed:
    reply: ChatReply
    provider: str
    """Config name of the provider whose line this is (`embedded` for the last link)."""
    attempts: tuple[Attempt, ...]
    fallbacks: tuple[Fallback, ...]
    usd: float = 0.0
    provider_kind: str = "embedded"
    """`openai`, `anthropic` or `embedded`."""

    @property
    def embedded(self) -> bool:
        """The line came from the embedded engine (the chain's last link)."""
        return self.provider_kind == "embedded"


@dataclass(frozen=True)
class ProviderState:
    """One link as `parley providers` shows it."""

    name: str
    kind: str
    model: str
    state: str
    """`ready`, `cooling` (breaker open), `unusable` (no or rejected key) or `embedded`."""
    reason: str = ""
    key_source: str | None = None
    price: Price | None = None
    paid: bool = False


@dataclass(frozen=True)
class CheckResult:
    provider: str
    ok: bool
    latency_s: float
    model: str = ""
    code: str = ""
    message: str = ""
    usage: tuple[int, int] = (0, 0)


@dataclass
class _Link:
    spec: ProviderSpec
    provider: Provider | None
    breaker: CircuitBreaker
    requests: TokenBucket | None
    tokens: TokenBucket | None
    unusable: str | None = None
    announced: bool = False
    unpriced_logged: bool = False


@dataclass
class _Turn:
    req: ChatRequest
    deadline_at: float
    on_event: EventSink | None
    on_delta: DeltaSink | None
    cleaner: Cleaner | None = None
    attempts: list[Attempt] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    leaving: tuple[str, str, str] | None = None
    """(from, code, reason) of the link just left, reported when the next one starts."""
    spent_today: float | None = None
    spent_conversation: float | None = None


class _Emitted:
    """Whether text of the current attempt already reached the game."""

    def __init__(self) -> None:
        self.any = False


class Router:
    """Routes requests through a chain of providers with the embedded engine last.

    `providers` maps config names to built providers; names of the chain missing from it are
    unusable (their spec's `key_problem` says why). Use `Router.from_settings` to build the
    providers (and the one shared HTTP client) from a config; `aclose()` closes that client.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        settings: LlmSettings,
        ledger: CostLedger,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        client: HttpClient | None = None,
    ) -> None:
        self._settings = settings
        self._ledger = ledger
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._client = client
        lim = settings.router
        self._links: dict[str, _Link] = {}
        for spec in settings.chain:
            self._links[spec.name] = _Link(
                spec=spec,
                provider=providers.get(spec.name),
                breaker=CircuitBreaker(
                    self._clock,
                    threshold=lim.breaker_failures,
                    cooldown=lim.breaker_cooldown,
                    max_cooldown=lim.breaker_max_cooldown,
                ),
                requests=TokenBucket(spec.limits.requests_per_minute, self._clock)
                if spec.limits.requests_per_minute
                else None,
                tokens=TokenBucket(spec.limits.tokens_per_minute, self._clock)
                if spec.limits.tokens_per_minute
                else None,
                unusable=spec.key_problem if spec.kind != "embedded" else None,
            )
            if spec.kind != "embedded" and spec.key_problem is None and spec.name not in providers:
                self._links[spec.name].unusable = "not built"
        self._announce_unusable()

    @classmethod
    def from_settings(
        cls,
        settings: LlmSettings,
        ledger: CostLedger,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> Router:
        """Build the chain's providers (importing aiohttp only if one is remote)."""
        from sidecar.llm.factory import build_providers

        providers, client = build_providers(settings)
        return cls(providers, settings, ledger, clock=clock, rng=rng, client=client)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- state --------------------------------------------------------------------------

    def _announce_unusable(self) -> None:
        remote = [link for link in self._links.values() if link.spec.kind != "embedded"]
        missing = [link for link in remote if link.unusable is not None]
        if remote and len(missing) == len(remote):
            log.warning(
                "no provider in the chain can run; every line will come from the embedded engine",
                extra={
                    "providers": [link.spec.name for link in missing],
                    "reasons": [f"{link.spec.name}: {link.unusable}" for link in missing],
                },
            )
        else:
            for link in missing:
                log.warning(
                    "provider unusable; the chain skips it", extra={"provider": link.spec.name, "reason": link.unusable}
                )

    def states(self) -> tuple[ProviderState, ...]:
        """Each link's state, embedded last (for `parley providers`)."""
        out: list[ProviderState] = []
        for link in self._links.values():
            spec = link.spec
            if spec.kind == "embedded":
                out.append(ProviderState(spec.name, "embedded", EMBEDDED, "embedded"))
                continue
            snap = link.breaker.snapshot
            if link.unusable is not None:
                state, reason = "unusable", link.unusable
            elif snap.state == "open":
                state, reason = "cooling", f"circuit open, retried in {snap.retry_in:.0f}s"
            else:
                state, reason = "ready", ""
            out.append(
                ProviderState(spec.name, spec.kind, spec.model, state, reason, spec.key_source, spec.price, spec.paid)
            )
        if not any(s.kind == "embedded" for s in out):
            out.append(ProviderState(EMBEDDED, "embedded", EMBEDDED, "embedded"))
        return tuple(out)

    @property
    def settings(self) -> LlmSettings:
        return self._settings

    def first_ready(self) -> ProviderSpec | None:
        """The spec of the link a request would try first right now (usable, circuit not
        open), or None when every remote link is out and the embedded engine would answer.
        Read-only: it does not take a half-open breaker's trial."""
        for link in self._links.values():
            if link.spec.kind == "embedded":
                return None
            if link.unusable is None and link.provider is not None and link.breaker.snapshot.state != "open":
                return link.spec
        return None

    def reset(self, name: str | None = None) -> None:
        """Forget failures (and rejected keys) of one provider or all, e.g. after the user
        fixed a key; a missing key stays missing until the config is loaded again."""
        for link in self._links.values():
            if name is None or link.spec.name == name:
                link.breaker.success()
                link.unusable = link.spec.key_problem if link.spec.kind != "embedded" else None
                link.announced = False

    # -- turns --------------------------------------------------------------------------

    async def complete(
        self,
        req: ChatRequest,
        *,
        embedded: Compose,
        on_event: EventSink | None = None,
        cleaner: Cleaner | None = None,
    ) -> Routed:
        """One whole line.

        `cleaner`, when given, makes a fresh `TextFilter` per attempt (e.g.
        `lambda: StreamCleaner(persona.names, player, others)`): provider text is cleaned before
        it is returned, and a reply with nothing left after cleaning counts as a bad reply, so
        the chain moves on. The embedded engine's lines are not filtered.

        Raises: `CancelledError` when the turn is cancelled; `ProviderUnavailable` only if
        the embedded composer itself fails (its exception is chained).
        """
        return await self._route(req, embedded, on_event, None, cleaner)

    async def stream(
        self,
        req: ChatRequest,
        *,
        embedded: Compose,
        on_delta: DeltaSink,
        on_event: EventSink | None = None,
        cleaner: Cleaner | None = None,
    ) -> Routed:
        """Like `complete`, calling `on_delta(text)` as text arrives (cleaned, if a `cleaner`
        is given). When a provider breaks after some text went out,
        `on_event("line.reset", {"provider", "reason"})` comes before any text of the next
        provider: the concatenated deltas since the last reset always equal
        `Routed.reply.text`."""
        return await self._route(req, embedded, on_event, on_delta, cleaner)

    async def _route(
        self,
        req: ChatRequest,
        embedded: Compose,
        on_event: EventSink | None,
        on_delta: DeltaSink | None,
        cleaner: Cleaner | None,
    ) -> Routed:
        turn = _Turn(req, self._clock.monotonic() + self._settings.router.deadline, on_event, on_delta, cleaner)
        last_name = EMBEDDED
        for link in self._links.values():
            if link.spec.kind == "embedded":
                last_name = link.spec.name
                break
            skip = await self._skip_reason(link, turn)
            if skip is not None:
                code, reason, silent = skip
                turn.attempts.append(Attempt(link.spec.name, "skipped", reason))
                if not silent:
                    await self._arrive(turn, link.spec.name)
                    turn.leaving = (link.spec.name, code, reason)
                continue
            if self._remaining(turn) <= 0:
                link.breaker.abandon_trial()
                turn.attempts.append(Attempt(link.spec.name, "skipped", "turn deadline reached"))
                turn.leaving = turn.leaving or (link.spec.name, ProviderTimeout.code.value, "turn deadline reached")
                break
            await self._arrive(turn, link.spec.name)
            assert link.provider is not None
            try:
                reply, tries = await self._try_link(link, turn)
            except ProviderError as err:
                tries = int(err.details.get("tries", 1))
                turn.attempts.append(Attempt(link.spec.name, err.code.value, err.reason, tries))
                turn.leaving = (link.spec.name, err.code.value, err.reason)
                continue
            finally:
                # A half-open trial that never reached a verdict (client-side rate limit,
                # cancellation) must not keep the breaker shut for good.
                link.breaker.abandon_trial()
            turn.attempts.append(Attempt(link.spec.name, "ok", "", tries))
            usd = await self._record(link.spec, req, reply)
            return Routed(
                reply, link.spec.name, tuple(turn.attempts), tuple(turn.fallbacks), usd, provider_kind=link.spec.kind
            )
        return await self._embedded(turn, embedded, last_name)

    async def _embedded(self, turn: _Turn, compose: Compose, name: str) -> Routed:
        await self._arrive(turn, name)
        provider = EmbeddedProvider(compose, name=name)
        try:
            reply = await self._call(provider, turn, _Emitted(), filtered=False)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("embedded engine failed", extra={"provider": name})
            raise ProviderUnavailable(name, "no provider could answer, the embedded engine failed too") from exc
        turn.attempts.append(Attempt(name, "ok", "", 1))
        spec = ProviderSpec(name=name, kind="embedded", model=EMBEDDED, local=True, price=Price(0, 0, source="local"))
        await self._record(spec, turn.req, reply)
        return Routed(reply, name, tuple(turn.attempts), tuple(turn.fallbacks), 0.0, provider_kind="embedded")

    async def _arrive(self, turn: _Turn, name: str) -> None:
        if turn.leaving is None:
            return
        source, code, reason = turn.leaving
        turn.leaving = None
        fallback = Fallback(source, name, code, reason)
        turn.fallbacks.append(fallback)
        log.warning(
            "provider fallback",
            extra={
                "from": source,
                "to": name,
                "code": code,
                "reason": reason,
                "conversation": turn.req.tags.conversation,
            },
        )
        if turn.on_event is not None:
            await turn.on_event(FALLBACK_EVENT, fallback.to_event())

    def _remaining(self, turn: _Turn) -> float:
        return turn.deadline_at - self._clock.monotonic()

    async def _skip_reason(self, link: _Link, turn: _Turn) -> tuple[str, str, bool] | None:
        """(code, reason, silent) when this link must not be tried now."""
        if link.unusable is not None:
            silent = link.announced
            link.announced = True
            code = ProviderAuth.code.value
            return code, link.unusable, silent
        if link.spec.paid:
            over = await self._over_budget(turn)
            if over is not None:
                return "budget_exceeded", over, False
        if not link.breaker.allow():
            snap = link.breaker.snapshot
            return "cooling_down", f"cooling down after repeated failures (retry in {snap.retry_in:.0f}s)", False
        return None

    async def _over_budget(self, turn: _Turn) -> str | None:
        budgets = self._settings.budgets
        try:
            if budgets.per_day_usd is not None:
                if turn.spent_today is None:
                    turn.spent_today = await self._ledger.spent_since(start_of_local_day(self._clock.time()))
                if turn.spent_today >= budgets.per_day_usd:
                    return f"daily budget of {_usd(budgets.per_day_usd)} reached"
            cid = turn.req.tags.conversation
            if budgets.per_conversation_usd is not None and cid is not None:
                if turn.spent_conversation is None:
                    turn.spent_conversation = await self._ledger.spent_in_conversation(cid)
                if turn.spent_conversation >= budgets.per_conversation_usd:
                    return f"conversation budget of {_usd(budgets.per_conversation_usd)} reached"
        except asyncio.CancelledError:
            raise
        except Exception:
            # Unknown spend must not be treated as "under budget".
            log.exception("cost ledger unreadable; paid providers skipped this turn")
            return "cost ledger unreadable"
        return None

    async def _try_link(self, link: _Link, turn: _Turn) -> tuple[ChatReply, int]:
        spec = link.spec
        provider = link.provider
        assert provider is not None
        lim = self._settings.router
        # A token bucket reserves the request's estimated size; without one the estimate (a
        # scan of the whole prompt) would be made for nothing on every call.
        estimate = estimate_usage(turn.req, "").input_tokens + turn.req.max_tokens if link.tokens is not None else 0
        tries = 0
        for attempt in range(spec.limits.retries + 1):
            await self._take_slot(link, turn, estimate, tries)
            tries += 1
            emitted = _Emitted()
            budget = min(spec.limits.timeout, self._remaining(turn))
            try:
                try:
                    async with asyncio.timeout(budget):
                        reply = await self._call(provider, turn, emitted)
                except TimeoutError as exc:
                    if self._remaining(turn) <= 0:
                        raise ProviderTimeout(spec.name, "turn deadline reached") from exc
                    raise ProviderTimeout(spec.name, f"no complete reply within {budget:.1f}s") from exc
            except ProviderError as err:
                err.details["tries"] = tries
                if emitted.any and turn.on_event is not None:
                    await turn.on_event(RESET_EVENT, {"provider": spec.name, "reason": err.reason})
                if isinstance(err, ProviderAuth):
                    link.unusable = err.reason
                    link.announced = True
                    log.warning(
                        "provider marked unusable until the config is reloaded",
                        extra={"provider": spec.name, "reason": err.reason},
                    )
                    raise
                link.breaker.failure()
                if not err.retryable or attempt == spec.limits.retries or isinstance(err, ProviderTimeout):
                    # A provider that already used a whole timeout is not given another one in
                    # the same turn: the next link is the faster way to a line.
                    raise
                remaining = self._remaining(turn)
                if err.retry_after is not None and err.retry_after > min(lim.max_retry_after, remaining):
                    link.breaker.cool_down(err.retry_after)
                    err.reason += f"; Retry-After {err.retry_after:.0f}s is longer than this turn can wait"
                    raise
                if err.retry_after is not None:
                    delay = err.retry_after + self._rng.uniform(0, min(1.0, lim.backoff_base))
                else:
                    delay = backoff_delay(attempt, base=lim.backoff_base, cap=lim.backoff_max, rng=self._rng)
                if delay >= remaining or not link.breaker.allow():
                    raise
                log.info(
                    "retrying provider",
                    extra={
                        "provider": spec.name,
                        "code": err.code.value,
                        "reason": err.reason,
                        "delay_s": round(delay, 3),
                    },
                )
                await self._clock.sleep(delay)
                continue
            link.breaker.success()
            if link.tokens is not None:
                link.tokens.settle(reply.usage.total - estimate)
            return reply, tries
        raise AssertionError("unreachable: the loop returns or raises")

    async def _take_slot(self, link: _Link, turn: _Turn, estimate: int, tries: int) -> None:
        """Client-side rate limits: wait briefly for a slot, or move on."""
        waits: list[tuple[TokenBucket, float, float]] = []
        if link.requests is not None:
            waits.append((link.requests, 1.0, link.requests.reserve(1.0)))
        if link.tokens is not None:
            waits.append((link.tokens, float(estimate), link.tokens.reserve(float(estimate))))
        wait = max((w for _, _, w in waits), default=0.0)
        if wait <= 0:
            return
        if wait > min(self._settings.router.max_queue_wait, self._remaining(turn)):
            for bucket, amount, _ in waits:
                bucket.refund(amount)
            raise ProviderRateLimited(
                link.spec.name,
                f"client-side rate limit: next slot in {wait:.1f}s",
                details={"client_side": True, "tries": tries},
            )
        await self._clock.sleep(wait)

    async def _call(self, provider: Provider, turn: _Turn, emitted: _Emitted, *, filtered: bool = True) -> ChatReply:
        text_filter = turn.cleaner() if turn.cleaner is not None and filtered else None
        if turn.on_delta is None:
            reply = await provider.complete(turn.req)
            if text_filter is None:
                return reply
            return self._cleaned(provider, reply, text_filter.feed(reply.text) + text_filter.finish())
        final: ChatReply | None = None
        shown: list[str] = []
        items: AsyncIterator[Delta | ChatReply] = provider.stream(turn.req)
        try:
            async for item in items:
                if isinstance(item, Delta):
                    text = item.text if text_filter is None else text_filter.feed(item.text)
                    if text:
                        emitted.any = True
                        shown.append(text)
                        await turn.on_delta(text)
                else:
                    final = item
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
        if final is None:
            raise ProviderBadReply(provider.name, "stream ended without a final reply")
        if text_filter is None:
            return final
        tail = text_filter.finish()
        if tail:
            emitted.any = True
            shown.append(tail)
            await turn.on_delta(tail)
        return self._cleaned(provider, final, "".join(shown))

    @staticmethod
    def _cleaned(provider: Provider, reply: ChatReply, text: str) -> ChatReply:
        # A reply that only acts (tool calls, no words) is kept: the caller gives it a line.
        if not text.strip() and not reply.tool_calls:
            raise ProviderBadReply(provider.name, "nothing left of the reply after cleaning")
        return replace(reply, text=text)

    async def _record(self, spec: ProviderSpec, req: ChatRequest, reply: ChatReply) -> float:
        link = self._links.get(spec.name)
        if spec.price is None:
            usd, priced = 0.0, False
            if link is not None and not link.unpriced_logged:
                link.unpriced_logged = True
                log.warning(
                    "no price known for this model; its calls are recorded at $0 "
                    "(set [providers.NAME.price] in the config)",
                    extra={"provider": spec.name, "model": spec.model},
                )
        else:
            usd, priced = spec.price.cost(reply.usage.input_tokens, reply.usage.output_tokens), True
        row = CostRow(
            ts=self._clock.time(),
            provider=spec.name,
            model=reply.model if spec.kind != "embedded" else EMBEDDED,
            input_tokens=reply.usage.input_tokens,
            output_tokens=reply.usage.output_tokens,
            usd=usd,
            estimated=reply.usage.estimated,
            priced=priced,
            conversation=req.tags.conversation,
            persona=req.tags.persona,
            purpose=req.tags.purpose,
        )
        try:
            await self._ledger.record(row)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cost row not recorded", extra={"provider": spec.name})
        return usd

    # -- checks -------------------------------------------------------------------------

    async def check(self, names: Sequence[str] | None = None) -> list[CheckResult]:
        """Send one tiny request to each provider (no retries, no fallback) and report the
        latency or the exact error (`parley providers check`). Costs are recorded with
        purpose `check`."""
        probe = ChatRequest(
            system="Reply with the single word OK.",
            messages=(ChatMessage("user", "Say OK."),),
            temperature=0.0,
            max_tokens=5,
            tags=RequestTags(purpose="check"),
        )
        results: list[CheckResult] = []
        for link in self._links.values():
            spec = link.spec
            if spec.kind == "embedded" or (names is not None and spec.name not in names):
                continue
            if link.provider is None or spec.key_problem is not None:
                results.append(
                    CheckResult(
                        spec.name, False, 0.0, spec.model, ProviderAuth.code.value, spec.key_problem or "not built"
                    )
                )
                continue
            start = self._clock.monotonic()
            try:
                async with asyncio.timeout(spec.limits.timeout):
                    reply = await link.provider.complete(probe)
            except TimeoutError:
                results.append(
                    CheckResult(
                        spec.name,
                        False,
                        self._clock.monotonic() - start,
                        spec.model,
                        ProviderTimeout.code.value,
                        f"no reply within {spec.limits.timeout:.1f}s",
                    )
                )
                continue
            except ProviderError as err:
                results.append(
                    CheckResult(
                        spec.name, False, self._clock.monotonic() - start, spec.model, err.code.value, err.reason
                    )
                )
                continue
            elapsed = self._clock.monotonic() - start
            await self._record(spec, probe, reply)
            results.append(
                CheckResult(
                    spec.name, True, elapsed, reply.model, "", "", (reply.usage.input_tokens, reply.usage.output_tokens)
                )
            )
        return results


__all__ = [
    "Cleaner",
    "TextFilter",
    "FALLBACK_EVENT",
    "RESET_EVENT",
    "Attempt",
    "CheckResult",
    "DeltaSink",
    "EventSink",
    "Fallback",
    "ProviderState",
    "Routed",
    "Router",
]
