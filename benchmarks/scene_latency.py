"""Scene latency (issue 14, "Measured"): from the player's line to the first `scene.line`
event, and to the reply that ends a three-NPC exchange, through a real sidecar subprocess
over real ZeroMQ with a real SQLite file.

Two runs:
- embedded: no provider config, every line from the embedded engine;
- streaming: one OpenAI-compatible provider on loopback (a server in this process, speaking
  chat completions' SSE) that streams each line at `--tps` tokens per second (300: the first
  seed's Groq figure), one token per chunk, after `--ttft` ms to its first token.

Each exchange names all three NPCs ("Ansel, Goldie, Rook, ...") in a scene with
`talkativeness = 0` and `max_lines = 3`, so it is exactly three lines; `stream: true`.
Figures are milliseconds on this machine (2 shared cores, other work running: compare runs
taken together, not across machines).

Usage: .venv/bin/python benchmarks/scene_latency.py [--exchanges 40] [--tps 300] [--ttft 0] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from parley_client import Client, Sidecar
from parley_client.client import Event

PERSONAS = Path(__file__).resolve().parents[1] / "personas"
KEY_ENV = "PARLEY_BENCH_SCENE_KEY"
LINES = (
    "The forge has been roaring since dawn and my arms know it, but the iron came out true today.",
    "Cider is cold, rooms are warm, and the stew has more carrots than sense this evening, love.",
    "I wrote a song about the mine last night; it has four verses and only one of them rhymes, sadly.",
    "Old Tam says the weather turns by the full moon, though he said that about the last three moons.",
)
SAYS = (
    "Ansel, Goldie, Rook, what is the news in the village?",
    "Ansel, Goldie, Rook, how was the festival?",
    "Ansel, Goldie, Rook, tell me about the mine.",
)


def _pieces(text: str) -> list[str]:
    """One chunk per token, roughly (words with their leading space, as tokenizers split)."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


class StreamingProvider:
    """Chat completions on 127.0.0.1: every request streams a line at `tps` tokens/s."""

    def __init__(self, tps: float, ttft_s: float) -> None:
        self.tps, self.ttft_s = tps, ttft_s
        self._n = itertools.count()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        text = LINES[next(self._n) % len(LINES)]
        if not body.get("stream"):
            content = json.dumps(
                {
                    "options": [
                        {"text": "Tell me more.", "intent": "ask"},
                        {"text": "I saw it too.", "intent": "share"},
                        {"text": "I must go.", "intent": "leave"},
                    ]
                }
            )
            return web.json_response(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "bench",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await asyncio.sleep(self.ttft_s)
        start = time.perf_counter()
        for k, piece in enumerate(_pieces(text)):
            # Paced against the clock, not by sleeping a fixed step: the rate holds on a slow loop.
            await asyncio.sleep(max(0.0, start + k / self.tps - time.perf_counter()))
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
            chunk["choices"] = [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        done = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
        done["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        await resp.write(b"data: " + json.dumps(done).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def _config(path: Path, port: int) -> Path:
    path.write_text(
        '[router]\nchain = ["groq"]\n\n'
        "[providers.groq]\n"
        'kind = "openai"\n'
        f'base_url = "http://127.0.0.1:{port}/v1"\n'
        'model = "bench"\n'
        f'api_key_env = "{KEY_ENV}"\n'
        "keyring = false\n\n"
        "[quality]\nmax_retries = 0\n",
        encoding="utf-8",
    )
    return path


@asynccontextmanager
async def _sidecar(config: Path | None) -> AsyncIterator[Client]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        extra = ["--config", str(config)] if config is not None else []
        env = {**os.environ, KEY_ENV: "sk-bench-loopback-0000000000"}
        with Sidecar(data, PERSONAS, extra_args=extra, env=env) as side:
            async with Client(side.endpoint, side.token, timeout=120) as client:
                yield client


async def _exchanges(client: Client, n: int) -> dict[str, Any]:
    first_line: list[float] = []
    first_delta: list[float] = []
    whole: list[float] = []
    lines_per: list[int] = []
    scene = None
    for k in range(n):
        if k % len(SAYS) == 0:  # a fresh scene every few lines: the history window stays short
            started = await client.call(
                "scene.start",
                {"personas": ["ansel", "goldie", "rook"], "player": f"bench{k}", "talkativeness": 0.0, "max_lines": 3},
            )
            scene = started["scene"]
        marks: dict[str, float] = {}

        def on_event(ev: Event, marks: dict[str, float] = marks) -> None:
            marks.setdefault(ev.event, time.perf_counter())

        t0 = time.perf_counter()
        said = await client.call(
            "scene.say", {"scene": scene, "text": SAYS[k % len(SAYS)], "stream": True}, on_event=on_event
        )
        t1 = time.perf_counter()
        first_line.append((marks["scene.line"] - t0) * 1000)
        if "line.delta" in marks:
            first_delta.append((marks["line.delta"] - t0) * 1000)
        whole.append((t1 - t0) * 1000)
        lines_per.append(len(said["lines"]))
    return {
        "exchanges": n,
        "lines_per_exchange": statistics.mean(lines_per),
        "first_delta_ms": _stats(first_delta),
        "first_scene_line_ms": _stats(first_line),
        "exchange_ms": _stats(whole),
    }


def _stats(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 2),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    async with _sidecar(None) as client:
        await _exchanges(client, 3)  # warm up
        report["embedded"] = await _exchanges(client, args.exchanges)
    provider = StreamingProvider(args.tps, args.ttft / 1000)
    await provider.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with _sidecar(_config(Path(tmp) / "llm.toml", provider.port)) as client:
                await _exchanges(client, 3)
                report[f"streaming_{int(args.tps)}tps"] = await _exchanges(client, args.exchanges)
    finally:
        await provider.stop()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=40)
    parser.add_argument("--tps", type=float, default=300.0)
    parser.add_argument("--ttft", type=float, default=0.0, help="ms before a stream's first token")
    parser.add_argument("--json", action="store_true")
    out = asyncio.run(main(parser.parse_args()))
    print(json.dumps(out, indent=2))
    sys.exit(0)
