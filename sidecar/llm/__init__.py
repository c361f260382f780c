"""LLM providers behind one router: OpenAI-compatible hosts, Anthropic, and the embedded
engine as the last link of every chain.

Importing this package does not import aiohttp (nor keyring): remote providers are built, and
aiohttp loaded, only by `Router.from_settings` when the chain has a usable remote link.

In the sidecar this is wired up by `server/app.py` (`serve --config FILE`: settings, router,
quality gate), `store/costs.py` (`SqliteCostLedger`, the `llm_calls` table) and
`engine/routed.py` (`RoutedSource`: the turn pipeline's `LineSource` over the router, with
answer options and the goal judge). The recipe, for any other caller:

    settings = await resolve_async(load_config(path), source=str(path))   # ConfigError
    router = Router.from_settings(settings, ledger)      # ledger: a CostLedger (store/)
    ...
    req = build_request(persona, player=ctx.player, affinity=ctx.affinity, tuning=tuning,
                        history=ctx.history, player_line=text, conversation=cid)

    async def compose(req: ChatRequest) -> ChatReply:    # the embedded engine, last link
        composed = engine.reply(ctx, text, sentiment)    # keep `composed` for memory/ending
        return embedded_reply(composed.text)

    routed = await router.stream(                        # or router.complete(req, ...)
        req, embedded=compose,
        on_delta=lambda chunk: emit("line.delta", {"text": chunk}),
        on_event=emit,                                   # "provider.fallback", "line.reset"
        cleaner=lambda: StreamCleaner(persona.names, ctx.player, [o.name for o in ctx.others]),
    )
    routed.reply.text      # the cleaned line to store (== deltas since the last line.reset)
    routed.provider        # config name of the provider that produced it ("embedded"…)
    routed.embedded        # True when the embedded engine answered
    routed.fallbacks, routed.attempts, routed.usd

    router.states()                 # `parley providers`
    await router.check()            # `parley providers check`
    (await ledger.report()).to_wire()   # `stats.costs`
    await router.aclose()           # closes the shared HTTP client

`Router.stream`/`complete` raise only `CancelledError` (the turn was cancelled) or
`ProviderUnavailable` (the embedded composer itself failed).
"""

from sidecar.llm.config import ConfigModel, config_for_preset, load_config, parse_config, resolve, resolve_async
from sidecar.llm.costs import CostLedger, CostReport, CostRow, MemoryLedger
from sidecar.llm.embedded import Compose, EmbeddedProvider, embedded_reply
from sidecar.llm.prompt import StreamCleaner, build_request, clean_reply
from sidecar.llm.provider import Provider
from sidecar.llm.router import (
    FALLBACK_EVENT,
    RESET_EVENT,
    Attempt,
    CheckResult,
    Fallback,
    ProviderState,
    Routed,
    Router,
)
from sidecar.llm.spec import LlmSettings, ProviderSpec
from sidecar.llm.types import ChatMessage, ChatReply, ChatRequest, Delta, RequestTags, Usage

__all__ = [
    "FALLBACK_EVENT",
    "RESET_EVENT",
    "Attempt",
    "ChatMessage",
    "ChatReply",
    "ChatRequest",
    "CheckResult",
    "Compose",
    "ConfigModel",
    "CostLedger",
    "CostReport",
    "CostRow",
    "Delta",
    "EmbeddedProvider",
    "Fallback",
    "LlmSettings",
    "MemoryLedger",
    "Provider",
    "ProviderSpec",
    "ProviderState",
    "RequestTags",
    "Routed",
    "Router",
    "Usage",
    "config_for_preset",
    "load_config",
    "parse_config",
    "resolve",
    "resolve_async",
    "StreamCleaner",
    "build_request",
    "clean_reply",
    "embedded_reply",
]
