"""Scale of history (issue 13): a store of 1,000,000 lines, built with the store's own API
(`Store.start_conversation` / `Store.commit_turn`, grouped into one transaction per batch;
not through the socket), then measured through the in-process dispatcher (benchmarks/
inprocess.py: every op's whole path but the socket):

- build rate and database size (file after a TRUNCATE checkpoint; the search index's share);
- history page loads: `conversation.list` (first page, a page 200 pages deep, by player) and
  `conversation.history` (a long conversation's newest 50, and paging back with `before`);
- `history.search`: median and p99 over a fixed query set (common, rare, two-word, "sword",
  by persona);
- embedded turn latency (`conversation.say`) on this store vs an empty one, in interleaved
  blocks in the same process so the shared machine's load falls on both alike;
- `archive.run` throughput (every ended conversation), then search over the archived lines.

Usage: .venv/bin/python benchmarks/history_scale.py [--lines 1000000] [--dir DIR] [--json]
(`--dir` keeps the built store there and reuses it on the next run; archiving always runs
on a copy.)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from inprocess import Call, dispatcher_calls  # the harness beside this script

from sidecar.bench import LINES as SAY_LINES
from sidecar.paths import default_personas_dir
from sidecar.personas.loader import load_personas
from sidecar.store.db import DB_FILENAME, NewMessage, Store, TurnWrite

PERSONAS = ("ansel", "goldie", "sorrel", "rook", "hesper")
TURNS_PER_CONVERSATION = 24
LINES_PER_CONVERSATION = 1 + 2 * TURNS_PER_CONVERSATION
PLAYERS = 500
BATCH_TURNS = 2_000
SEED = 20261202


def _vocabulary() -> list[str]:
    """Words of the sample personas' own lines (a village's vocabulary), most common first."""
    words: dict[str, int] = {}
    for persona in load_personas(default_personas_dir()).personas.values():
        texts = [*persona.greetings, *persona.farewells, *persona.fallbacks, *persona.facts, persona.bio]
        texts += [line for topic in persona.topics.values() for line in topic.lines]
        for text in texts:
            for w in text.replace("{player}", "").replace("{name}", "").split():
                w = w.strip(".,!?;:'\"()").lower()
                if w.isalpha():
                    words[w] = words.get(w, 0) + 1
    return sorted(words, key=lambda w: -words[w])


class Sentences:
    """Random lines of 5–18 words, words drawn Zipf-like from the vocabulary."""

    def __init__(self, vocabulary: list[str], rng: random.Random) -> None:
        self.words = vocabulary
        self.rng = rng
        self.cum_weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(vocabulary))))

    def line(self) -> str:
        picked = self.rng.choices(self.words, cum_weights=self.cum_weights, k=self.rng.randint(5, 18))
        return " ".join(picked).capitalize() + self.rng.choice(".?!")


async def build(path: Path, lines: int) -> dict[str, float]:
    rng = random.Random(SEED)
    said = Sentences(_vocabulary(), rng)
    conversations = math.ceil(lines / LINES_PER_CONVERSATION)
    store = await Store.open(path, checkpoint_interval=None)
    t0 = time.perf_counter()
    try:
        turns_in_batch = 0
        store.conn.execute("BEGIN")
        for n in range(conversations):
            cid, persona, player = f"c_{n:07d}", PERSONAS[n % len(PERSONAS)], f"player{n % PLAYERS}"
            await store.start_conversation(
                conversation_id=cid,
                player_id=player,
                persona_id=persona,
                seed=n,
                greeting=NewMessage(persona, persona.title(), said.line()),
                memory={},
            )
            for t in range(TURNS_PER_CONVERSATION):
                ended = t == TURNS_PER_CONVERSATION - 1 and n % 10 != 0  # one in ten left open
                messages = (
                    NewMessage("player", player, said.line()),
                    NewMessage(persona, persona.title(), said.line()),
                )
                await store.commit_turn(TurnWrite(cid, messages, {}, ended=ended))
                turns_in_batch += 1
            if turns_in_batch >= BATCH_TURNS:
                store.conn.execute("COMMIT")
                await store.checkpoint()
                store.conn.execute("BEGIN")
                turns_in_batch = 0
                if n % 2000 == 0:
                    print(f"  built {n * LINES_PER_CONVERSATION:,} lines", file=sys.stderr)
        store.conn.execute("COMMIT")
    finally:
        await store.close()
    seconds = time.perf_counter() - t0
    return {
        "conversations": conversations,
        "lines": conversations * LINES_PER_CONVERSATION,
        "build_s": round(seconds, 1),
        "build_lines_per_s": round(conversations * LINES_PER_CONVERSATION / seconds),
    }


def sizes(path: Path) -> dict[str, float]:
    import apsw

    conn = apsw.Connection(str(path))
    try:
        conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
        by = dict(
            conn.execute(
                "SELECT CASE WHEN name LIKE 'lines_fts%' THEN 'search index' WHEN name LIKE 'archive_%' THEN 'archive'"
                " WHEN name LIKE 'messages%' OR name LIKE 'sqlite_autoindex_messages%' THEN 'lines'"
                " ELSE 'other' END, SUM(pgsize) FROM dbstat GROUP BY 1"
            ).fetchall()
        )
        lines = conn.execute("SELECT COUNT(*) FROM all_lines").fetchall()[0][0]
    finally:
        conn.close()
    total = path.stat().st_size
    return {
        "db_mib": round(total / 2**20, 1),
        "bytes_per_line": round(total / lines),
        **{f"{k}_mib": round(v / 2**20, 1) for k, v in sorted(by.items())},
    }


def _ms(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "median_ms": round(statistics.median(s) * 1e3, 3),
        "p99_ms": round(s[int(len(s) * 0.99) - 1] * 1e3, 3),
        "n": len(s),
    }


async def timed(call: Call, op: str, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    reply = await call(op, args)
    elapsed = time.perf_counter() - t0
    assert reply.get("ok"), (op, args, reply)
    return elapsed, reply["result"]


async def pages(call: Call, conversations: int) -> dict[str, Any]:
    rng = random.Random(SEED + 1)
    first = [(await timed(call, "conversation.list", {"limit": 50}))[0] for _ in range(100)]
    cursor = None
    deep: list[float] = []
    for _ in range(200):
        args: dict[str, Any] = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        elapsed, result = await timed(call, "conversation.list", args)
        deep.append(elapsed)
        cursor = result["cursor"]
    by_player = [
        (await timed(call, "conversation.list", {"player": f"player{rng.randrange(PLAYERS)}", "limit": 50}))[0]
        for _ in range(100)
    ]
    newest: list[float] = []
    back: list[float] = []
    for _ in range(200):
        cid = f"c_{rng.randrange(conversations):07d}"
        newest.append((await timed(call, "conversation.history", {"conversation": cid, "limit": 50}))[0])
        back.append((await timed(call, "conversation.history", {"conversation": cid, "limit": 10, "before": 20}))[0])
    return {
        "list_first_page": _ms(first),
        "list_pages_1_to_200": _ms(deep),
        "list_by_player": _ms(by_player),
        "history_newest_50": _ms(newest),
        "history_before_20_limit_10": _ms(back),
    }


def queries(vocabulary: list[str]) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 2)
    common, rare = vocabulary[:50], vocabulary[len(vocabulary) // 2 :]
    out: list[dict[str, Any]] = [{"query": "sword"}] * 20
    out += [{"query": rng.choice(common)} for _ in range(60)]
    out += [{"query": rng.choice(rare)} for _ in range(60)]
    out += [{"query": f"{rng.choice(common)} {rng.choice(vocabulary[:300])}"} for _ in range(60)]
    out += [{"query": rng.choice(vocabulary[:300]), "persona": rng.choice(PERSONAS)} for _ in range(60)]
    return out


async def search(call: Call, vocabulary: list[str]) -> dict[str, Any]:
    out: dict[str, list[float]] = {}
    hits = 0
    for q in queries(vocabulary):
        elapsed, result = await timed(call, "history.search", q | {"limit": 20})
        kind = (
            "sword"
            if q["query"] == "sword"
            else "by_persona"
            if "persona" in q
            else ("two_words" if " " in q["query"] else "common" if q["query"] in vocabulary[:50] else "rare")
        )
        out.setdefault(kind, []).append(elapsed)
        out.setdefault("all", []).append(elapsed)
        hits += len(result["hits"])
    return {k: _ms(v) for k, v in out.items()} | {"hits_returned": hits}


async def turns(big: Call, empty: Call, blocks: int, per_block: int) -> dict[str, Any]:
    """`conversation.say` on each store, alternating blocks of `per_block` turns: wall time,
    and the event loop thread's CPU time (`thread_time`: the turn's own work, SQL included,
    which the other processes on a shared machine move far less than wall time)."""
    wall: dict[str, list[float]] = {"big": [], "empty": []}
    cpu: dict[str, list[float]] = {"big": [], "empty": []}
    cids: dict[str, str] = {}

    async def block(name: str, call: Call) -> None:
        for i in range(per_block):
            if i % 12 == 0 or name not in cids:
                started = await call("conversation.start", {"persona": PERSONAS[i % 5], "player": f"bench_{i}"})
                cids[name] = started["result"]["conversation"]
            c0 = time.thread_time()
            elapsed, result = await timed(
                call, "conversation.say", {"conversation": cids[name], "text": SAY_LINES[i % len(SAY_LINES)]}
            )
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(elapsed)
            if result["ended"]:
                cids.pop(name)

    await block("empty", empty)  # warm-up of both
    await block("big", big)
    for samples in (wall, cpu):
        for v in samples.values():
            v.clear()
    for b in range(blocks):
        order: list[tuple[str, Call]] = [("empty", empty), ("big", big)]
        for name, call in order if b % 2 else reversed(order):
            await block(name, call)
    big_ms, empty_ms = _ms(wall["big"]), _ms(wall["empty"])
    big_cpu, empty_cpu = _ms(cpu["big"]), _ms(cpu["empty"])
    return {
        "empty_store": empty_ms,
        "big_store": big_ms,
        "median_ratio": round(big_ms["median_ms"] / empty_ms["median_ms"], 3),
        "p99_ratio": round(big_ms["p99_ms"] / empty_ms["p99_ms"], 3),
        "cpu_empty_store": empty_cpu,
        "cpu_big_store": big_cpu,
        "cpu_median_ratio": round(big_cpu["median_ms"] / empty_cpu["median_ms"], 3),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


async def archive_all(call: Call) -> dict[str, Any]:
    t0 = time.perf_counter()
    reply = await call("archive.run", {"older_than_days": 0})
    seconds = time.perf_counter() - t0
    archived = reply["result"]["archived"]
    moved = archived * LINES_PER_CONVERSATION
    return {
        "conversations": archived,
        "lines": moved,
        "seconds": round(seconds, 1),
        "conversations_per_s": round(archived / seconds),
        "lines_per_s": round(moved / seconds),
    }


async def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="keep (and reuse) the built store here")
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--per-block", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    vocabulary = _vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.dir or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        db = data / DB_FILENAME
        figures: dict[str, Any] = {"vocabulary": len(vocabulary)}
        if not db.exists():
            figures["build"] = await build(db, args.lines)
        conversations = math.ceil(args.lines / LINES_PER_CONVERSATION)
        figures["size"] = sizes(db)
        print(json.dumps(figures), file=sys.stderr)
        steps: list[tuple[str, Callable[[Call, Call], Awaitable[Any]]]] = [
            ("pages", lambda big, empty: pages(big, conversations)),
            ("search", lambda big, empty: search(big, vocabulary)),
            ("turns", lambda big, empty: turns(big, empty, args.blocks, args.per_block)),
        ]
        async with dispatcher_calls(data) as big, dispatcher_calls() as empty:
            for name, step in steps:
                figures[name] = await step(big, empty)
                print(json.dumps({name: figures[name]}), file=sys.stderr)
        # Archiving changes the store: it runs on a copy, so a kept store stays as built.
        copy = Path(tmp) / "archive"
        copy.mkdir()
        sizes(db)  # folds the WAL in: the file alone is the whole store
        shutil.copy(db, copy / DB_FILENAME)
        async with dispatcher_calls(copy) as archived:
            figures["archive"] = await archive_all(archived)
            print(json.dumps({"archive": figures["archive"]}), file=sys.stderr)
            figures["search_after_archive"] = await search(archived, vocabulary)
        figures["size_after_archive"] = sizes(copy / DB_FILENAME)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
