"""Instructions per turn under callgrind: the figure a busy shared machine does not move.

Runs the in-process dispatcher (benchmarks/inprocess.py: a real SQLite file, the sample
personas, no socket) under `valgrind --tool=callgrind` twice, once with `--turns` and once
with `--base` turns after the same warm-up, and prints the difference divided by the extra
turns: start-up, imports and the warm-up cancel out. Conversations start with fixed seeds and
players, so two checkouts run the same turns. With `--llm`, lines come from a loopback
OpenAI-format provider (sidecar/bench_provider.py, its own process and not traced, so its
work is not counted); the sidecar's HTTP client, prompt and parsing are.

A/B: run it from each checkout (`cd <checkout> && .venv/bin/python benchmarks/turn_instructions.py`),
back to back. Needs valgrind; ~1-2 min per figure.

Usage: .venv/bin/python benchmarks/turn_instructions.py [--turns 80] [--base 20] [--warmup 30] [--llm]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from inprocess import dispatcher_calls  # the harness beside this script

from sidecar.bench import LINES, LLM_KEY_ENV, _llm_config

HERE = Path(__file__).resolve().parent


async def _drive(turns: int, warmup: int, settings: Any) -> None:
    async with dispatcher_calls(llm=settings) as call:
        personas = [p["id"] for p in (await call("persona.list", {}))["result"]["personas"]]
        cid = ""
        for i in range(warmup + turns):
            if i % 40 == 0:
                persona = personas[(i // 40) % len(personas)]
                start = {"persona": persona, "player": f"p{i}", "seed": 1000 + i}
                cid = (await call("conversation.start", start))["result"]["conversation"]
            r = await call("conversation.say", {"conversation": cid, "text": LINES[i % len(LINES)]})
            if r["ok"] and r["result"]["ended"]:
                start = {"persona": persona, "player": f"p{i}b", "seed": 2000 + i}
                cid = (await call("conversation.start", start))["result"]["conversation"]


def _no_checkpointer() -> None:
    """The store's WAL checkpoint thread wakes on a wall-clock interval: under callgrind (tens
    of times slower, and slower still beside other runs) its work would grow with how slowly
    the run goes, not with the turns. It is off here; the checkpoint's cost is not a turn's."""
    from sidecar.store.db import Store

    open_store = Store.open.__func__  # type: ignore[attr-defined]

    async def without(cls: type[Store], path: Path, *, checkpoint_interval: float | None = None) -> Store:
        return await open_store(cls, path, checkpoint_interval=None)  # type: ignore[no-any-return]

    Store.open = classmethod(without)  # type: ignore[method-assign,assignment]


def _inner(args: argparse.Namespace) -> None:
    _no_checkpointer()
    settings = None
    if args.provider_port:
        from sidecar.llm.config import load_config, resolve

        with tempfile.TemporaryDirectory() as tmp:
            config = _llm_config(Path(tmp) / "bench.toml", args.provider_port)
            settings = resolve(load_config(config), source=str(config))
    asyncio.run(_drive(args.turns, args.warmup, settings))


def _instructions(runs: list[int], warmup: int, port: int | None) -> list[int]:
    """Instructions of a whole process per entry of `runs` (its turn count), run side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONHASHSEED": "0", LLM_KEY_ENV: "sk-bench-loopback-0000000000"}
        outs = [Path(tmp) / f"callgrind.{i}.out" for i in range(len(runs))]
        # One quick run outside callgrind first, so every module's bytecode is cached: the two
        # measured runs would otherwise race to compile what changed since the last run, and
        # whichever did would count the compilation (M of instructions per turn) as turns.
        warm = [sys.executable, __file__, "--inner", "--turns", "1", "--warmup", "1"]
        subprocess.run(warm + (["--provider-port", str(port)] if port else []), check=True, env=env)
        procs = []
        for turns, out in zip(runs, outs, strict=True):
            cmd = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--inner",
                "--turns",
                str(turns),
                "--warmup",
                str(warmup),
            ]
            if port:
                cmd += ["--provider-port", str(port)]
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for proc in procs:
            if proc.wait():
                raise SystemExit(f"valgrind run failed ({proc.returncode})")
        counts = []
        for out in outs:
            summary = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
            assert summary, "no summary line in the callgrind output"
            counts.append(int(summary.group(1)))
        return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=80)
    ap.add_argument("--base", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--llm", action="store_true")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--provider-port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        _inner(args)
        return
    provider = None
    port = None
    if args.llm:
        provider = subprocess.Popen([sys.executable, "-m", "sidecar.bench_provider"], stdout=subprocess.PIPE, text=True)
        assert provider.stdout is not None
        port = int(provider.stdout.readline())
    try:
        t0 = time.monotonic()
        many, few = _instructions([args.turns, args.base], args.warmup, port)
    finally:
        if provider is not None:
            provider.kill()
            provider.wait()
    per = (many - few) / (args.turns - args.base)
    path = "llm (loopback)" if args.llm else "embedded"
    print(
        f"{path}: {per / 1e6:.3f} M instructions per turn ({args.turns} - {args.base} turns, "
        f"{time.monotonic() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
