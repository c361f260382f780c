"""CPU per embedded turn, in-process: the dispatcher that sidecar/wiring.py builds over a real
SQLite file and the sample personas, its frames taken by a send function (no socket, no client
in the process's clock). Prints `time.process_time` per `conversation.say` over the measured
turns (after a warm-up), so a noisy shared machine moves it far less than wall time.

With `--in-flight N`, N conversations talk at once (each waits for its reply before its next
line, as the socket bench's throughput figure does), so the server's work per turn under
load is measured: what the group commit of the store (sidecar/store/db.py) shares between
the turns of one pass of the event loop shows here, not in the sequential figure.

A/B use: run it alternately from two checkouts (`PYTHONPATH=<other checkout> .venv/bin/python
<other checkout>/benchmarks/turn_cpu.py`) and compare medians of several runs.

Usage: .venv/bin/python benchmarks/turn_cpu.py [--turns 2000] [--warmup 200] [--repeat 1] [--in-flight 1]
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


async def run_in_flight(turns: int, warmup: int, in_flight: int) -> float:
    """CPU seconds per turn with `in_flight` conversations talking at once (`turns` in all,
    after `warmup` turns spread over the same conversations)."""
    async with dispatcher_calls() as call:
        personas = [p["id"] for p in (await call("persona.list", {}))["result"]["personas"]]

        async def start(k: int, round_: int) -> str:
            persona = personas[k % len(personas)]
            reply = await call("conversation.start", {"persona": persona, "player": f"p{k}-{round_}"})
            return str(reply["result"]["conversation"])

        async def talk(k: int, n: int, round_: int) -> None:
            cid = await start(k, round_)
            for i in range(n):
                r = await call("conversation.say", {"conversation": cid, "text": LINES[(i + k) % len(LINES)]})
                if r["ok"] and r["result"]["ended"]:
                    cid = await start(k, round_ * 1000 + i)

        await asyncio.gather(*(talk(k, max(1, warmup // in_flight), 0) for k in range(in_flight)))
        per = max(1, turns // in_flight)
        start_cpu = time.process_time()
        await asyncio.gather(*(talk(k, per, 1) for k in range(in_flight)))
        return (time.process_time() - start_cpu) / (per * in_flight)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--in-flight", type=int, default=1, help="conversations talking at once")
    args = ap.parse_args()
    for _ in range(args.repeat):
        if args.in_flight > 1:
            spent = asyncio.run(run_in_flight(args.turns, args.warmup, args.in_flight))
            print(f"{spent * 1e6:.0f} us CPU per turn ({args.turns} turns, {args.in_flight} in flight)")
        else:
            print(f"{asyncio.run(run(args.turns, args.warmup)) * 1e6:.0f} us CPU per turn ({args.turns} turns)")


if __name__ == "__main__":
    main()
