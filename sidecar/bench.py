"""`parley bench`: turn latency and throughput through the real socket, against a bare
pyzmq + msgpack echo measured in the same run. Numbers depend on the machine: compare
ratios, not absolutes, across machines."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq
import zmq.asyncio

from parley_client import Client, Sidecar

ECHO_SERVER = """
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
import msgpack
while True:
    ident, frame = s.recv_multipart()
    msg = msgpack.unpackb(frame, raw=False)
    s.send_multipart([ident, msgpack.packb({"id": msg["id"], "ok": True, "result": {}})])
"""


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 4),
        "p99_ms": round(_pct(ms, 0.99), 4),
        "p999_ms": round(_pct(ms, 0.999), 4),
        "max_ms": round(max(ms), 4),
    }


async def _echo(n: int) -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        ctx = zmq.asyncio.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.connect(f"tcp://127.0.0.1:{port}")
        samples = []
        for i in range(n + 200):
            t0 = time.perf_counter()
            await sock.send(msgpack.packb({"id": i, "op": "echo", "args": {"text": "Hello there, how are you?"}}))
            msgpack.unpackb(await sock.recv(), raw=False)
            if i >= 200:
                samples.append(time.perf_counter() - t0)
        sock.close(linger=0)
        ctx.term()
        return _summary(samples)
    finally:
        proc.kill()
        proc.wait()


LINES = (
    "Hello! How are you today?",
    "Tell me about your work.",
    "What's the weather like?",
    "I love fishing, you know.",
    "That's rude of you.",
    "What do you think of the village?",
)


async def _turns(client: Client, persona: str, n: int, per_conv: int = 200) -> list[float]:
    samples: list[float] = []
    cid = ""
    for i in range(n):
        if i % per_conv == 0:
            cid = (await client.call("conversation.start", {"persona": persona, "player": f"bench{i}"}))["conversation"]
        t0 = time.perf_counter()
        r = await client.request("conversation.say", {"conversation": cid, "text": LINES[i % len(LINES)]})
        samples.append(time.perf_counter() - t0)
        if r["ok"] and r["result"].get("ended"):
            cid = (await client.call("conversation.start", {"persona": persona, "player": f"bench{i}"}))["conversation"]
    return samples


async def _throughput(client: Client, personas: list[str], conversations: int, turns: int) -> dict[str, float]:
    per = max(1, turns // conversations)

    async def one(k: int) -> int:
        cid = (await client.call("conversation.start", {"persona": personas[k % len(personas)], "player": f"t{k}"}))[
            "conversation"
        ]
        done = 0
        for i in range(per):
            r = await client.request("conversation.say", {"conversation": cid, "text": LINES[i % len(LINES)]})
            done += 1
            if r["ok"] and r["result"].get("ended"):
                cid = (
                    await client.call("conversation.start", {"persona": personas[k % len(personas)], "player": f"t{k}"})
                )["conversation"]
        return done

    t0 = time.perf_counter()
    total = sum(await asyncio.gather(*(one(k) for k in range(conversations))))
    wall = time.perf_counter() - t0
    return {"conversations": conversations, "turns": total, "turns_per_s": round(total / wall, 1)}


def _startup(runs: int, personas: Path) -> dict[str, float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            side = Sidecar(Path(tmp), personas).start()
            times.append(time.perf_counter() - t0)
            side.stop()
    return {"runs": runs, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


async def run_bench(args: argparse.Namespace) -> int:
    from sidecar.cli import default_personas_dir

    personas_dir = default_personas_dir()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    report["startup"] = _startup(5, personas_dir)
    report["echo"] = await _echo(args.turns)
    with tempfile.TemporaryDirectory() as tmp:
        with Sidecar(Path(tmp), personas_dir) as side:
            async with Client(side.endpoint, side.token, timeout=60) as client:
                personas = [p["id"] for p in (await client.call("persona.list"))["personas"]]
                await _turns(client, personas[0], 200)  # warm up
                report["turn"] = _summary(await _turns(client, personas[0], args.turns))
                report["throughput"] = await _throughput(client, personas, args.conversations, args.turns)
    report["ratio_turn_to_echo_median"] = round(report["turn"]["median_ms"] / report["echo"]["median_ms"], 2)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        t, e = report["turn"], report["echo"]
        print(f"machine: {report['machine']['cpus']} cpus, python {report['machine']['python']}")
        s = report["startup"]
        print(f"start-to-ready: median {s['median_s']} s (max {s['max_s']} s, {s['runs']} runs)")
        print(f"echo  (bare pyzmq+msgpack): median {e['median_ms']} ms  p99 {e['p99_ms']} ms  p99.9 {e['p999_ms']} ms")
        print(
            f"turn  (conversation.say):   median {t['median_ms']} ms  p99 {t['p99_ms']} ms"
            f"  p99.9 {t['p999_ms']} ms  max {t['max_ms']} ms"
        )
        print(f"turn/echo median ratio: {report['ratio_turn_to_echo_median']}")
        tp = report["throughput"]
        print(f"throughput: {tp['turns_per_s']} turns/s with {tp['conversations']} conversations in flight")
    return 0
