"""What recording witnesses costs a turn's commit, and what `Witnesses.lines_heard` costs on a
big store.

Builds a store with the store's own API (`start_conversation`, `commit_turn`): `--players`
players, each with conversations with every persona and `--turns` turns each, a third of the
turns with two bystanders. Then times `commit_turn` with 0 and with 3 bystanders (median and
p99 over `--samples` commits each), and `lines_heard` for one persona and player (newest 200
lines). Numbers are µs on this machine; a shared machine adds noise (compare runs taken
together).

Usage: .venv/bin/python benchmarks/witness_cost.py [--players 200] [--turns 10] [--samples 2000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from sidecar.store.db import NewMessage, Store, TurnWrite
from sidecar.store.witness import Witnesses

PERSONAS = ("ansel", "goldie", "sorrel", "rook", "hesper")


def _turn(cid: str, persona: str, i: int, witnesses: tuple[str, ...]) -> TurnWrite:
    return TurnWrite(
        cid,
        (NewMessage("player", "p", f"line {i} about the forge"), NewMessage(persona, persona, f"answer {i}")),
        {},
        witnesses=witnesses,
    )


def _others(persona: str, n: int) -> tuple[str, ...]:
    return tuple(p for p in PERSONAS if p != persona)[:n]


async def build(store: Store, players: int, turns: int) -> None:
    for pl in range(players):
        for persona in PERSONAS:
            cid = f"c{pl}_{persona}"
            await store.start_conversation(
                conversation_id=cid,
                player_id=f"p{pl}",
                persona_id=persona,
                seed=1,
                greeting=NewMessage(persona, persona, "hello"),
                memory={},
            )
            for i in range(turns):
                await store.commit_turn(_turn(cid, persona, i, _others(persona, 2) if i % 3 == 0 else ()))


async def timed_commits(store: Store, samples: int, bystanders: int) -> list[float]:
    cid = f"bench_{bystanders}"
    await store.start_conversation(
        conversation_id=cid, player_id="p0", persona_id="goldie", seed=1,
        greeting=NewMessage("goldie", "Goldie", "hello"), memory={},
    )
    out: list[float] = []
    for i in range(samples):
        w = _others("goldie", bystanders)
        t0 = time.perf_counter()
        await store.commit_turn(_turn(cid, "goldie", i, w))
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def _summary(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"median_us": round(statistics.median(xs), 1), "p99_us": round(xs[int(len(xs) * 0.99) - 1], 1)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=200)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        store = await Store.open(Path(d) / "parley.sqlite3", checkpoint_interval=None)
        try:
            await build(store, a.players, a.turns)
            lines = (await store.counts())["messages"]
            plain = await timed_commits(store, a.samples, 0)
            witnessed = await timed_commits(store, a.samples, 3)
            seen = Witnesses(store)
            heard: list[float] = []
            for i in range(200):
                t0 = time.perf_counter()
                await seen.lines_heard("rook", f"p{i % a.players}")
                heard.append((time.perf_counter() - t0) * 1e6)
        finally:
            await store.close()
    result = {
        "lines": lines,
        "commit_no_witnesses": _summary(plain),
        "commit_3_witnesses": _summary(witnessed),
        "lines_heard_200": _summary(heard),
    }
    print(json.dumps(result) if a.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
