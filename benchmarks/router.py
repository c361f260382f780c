"""Router overhead per turn, and first-SSE-byte → first delta callback latency.

Runs a loopback server speaking the OpenAI chat-completions wire format (the test fake) and
measures, interleaved in one run:
- a bare aiohttp POST + JSON parse to that server (the floor);
- `Router.complete` through the OpenAI-compatible provider (config, limits, breaker, costs);
- `Router.stream`: from the moment the server wrote its first text chunk to the moment the
  router's `on_delta` callback ran with it.

Usage: .venv/bin/python benchmarks/router.py [--turns 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "llm"))

from llm_fakes import FakeProvider  # noqa: E402

from sidecar.llm import ChatMessage, ChatReply, ChatRequest, MemoryLedger, Router, Usage  # noqa: E402
from sidecar.llm.config import parse_config, resolve  # noqa: E402

KEY = "sk-bench-0000000000000000"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(name: str, values: list[float]) -> dict[str, float | str]:
    return {
        "name": name,
        "median_ms": round(statistics.median(values) * 1e3, 3),
        "p99_ms": round(pct(values, 99) * 1e3, 3),
        "n": len(values),
    }


async def compose(req: ChatRequest) -> ChatReply:
    return ChatReply("embedded", "stop", Usage(), "embedded")


async def main(turns: int) -> None:
    fake = await FakeProvider("openai", key=KEY).start()
    toml = f"""
[router]
chain = ["main"]
[providers.main]
kind = "openai"
base_url = "{fake.base_url}"
model = "bench"
api_key_env = "BENCH_KEY"
[providers.main.price]
input = 1.0
output = 1.0
"""
    settings = resolve(parse_config(toml), env={"BENCH_KEY": KEY}, keys=lambda n: None)
    router = Router.from_settings(settings, MemoryLedger())
    req = ChatRequest(system="You are Bjorn.", messages=(ChatMessage("user", "Hello there!"),), max_tokens=60)
    bare_client = aiohttp.ClientSession()
    body = {
        "model": "bench",
        "messages": [{"role": "system", "content": "You are Bjorn."}, {"role": "user", "content": "Hello there!"}],
        "temperature": 0.8,
        "max_tokens": 60,
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    url = f"{fake.base_url}/chat/completions"

    bare: list[float] = []
    routed: list[float] = []
    first_delta: list[float] = []
    for _ in range(20):  # warm up both paths and their connection pools
        async with bare_client.post(url, json=body, headers=headers) as resp:
            await resp.json()
        await router.complete(req, embedded=compose)
    for _ in range(turns):
        t0 = time.perf_counter()
        async with bare_client.post(url, json=body, headers=headers) as resp:
            resp.raise_for_status()
            json.loads(await resp.read())
        bare.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        out = await router.complete(req, embedded=compose)
        routed.append(time.perf_counter() - t0)
        assert out.provider == "main"

        got: list[float] = []

        async def on_delta(text: str, got: list[float] = got) -> None:
            if not got:
                got.append(time.perf_counter())

        before = len(fake.first_byte_at)
        await router.stream(req, embedded=compose, on_delta=on_delta)
        first_delta.append(got[0] - fake.first_byte_at[before])

    await bare_client.close()
    await router.aclose()
    await fake.stop()
    rows = [
        summary("bare aiohttp POST", bare),
        summary("Router.complete", routed),
        summary("first SSE text byte -> on_delta", first_delta),
    ]
    overhead = [r - b for r, b in zip(routed, bare, strict=True)]
    rows.append(
        {
            "name": "router overhead (paired difference)",
            "median_ms": round(statistics.median(overhead) * 1e3, 3),
            "p99_ms": round(pct(overhead, 99) * 1e3, 3),
            "n": len(overhead),
        }
    )
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=400)
    asyncio.run(main(parser.parse_args().turns))
