"""`parley bench`: turn latency and throughput through the real socket, against a bare
pyzmq + msgpack echo measured in the same run, and the sidecar's own CPU time per turn on the
embedded path and on the LLM path (against a loopback OpenAI-format provider in its own
process, `sidecar.bench_provider`, so the provider's time is not counted). Numbers depend on
the machine: compare ratios, not absolutes, across machines."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgpack
import psutil
import zmq
import zmq.asyncio

from parley_client import Client, Sidecar
from sidecar.engine.data import read_toml
from sidecar.errors import ConfigError
from sidecar.paths import default_personas_dir

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
        _stop(proc)


LINES = (
    "Hello! How are you today?",
    "Tell me about your work.",
    "What's the weather like?",
    "I love fishing, you know.",
    "That's rude of you.",
    "What do you think of the village?",
)


def varied_lines(n: int) -> list[str]:
    """`n` distinct player lines (up to 64 x 64), each two lines of sidecar/data/
    bench_lines.toml, in a fixed shuffled order: what caches on the player's text cannot hit."""
    pool = read_toml("bench_lines.toml").get("lines")
    if not isinstance(pool, list) or len(pool) < 2 or not all(isinstance(x, str) and x.strip() for x in pool):
        raise ConfigError("sidecar/data/bench_lines.toml: lines: must be a list of at least two non-empty strings")
    pairs = [f"{a} {b}" for a in pool for b in pool if a != b]
    random.Random(11).shuffle(pairs)
    if n > len(pairs):
        raise ValueError(f"at most {len(pairs)} varied lines, asked for {n}")
    return pairs[:n]


async def _turns(
    client: Client, persona: str, n: int, per_conv: int = 200, lines: Sequence[str] = LINES
) -> list[float]:
    samples: list[float] = []
    cid = ""
    for i in range(n):
        if i % per_conv == 0:
            cid = (await client.call("conversation.start", {"persona": persona, "player": f"bench{i}"}))["conversation"]
        t0 = time.perf_counter()
        r = await client.request("conversation.say", {"conversation": cid, "text": lines[i % len(lines)]})
        samples.append(time.perf_counter() - t0)
        if r["ok"] and r["result"].get("ended"):
            cid = (await client.call("conversation.start", {"persona": persona, "player": f"bench{i}"}))["conversation"]
    return samples


FLOOR_ID = 2**31
"""The id `_floor` asks to cancel: no request of the bench ever has it."""


async def _floor(client: Client, n: int) -> list[float]:
    """Round trips of the sidecar's quickest answer through the same client and socket as the
    turns: `request.cancel` of an id never sent, answered at once, before any queue or store.
    The turn's own work is its median above this one."""
    samples: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        await client.request("request.cancel", {"id": FLOOR_ID})
        samples.append(time.perf_counter() - t0)
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


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (its threads included)."""
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _pid(side: Sidecar) -> int:
    assert side.proc is not None
    return side.proc.pid


LLM_KEY_ENV = "PARLEY_BENCH_PROVIDER_KEY"


def _llm_config(path: Path, port: int) -> Path:
    """One OpenAI-format provider on loopback; no quality retries, so every turn costs the
    same work: one call for the line with its answer options (a second call only when
    `options_in_line = false` or a reply brings none)."""
    path.write_text(
        '[router]\nchain = ["bench"]\n\n'
        "[providers.bench]\n"
        'kind = "openai"\n'
        f'base_url = "http://127.0.0.1:{port}/v1"\n'
        'model = "bench"\n'
        f'api_key_env = "{LLM_KEY_ENV}"\n'
        "keyring = false\n"
        'json = "json_schema"\n\n'
        "[quality]\nmax_retries = 0\n",
        encoding="utf-8",
    )
    return path


async def _llm_cpu(personas_dir: Path, n: int) -> dict[str, Any]:
    """The sidecar's CPU per LLM turn: its process CPU time across `n` sequential turns,
    divided by `n`. The provider is another process; its CPU is not in the figure."""
    proc = subprocess.Popen(  # noqa: ASYNC220 - one start-up line, then it serves on its own
        [sys.executable, "-m", "sidecar.bench_provider"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            config = _llm_config(Path(tmp) / "bench.toml", port)
            env = {**os.environ, LLM_KEY_ENV: "sk-bench-loopback-0000000000"}
            data = Path(tmp) / "data"
            data.mkdir()
            with Sidecar(data, personas_dir, extra_args=["--config", str(config)], env=env) as side:
                async with Client(side.endpoint, side.token, timeout=60) as client:
                    persona = (await client.call("persona.list"))["personas"][0]["id"]
                    await _turns(client, persona, 50)  # warm up (imports, connection pool)
                    cpu0, t0 = _cpu_s(_pid(side)), time.perf_counter()
                    samples = await _turns(client, persona, n)
                    cpu1, wall = _cpu_s(_pid(side)), time.perf_counter() - t0
                    info = await client.call("server.info")
                    cid = (await client.call("conversation.start", {"persona": persona, "player": "bench-check"}))[
                        "conversation"
                    ]
                    check = await client.call("conversation.say", {"conversation": cid, "text": LINES[0]})
        return {
            "turns": n,
            "cpu_ms_per_turn": round((cpu1 - cpu0) * 1000 / n, 4),
            "median_ms": _summary(samples)["median_ms"],
            "wall_ms_per_turn": round(wall * 1000 / n, 4),
            "providers": [p["name"] for p in info["providers"]],
            "answered_by": check["provider"],
            "quality_retries": info["counts"]["quality_retries"],
        }
    finally:
        _stop(proc)


async def run_bench(args: argparse.Namespace) -> int:
    personas_dir = default_personas_dir()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    report["startup"] = _startup(5, personas_dir)
    report["echo"] = await _echo(args.turns)
    with tempfile.TemporaryDirectory() as tmp:
        with Sidecar(Path(tmp), personas_dir) as side:
            async with Client(side.endpoint, side.token, timeout=60) as client:
                personas = [p["id"] for p in (await client.call("persona.list"))["personas"]]
                # The floor first, on a store with nothing to checkpoint: the checkpoint
                # thread's work after the turns would be counted in its CPU per request.
                await _floor(client, 200)  # warm up
                cpu0 = _cpu_s(_pid(side))
                report["floor"] = _summary(await _floor(client, args.turns))
                report["floor"]["cpu_ms_per_request"] = round((_cpu_s(_pid(side)) - cpu0) * 1000 / args.turns, 4)
                await _turns(client, personas[0], 200)  # warm up
                cpu0 = _cpu_s(_pid(side))
                report["turn"] = _summary(await _turns(client, personas[0], args.turns))
                report["turn"]["cpu_ms_per_turn"] = round((_cpu_s(_pid(side)) - cpu0) * 1000 / args.turns, 4)
                varied = varied_lines(args.turns)
                cpu0 = _cpu_s(_pid(side))
                report["turn_varied"] = _summary(await _turns(client, personas[0], args.turns, lines=varied))
                report["turn_varied"]["cpu_ms_per_turn"] = round((_cpu_s(_pid(side)) - cpu0) * 1000 / args.turns, 4)
                report["throughput"] = await _throughput(client, personas, args.conversations, args.turns)
    report["llm"] = await _llm_cpu(personas_dir, args.llm_turns)
    t, e = report["turn"], report["echo"]
    report["ratios"] = {
        "floor_median_to_echo_median": round(report["floor"]["median_ms"] / e["median_ms"], 2),
        "turn_median_to_echo_median": round(t["median_ms"] / e["median_ms"], 2),
        "turn_p99_to_echo_median": round(t["p99_ms"] / e["median_ms"], 2),
        "turn_p999_to_echo_median": round(t["p999_ms"] / e["median_ms"], 2),
        "varied_median_to_echo_median": round(report["turn_varied"]["median_ms"] / e["median_ms"], 2),
        "varied_p999_to_echo_median": round(report["turn_varied"]["p999_ms"] / e["median_ms"], 2),
    }
    print(json.dumps(report, indent=2))
    if not args.json:
        _table(report)
    return 0


def _table(report: dict[str, Any]) -> None:
    t, e, r, tp, llm = report["turn"], report["echo"], report["ratios"], report["throughput"], report["llm"]
    v = report["turn_varied"]
    s = report["startup"]
    rows = [
        ("machine", f"{report['machine']['cpus']} cpus, python {report['machine']['python']}", ""),
        ("start-to-ready", f"median {s['median_s']} s, max {s['max_s']} s", f"{s['runs']} runs"),
        ("echo median (bare pyzmq+msgpack)", f"{e['median_ms']} ms", "1.00x"),
        (
            "floor median (request.cancel, no work)",
            f"{report['floor']['median_ms']} ms",
            f"{r['floor_median_to_echo_median']}x; sidecar CPU {report['floor']['cpu_ms_per_request']} ms",
        ),
        ("turn median (conversation.say)", f"{t['median_ms']} ms", f"{r['turn_median_to_echo_median']}x"),
        ("turn p99", f"{t['p99_ms']} ms", f"{r['turn_p99_to_echo_median']}x"),
        ("turn p99.9", f"{t['p999_ms']} ms", f"{r['turn_p999_to_echo_median']}x"),
        ("turn max", f"{t['max_ms']} ms", ""),
        ("sidecar CPU per embedded turn", f"{t['cpu_ms_per_turn']} ms", ""),
        (
            "turn median, varied lines",
            f"{v['median_ms']} ms",
            f"{r['varied_median_to_echo_median']}x; no line repeats (bench_lines.toml)",
        ),
        ("turn p99.9, varied lines", f"{v['p999_ms']} ms", f"{r['varied_p999_to_echo_median']}x"),
        ("sidecar CPU per turn, varied lines", f"{v['cpu_ms_per_turn']} ms", ""),
        ("throughput", f"{tp['turns_per_s']} turns/s", f"{tp['conversations']} conversations in flight"),
        ("sidecar CPU per LLM turn (loopback)", f"{llm['cpu_ms_per_turn']} ms", f"{llm['turns']} turns"),
        ("LLM turn median (loopback)", f"{llm['median_ms']} ms", ""),
    ]
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    print()
    print(f"{'measure':<{width}}  {'value':<{value_width}}  vs echo median / note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {note}")
