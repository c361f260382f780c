"""Measure what the LLM path adds to a turn (not a test: speed is never asserted).

    .venv/bin/python tests/llm/bench_router.py [--turns 400] [--json]

A loopback OpenAI-compatible server (llm_fakes.FakeProvider, in a child process of its own)
answers every request at once. Measured in the same run:
- `bare`: one streamed chat completion with aiohttp, the body the sidecar sends, read to
  `[DONE]` (what any client pays for the HTTP call itself);
- `llm turn`: a whole `conversation.say` with `stream: true` through a real sidecar
  subprocess over ZeroMQ, with `--config` pointing at that server: the line (streamed) with
  its answer options after it (sidecar/engine/inline_options.py), one provider call per
  turn; with `--options-call`, `options_in_line = false` and the answer options in a second,
  structured call (the path before one call per turn);
- `embedded turn`: the same turn through a sidecar without `--config`;
- first SSE text byte written by the server → first `line.delta` frame read by the game;
- the sidecar's own CPU per turn (every thread of the sidecar process, read from
  /proc/<pid>/task/*/schedstat around each `conversation.say`; the fake provider runs in
  another process, so its time is not counted).

Router overhead per turn ≈ llm turn − embedded turn − calls per turn × bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llm_fakes import FakeProvider, Reply  # noqa: E402

from parley_client import Client, Sidecar  # noqa: E402
from sidecar.engine.inline_options import MARKER  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-bench-0123456789abcdef"
LINES = [
    "The forge has been busy all week, friend. What brings you here?",
    "Iron does not lie, and neither do I. Ask me about the mine.",
    "My father's hammer still hangs by the door; I use it every morning.",
    "Rain again. The river will be high by evening, mark my words.",
    "Hinges, ploughshares, a bell for the chapel: that is my month.",
    "Maudie runs hot today. She likes the cold mornings, the old girl.",
    "Careful with that lantern near the bellows, if you please.",
    "I heard the miller's cart lost a wheel on the ford road.",
]
OPTIONS = json.dumps(
    {
        "options": [
            {"text": "What are you making right now?", "intent": "ask"},
            {"text": "I used to help at a forge myself.", "intent": "share"},
            {"text": "I will let you get back to work.", "intent": "leave"},
        ]
    }
)
BLOCK = "\n".join([MARKER, *(f"{o['intent']}: {o['text']}" for o in json.loads(OPTIONS)["options"])])
PLAYER_LINES = ["Good morning!", "How is the work going?", "Any news from the village?", "Tell me about the forge."]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """CPU time so far of every thread of process `pid` (Linux: schedstat is in ns)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended between the listing and the read
    return total / 1e9


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p99_ms": round(pct(values, 0.99) * 1000, 3),
    }


async def serve_fake(bare: int, turns: int, options_call: bool) -> None:
    """Child process: the fake provider, scripted for the whole run; prints its base URL, runs
    until stdin closes, then prints the first-text-byte times (perf_counter is the system's
    monotonic clock, comparable across processes on Linux)."""
    fake = await FakeProvider("openai", key=KEY).start()
    for i in range(bare):
        fake.queue(Reply(text=LINES[i % len(LINES)]))
    for i in range(turns):
        if options_call:
            fake.queue(Reply(text=LINES[i % len(LINES)]), Reply(text=OPTIONS))
        else:
            fake.queue(Reply(text=f"{LINES[i % len(LINES)]}\n{BLOCK}"))
    print(fake.base_url, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print(json.dumps(fake.first_byte_at), flush=True)
    await fake.stop()


async def bare_calls(base_url: str, n: int) -> list[float]:
    import aiohttp

    body = {
        "model": "fake",
        "messages": [{"role": "system", "content": "You are Ansel."}, {"role": "user", "content": "Good morning!"}],
        "temperature": 0.6,
        "max_tokens": 80,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    out: list[float] = []
    async with aiohttp.ClientSession() as client:
        for _ in range(n):
            t0 = time.perf_counter()
            async with client.post(
                f"{base_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
            ) as resp:
                async for raw in resp.content:
                    if raw.rstrip(b"\r\n") == b"data: [DONE]":
                        break
            out.append(time.perf_counter() - t0)
    return out


async def turns(
    data_dir: Path, extra_args: list[str], n: int, before_turn: Callable[[int], None]
) -> tuple[list[float], list[float], int, float]:
    """(turn seconds, first-delta perf_counter times, quality retries, sidecar CPU seconds spent
    in the turns) for `n` streamed turns."""
    env = {**os.environ, "BENCH_KEY": KEY}
    sidecar = Sidecar(data_dir, REPO / "personas", extra_args=extra_args, env=env).start()
    took: list[float] = []
    first_delta: list[float] = []
    retries = 0
    cpu = 0.0
    assert sidecar.proc is not None
    pid = sidecar.proc.pid
    try:
        async with Client(sidecar.endpoint, sidecar.token, timeout=60) as client:
            for c in range(0, n, len(PLAYER_LINES)):
                cid = (await client.call("conversation.start", {"persona": "ansel", "player": "Ana", "seed": c}))[
                    "conversation"
                ]
                for i, text in enumerate(PLAYER_LINES):
                    before_turn(c + i)
                    seen: list[float] = []

                    def on_event(ev: Any, seen: list[float] = seen) -> None:
                        if ev.event == "line.delta" and not seen:
                            seen.append(time.perf_counter())

                    c0 = cpu_seconds(pid)
                    t0 = time.perf_counter()
                    said = await client.call(
                        "conversation.say", {"conversation": cid, "text": text, "stream": True}, on_event=on_event
                    )
                    took.append(time.perf_counter() - t0)
                    cpu += cpu_seconds(pid) - c0
                    first_delta.extend(seen[:1])
                    retries += said["quality"]["retries"]
    finally:
        sidecar.stop()
    return took, first_delta, retries, cpu


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=400)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--options-call", action="store_true", help="answer options in a second call per turn")
    ap.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    warm = 20
    calls = 2 if args.options_call else 1
    if args.serve_fake:
        await serve_fake(warm + args.turns, args.turns, args.options_call)
        return

    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-fake", "--turns", str(args.turns),
        *(["--options-call"] if args.options_call else []),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdin is not None
    base_url = (await server.stdout.readline()).decode().strip()
    try:
        await bare_calls(base_url, warm)
        bare = await bare_calls(base_url, args.turns)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "llm.toml"
            config.write_text(
                f'[router]\nchain = ["main"]\n[providers.main]\nkind = "openai"\nbase_url = "{base_url}"\n'
                'model = "fake"\napi_key_env = "BENCH_KEY"\nkeyring = false\njson = "json_schema"\n'
                f"options_in_line = {'false' if args.options_call else 'true'}\n",
                encoding="utf-8",
            )
            llm, first_delta, llm_retries, llm_cpu = await turns(
                Path(tmp) / "llm", ["--config", str(config)], args.turns, lambda i: None
            )
            emb, _, emb_retries, emb_cpu = await turns(Path(tmp) / "emb", [], args.turns, lambda i: None)
    finally:
        server.stdin.close()
        first_bytes: list[float] = json.loads(await server.stdout.readline())
        await server.wait()
    # Requests were: warm-up and bare calls, then per turn the line (streamed) and, with
    # --options-call, the options.
    line_first_bytes = first_bytes[warm + args.turns :]
    delta_lag = [d - b for b, d in zip(line_first_bytes, first_delta, strict=True)]
    result = {
        "bare_aiohttp_call": summary(bare),
        "llm_turn": summary(llm),
        "embedded_turn": summary(emb),
        "first_sse_byte_to_first_line_delta": summary(delta_lag),
        "router_overhead_per_turn_ms": round(
            (statistics.median(llm) - statistics.median(emb) - calls * statistics.median(bare)) * 1000, 3
        ),
        "sidecar_cpu_ms_per_turn": {
            "llm": round(llm_cpu / len(llm) * 1000, 3),
            "embedded": round(emb_cpu / len(emb) * 1000, 3),
        },
        "quality_retries": {"llm": llm_retries, "embedded": emb_retries},
        "provider_calls_per_llm_turn": calls,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    asyncio.run(main())
