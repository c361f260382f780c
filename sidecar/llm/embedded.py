"""The embedded engine as a provider: the last link of every chain.

`llm/` must not import `sidecar.engine` (imports flow engine → llm), so the turn pipeline
injects its composer as an async callable `compose(req) -> ChatReply`. It needs no network
and no key, costs nothing, and is expected not to fail; if it does, its exception is the
pipeline's own bug and propagates unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from sidecar.llm.types import ChatReply, ChatRequest, Delta, ProviderKind, Usage

Compose = Callable[[ChatRequest], Awaitable[ChatReply]]

EMBEDDED = "embedded"


def embedded_reply(text: str) -> ChatReply:
    """Wrap a line the embedded engine composed (it uses no tokens and costs nothing)."""
    return ChatReply(text=text, finish_reason="stop", usage=Usage(0, 0), model=EMBEDDED)


class EmbeddedProvider:
    """Satisfies `llm.Provider`; streams its whole line as one delta."""

    def __init__(self, compose: Compose, *, name: str = EMBEDDED) -> None:
        self._compose = compose
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> ProviderKind:
        return "embedded"

    @property
    def model(self) -> str:
        return EMBEDDED

    async def complete(self, req: ChatRequest) -> ChatReply:
        return await self._compose(req)

    async def stream(self, req: ChatRequest) -> AsyncIterator[Delta | ChatReply]:
        reply = await self._compose(req)
        if reply.text:
            yield Delta(reply.text)
        yield reply


__all__ = ["EMBEDDED", "Compose", "EmbeddedProvider", "embedded_reply"]
