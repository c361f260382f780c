"""What long-term memory costs a turn: the embedded turn (`Dialogue.say`, real SQLite file)
with an empty store, then with a store of N memories over many players (the pair being
spoken to holding M of them), and recall alone (`Recall.ranked`: the FTS5 read and the
ranking). Prints medians and p99 in ms; run on a quiet machine for absolute numbers.

    .venv/bin/python benchmarks/memory_recall.py [--memories 100000] [--pair 300] [--turns 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from sidecar.engine.pipeline.recall import Recall
from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.paths import default_personas_dir
from sidecar.personas.loader import load_personas
from sidecar.store.db import Store
from sidecar.store.memory import KINDS, NewMemory

WORDS = ("trout mill river forge hammer horseshoe lantern apples orchard bridge goose stew song map "
         "harvest fence well cat dog horse rain storm market festival letter ring key boat").split()
LINES = ("Hello again!", "Did you mend the hammer?", "The river is high today.", "I brought apples.",
         "Tell me about the forge.", "Do you remember me?", "What do I like?", "The goose chased me.")


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"median {statistics.median(s) * 1e3:.3f} ms, p99 {s[int(len(s) * 0.99) - 1] * 1e3:.3f} ms"


async def _fill(store: Store, dialogue: Dialogue, total: int, pair: int) -> None:
    rng = random.Random(7)
    conn = store.conn
    now = time.time()
    with conn:  # one transaction: building the store is not what is measured
        for i in range(total):
            player = "p-bench" if i < pair else f"p{i % 5000}"
            kind = KINDS[i % len(KINDS)]
            text = f"The player {rng.choice(('saw', 'lost', 'found', 'loves', 'promised'))} the " + " ".join(
                rng.sample(WORDS, 3)) + f" ({i})."
            conn.execute(
                "INSERT INTO memories(player_id, persona_id, kind, text, importance, at, key) VALUES (?,?,?,?,?,?,?)",
                (player, "ansel", kind, text, 1 + i % 10, now - rng.random() * 30 * 86400, f"b{i}"),
            )
    await dialogue.memories.add("p-bench", "ansel", NewMemory("name", "The player's name is Mira.", 8))


async def _turns(dialogue: Dialogue, n: int) -> list[float]:
    out = []
    cid = (await dialogue.start("ansel", "p-bench", seed=1)).conversation
    for i in range(n):
        if i and i % 20 == 0:
            cid = (await dialogue.start("ansel", "p-bench", seed=i)).conversation
        t = time.perf_counter()
        await dialogue.say(cid, LINES[i % len(LINES)])
        out.append(time.perf_counter() - t)
    return out


async def main(args: argparse.Namespace) -> None:
    registry = PersonaRegistry(load_personas(default_personas_dir()).personas)
    full = f"{args.memories:,} memories, {args.pair} of the pair"
    for label, total, pair in (("empty store", 0, 0), (full, args.memories, args.pair)):
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / "parley.sqlite3", checkpoint_interval=None)
            dialogue = Dialogue(store, registry)
            if total:
                await _fill(store, dialogue, total, pair)
            await _turns(dialogue, 20)  # warm up
            turns = await _turns(dialogue, args.turns)
            recall = Recall(dialogue.memories)
            lone = []
            for i in range(args.turns):
                t = time.perf_counter()
                await recall.ranked("p-bench", "ansel", LINES[i % len(LINES)])
                lone.append(time.perf_counter() - t)
            print(f"{label}: turn {_ms(turns)}; recall alone {_ms(lone)}")
            await store.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--memories", type=int, default=100_000)
    ap.add_argument("--pair", type=int, default=300)
    ap.add_argument("--turns", type=int, default=300)
    asyncio.run(main(ap.parse_args()))
