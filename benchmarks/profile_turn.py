"""Where a turn's CPU goes inside the sidecar: runs a real sidecar under cProfile with the
event loop thread's CPU clock (`time.thread_time`: time spent waiting, for the client, the
provider or the kernel, is not counted), drives `conversation.say` turns through the
reference client (embedded engine, or a loopback OpenAI-format provider with `--llm`), stops
it with SIGTERM (the profile is written on exit) and prints the per-stage totals (dispatch,
validation, engine, store, zmq, msgpack, logging, LLM client) in ms per turn, then the
costliest functions. cProfile's own overhead inflates code made of many small calls.

Usage: .venv/bin/python benchmarks/profile_turn.py [--turns 2000] [--llm] [--out FILE.prof]

For wall-clock samples without cProfile's overhead (what a turn waits on, too), attach the
dev extra's py-spy to a running sidecar: `.venv/bin/py-spy record --pid PID -f raw -o FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from parley_client import Client, Sidecar
from sidecar.bench import LLM_KEY_ENV, _llm_config, _turns
from sidecar.paths import default_personas_dir

PROFILED_MAIN = """
import cProfile, sys, time
from sidecar.cli import main
sys.argv = ["parley", *sys.argv[2:]]
profile = cProfile.Profile(time.thread_time)
try:
    profile.runcall(main)
finally:
    profile.dump_stats({out!r})
"""

STAGES = {
    "dispatch (server/)": ("sidecar/server/",),
    "wire models (pydantic)": ("pydantic/", "pydantic_core/"),
    "msgpack + codec": ("msgpack/", "sidecar/protocol/codec.py"),
    "zmq send/recv": ("zmq/",),
    "store (sidecar/store/, apsw)": ("sidecar/store/",),
    "engine (sidecar/engine/)": ("sidecar/engine/",),
    "llm (sidecar/llm/, aiohttp)": ("sidecar/llm/", "aiohttp/", "multidict/", "yarl/"),
    "logging": ("logging/",),
    "asyncio": ("asyncio/",),
}


def stage_totals(stats: pstats.Stats, turns: int) -> dict[str, float]:
    """Own (not cumulative) time of every function, summed by the stage its file belongs to."""
    totals = dict.fromkeys(STAGES, 0.0)
    totals["other"] = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        for stage, marks in STAGES.items():
            if any(m in filename for m in marks):
                totals[stage] += tottime
                break
        else:
            totals["other"] += tottime
    return {k: round(v * 1000 / turns, 4) for k, v in totals.items()}


async def drive(side: Sidecar, turns: int) -> None:
    async with Client(side.endpoint, side.token, timeout=60) as client:
        persona = (await client.call("persona.list"))["personas"][0]["id"]
        await _turns(client, persona, turns)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--llm", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    provider = None
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "turn.prof"
        extra: list[str] = []
        env = dict(os.environ)
        if args.llm:
            provider = subprocess.Popen(
                [sys.executable, "-m", "sidecar.bench_provider"], stdout=subprocess.PIPE, text=True
            )
            assert provider.stdout is not None
            extra = ["--config", str(_llm_config(Path(tmp) / "bench.toml", int(provider.stdout.readline())))]
            env[LLM_KEY_ENV] = "sk-bench-loopback-0000000000"
        data = Path(tmp) / "data"
        data.mkdir()
        command = [sys.executable, "-c", PROFILED_MAIN.format(out=str(out)), "--"]
        try:
            side = Sidecar(data, default_personas_dir(), command=command, extra_args=extra, env=env).start()
            try:
                asyncio.run(drive(side, args.turns))
            finally:
                side.stop(timeout=60)
        finally:
            if provider is not None:
                provider.kill()
                provider.wait()
        stats = pstats.Stats(str(out))
        print(f"own time by stage, ms per turn ({args.turns} turns, {'LLM loopback' if args.llm else 'embedded'}):")
        for stage, ms in sorted(stage_totals(stats, args.turns).items(), key=lambda kv: -kv[1]):
            print(f"  {stage:<30} {ms:8.4f}")
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
