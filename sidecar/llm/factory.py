"""Builds providers from resolved settings. The only place that imports the remote provider
modules, and so aiohttp: a chain without remote links never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecar.llm.provider import Provider
from sidecar.llm.spec import LlmSettings

if TYPE_CHECKING:
    from sidecar.llm._http import HttpClient


def build_providers(
    settings: LlmSettings, *, client: HttpClient | None = None
) -> tuple[dict[str, Provider], HttpClient | None]:
    """Providers for every usable remote link, plus the shared client they use (created here
    unless given; the caller owns and closes it). Links without a key are left out: the
    router reports them."""
    remote = [s for s in settings.chain if s.kind != "embedded" and s.key_problem is None]
    if not remote:
        return {}, client
    from sidecar.llm import _http
    from sidecar.llm.anthropic import AnthropicProvider
    from sidecar.llm.openai_compat import OpenAICompatProvider

    if client is None:
        client = _http.build_client(timeout=max(s.limits.timeout for s in remote))
    providers: dict[str, Provider] = {}
    for spec in remote:
        if spec.kind == "anthropic":
            providers[spec.name] = AnthropicProvider(spec, client)
        else:
            providers[spec.name] = OpenAICompatProvider(spec, client)
    return providers, client


__all__ = ["build_providers"]
