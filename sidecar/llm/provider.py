"""The one seam every LLM backend satisfies: `Provider`.

A provider turns a `ChatRequest` into a `ChatReply` (or a stream of `Delta`s ending in one),
and raises only `sidecar.errors.ProviderError` subclasses: the router's fallback decisions
rest on that classification, so foreign exceptions are mapped where they enter (see
`_http.py`) and never leak past a provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from sidecar.llm.types import ChatReply, ChatRequest, Delta, ProviderKind


@runtime_checkable
class Provider(Protocol):
    """One configured backend. `name` is its config name (what the game sees in a reply's
    `provider` field); `model` is the model id sent on the wire."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> ProviderKind: ...

    @property
    def model(self) -> str: ...

    async def complete(self, req: ChatRequest) -> ChatReply:
        """One whole reply.

        Raises: a `ProviderError` subclass for every failure (never aiohttp or JSON errors).
        """
        ...

    def stream(self, req: ChatRequest) -> AsyncIterator[Delta | ChatReply]:
        """Text pieces as they arrive, then exactly one `ChatReply` (full text, usage,
        finish reason) as the last item. A stream that ends without that final item is a
        bug in the provider; a stream that breaks raises `ProviderBadReply` (or a more
        specific `ProviderError`) after the deltas already yielded.
        """
        ...


__all__ = ["Provider"]
