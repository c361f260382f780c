"""LLM providers behind one router: OpenAI-compatible hosts, Anthropic, and the embedded
engine as the last link of every chain.

Importing this package does not import httpx: remote providers are built (and httpx loaded)
only by `Router.from_settings` / `factory.build_providers` when the chain has remote links.

Typical use from the turn pipeline:

    settings = resolve(load_config(path))            # ConfigError on a bad file
    router = Router.from_settings(settings, ledger)   # ledger: a CostLedger (store/)
    routed = await router.stream(req, embedded=compose, on_delta=send_delta, on_event=send_event)
    routed.reply.text, routed.provider, routed.fallbacks, routed.usd
"""

from sidecar.llm.config import ConfigModel, config_for_preset, load_config, parse_config, resolve
from sidecar.llm.costs import CostLedger, CostReport, CostRow, MemoryLedger
from sidecar.llm.embedded import Compose, EmbeddedProvider
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
]
