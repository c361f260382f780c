"""CPU per embedded turn, in-process: the dispatcher that sidecar/wiring.py builds over a real
SQLite file and the sample personas, its frames taken by a send function (no socket, no client
in the process's clock). Prints `time.process_time` per `conversation.say` over the measured
turns (after a warm-up), so a noisy shared machine moves it far less than wall time.

A/B use: run it alternately from two checkouts (`PYTHONPATH=<other checkout> .venv/bin/python
<other checkout>/benchmarks/turn_cpu.py`) and compare medians of several runs.

Usage: .venv/bin/python benchmarks/turn_cpu.py [--turns 2000] [--warmup 200] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from inprocess import dispatcher_calls  # the harness beside this script

from sidecar.bench import LINES


async def run(turns: int, warmup: int) -> float:
    """CPU seconds per measured turn."""
    async with dispatcher_calls() as call:
        personas = [p["id"] for p in (await call("persona.list", {}))["result"]["personas"]]
        cid = ""
        start = 0.0
        for i in range(warmup + turns):
            if i == warmup:
                start = time.process_time()
            if i % 200 == 0:
                persona = personas[(i // 200) % len(personas)]
                cid = (await call("conversation.start", {"persona": persona, "player": f"p{i}"}))["result"][
                    "conversation"
                ]
            r = await call("conversation.say", {"conversation": cid, "text": LINES[i % len(LINES)]})
            if r["ok"] and r["result"]["ended"]:
                cid = (await call("conversation.start", {"persona": persona, "player": f"p{i}b"}))["result"][
                    "conversation"
                ]
        spent = time.process_time() - start
    return spent / turns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for _ in range(args.repeat):
        print(f"{asyncio.run(run(args.turns, args.warmup)) * 1e6:.0f} us CPU per turn ({args.turns} turns)")


if __name__ == "__main__":
    main()
