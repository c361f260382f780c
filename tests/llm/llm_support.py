"""Helpers shared by the LLM tests (imported as `llm_support`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from parley_client import Client, Sidecar
from sidecar.llm import ChatMessage, ChatReply, ChatRequest, RequestTags, Router, Usage
from sidecar.llm.config import parse_config, resolve
from sidecar.llm.costs import CostLedger
from sidecar.llm.limits import Clock

TEST_KEY = "sk-test-0123456789abcdefSECRETxyz"


class Recorder:
    """Collects what the game would receive: events and streamed deltas, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    async def event(self, name: str, data: Mapping[str, Any]) -> None:
        self.items.append((name, dict(data)))

    async def delta(self, text: str) -> None:
        self.items.append(("line.delta", text))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self.items if n == name]

    def text_since_reset(self) -> str:
        """The line the game shows: deltas after the last `line.reset`."""
        out: list[str] = []
        for name, data in self.items:
            if name == "line.reset":
                out = []
            elif name == "line.delta":
                out.append(data)
        return "".join(out)


EMBEDDED_LINE = "Hm. The forge is hot today."


async def compose(req: ChatRequest) -> ChatReply:
    """Stands in for the turn pipeline's embedded engine (llm/ never imports it)."""
    await asyncio.sleep(0)
    return ChatReply(EMBEDDED_LINE, "stop", Usage(0, 0, estimated=True), "embedded")


class FakeClock:
    """Virtual time for backoff and cooldowns: `sleep` advances it at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_700_000_000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def request(
    text: str = "Good morning! Any news from the mine?", *, conversation: str = "c1", persona: str = "bjorn", **kw: Any
) -> ChatRequest:
    return ChatRequest(
        system="You are Bjorn, the village blacksmith.",
        messages=(ChatMessage("user", text),),
        tags=RequestTags(conversation=conversation, persona=persona),
        **kw,
    )


def make_router(
    toml: str, ledger: CostLedger, *, env: Mapping[str, str] | None = None, clock: Clock | None = None
) -> Router:
    """A router from config text, with keys from `env` only (never the real keyring)."""
    settings = resolve(parse_config(toml), env=dict(env or {}), keys=lambda name: None)
    return Router.from_settings(settings, ledger, clock=clock)


def spec_for(
    fake_base_url: str, *, kind: str = "openai", name: str = "main", key: str | None = TEST_KEY, **over: Any
) -> Any:
    """A ProviderSpec pointing at a fake server."""
    from pydantic import SecretStr

    from sidecar.llm.spec import ProviderSpec

    fields: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "model": "fake-model",
        "base_url": fake_base_url,
        "key": SecretStr(key) if key else None,
        "json": "json_schema",
    }
    fields.update(over)
    return ProviderSpec(**fields)


def one_openai_provider(base_url: str) -> str:
    """A router config whose one provider (`main`, key in MAIN_KEY) is the OpenAI-format
    server at `base_url`, with no retries."""
    return (
        f'[router]\nchain = ["main"]\n[limits]\nretries = 0\n[providers.main]\nkind = "openai"\n'
        f'base_url = "{base_url}"\nmodel = "m"\napi_key_env = "MAIN_KEY"\nkeyring = false\n'
        'json = "json_schema"\n'
    )


@asynccontextmanager
async def keyed_sidecar(data_dir: Path, personas: Path, config: Path | None, key: str) -> AsyncIterator[Client]:
    """A real sidecar that sees no provider key from this shell; with `config` (whose provider
    reads `MAIN_KEY`, as `one_openai_provider`'s does), `key` is that key."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "MAIN_KEY"}
    extra: list[str] = []
    if config is not None:
        env["MAIN_KEY"] = key
        extra = ["--config", str(config)]
    proc = Sidecar(data_dir, personas, extra_args=extra, env=env).start()
    try:
        async with Client(proc.endpoint, proc.token, timeout=30) as client:
            yield client
    finally:
        await asyncio.to_thread(proc.stop)


def request_text(body: dict[str, Any]) -> str:
    """Everything a provider request tells the model (system prompt and every message)."""
    parts = [str(body.get("system", ""))]
    for m in body.get("messages", []):
        content = m.get("content")
        parts.append(content if isinstance(content, str) else repr(content))
    return "\n".join(parts)
