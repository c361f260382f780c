"""Crash consistency: seeded `kill -9`s of a real sidecar in the middle of bursts of turns.

A few clients drive `conversation.start`, `say`, `choose`, `goal.set` and `end` at once; when
the round's seeded number of acknowledgements is reached the sidecar gets SIGKILL, with the
other clients' requests in flight. While it is dead the SQLite file is checked with apsw
(`integrity_check`, `foreign_key_check`, every conversation whole: greeting, player/NPC pairs,
at most one farewell, `turns` matching; the affinity history a chain ending at the stored
value). Restarted on the same data dir, every acknowledged line must be in
`conversation.history`, in order; the one request in flight per conversation may have landed
whole or not at all, never half; the last acknowledged goal and affinity are what is stored.

Bounded in `make test` (4 kills); `make soak` runs 100 (`soak_scale`). The kill moment is a
count of acknowledgements, not a timer, so nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import pytest
import zmq.asyncio
from soak_scale import scale  # on sys.path through tests/soak/conftest.py

from parley_client import Client, Sidecar
from sidecar.store.db import DB_FILENAME

REPO = Path(__file__).resolve().parents[2]
PERSONAS = REPO / "personas"
SEED = 20261201
KILLS = scale(4, 100)
CLIENTS = 4
GOALS = ("build_trust", "ask_favor", "flirt", "apologize")
PHRASES = (
    "Hello there, how are you today?",
    "I heard rumours about the old mill.",
    "You are a liar and a cheat.",
    "Thank you, that means a lot to me.",
    "What do you sell here?",
    "Tell me about yourself.",
    "I am sorry for what I said earlier.",
    "Could you help me with something?",
)

Line = tuple[str, str]  # (speaker, text) as conversation.history gives them


@dataclass
class Conv:
    cid: str
    player: str
    persona: str
    ops: list[list[Line]] = field(default_factory=list)
    """The lines each stored op added, in order: acknowledged ones, and in-flight ones found
    stored after a restart."""
    acked: int = 0
    """How many of `ops` were acknowledged (counted in the figures)."""
    options: int = 0
    ended: bool = False
    goal: str | None = None
    pending: str | None = None
    """The op sent and not answered when the sidecar died (`say`, `choose`, `goal.set:ID`, `end`)."""
    retired: bool = False
    """Not driven any more (its in-flight turn landed unseen, or a check failed on it)."""
    failed: bool = False
    """A check failed on it (reported once)."""
    dirty: bool = True
    """Sent something since the last check."""

    def lines(self) -> list[Line]:
        return [ln for op in self.ops for ln in op]


@dataclass
class Run:
    rng: random.Random
    convs: list[Conv] = field(default_factory=list)
    current: dict[int, Conv] = field(default_factory=dict)
    affinity: dict[tuple[str, str], int] = field(default_factory=dict)
    """Last acknowledged affinity of each player x persona (one client per player)."""
    acked_turns: int = 0
    acked_goals: int = 0
    lost: int = 0
    landed_unacked: int = 0
    integrity: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ready_s: list[float] = field(default_factory=list)


class Burst:
    """One round: clients drive turns until `target` acknowledgements, then SIGKILL."""

    def __init__(self, run: Run, sidecar: Sidecar, personas: list[str], target: int) -> None:
        self.run = run
        self.sidecar = sidecar
        self.personas = personas
        self.target = target
        self.acks = 0
        self.killed = asyncio.Event()

    def ack(self) -> None:
        self.acks += 1
        if self.acks >= self.target and not self.killed.is_set():
            assert self.sidecar.proc is not None
            os.kill(self.sidecar.proc.pid, signal.SIGKILL)  # at once: the others are mid-request
            self.killed.set()

    async def client(self, i: int, c: Client, rng: random.Random) -> None:
        player = f"player{i}"
        while True:
            conv = self.run.current.get(i)
            if conv is None or conv.ended or conv.retired:
                conv = await self.start(c, rng, player)
                self.run.current[i] = conv
                continue
            conv.dirty = True
            await self.step(c, rng, conv)

    async def start(self, c: Client, rng: random.Random, player: str) -> Conv:
        persona = rng.choice(self.personas)
        res = await c.call("conversation.start", {"persona": persona, "player": player, "seed": rng.randrange(2**31)})
        conv = Conv(str(res["conversation"]), player, persona, options=len(res["options"]))
        conv.ops.append([(res["line"]["speaker"], res["line"]["text"])])
        conv.acked = 1
        self.run.convs.append(conv)
        self.run.affinity[(player, persona)] = int(res["affinity"]["value"])
        self.run.acked_turns += 1
        self.ack()
        return conv

    async def step(self, c: Client, rng: random.Random, conv: Conv) -> None:
        roll = rng.random()
        if roll < 0.1:
            goal = rng.choice(GOALS)
            conv.pending = f"goal.set:{goal}"
            res = await c.call("goal.set", {"conversation": conv.cid, "goal": goal})
            conv.pending, conv.goal = None, str(res["goal"]["id"])
            self.run.acked_goals += 1
        elif roll < 0.18:
            conv.pending = "end"
            res = await c.call("conversation.end", {"conversation": conv.cid})
            self.acked(conv, [(res["line"]["speaker"], res["line"]["text"])])
            conv.ended = True
        else:
            choose = roll < 0.45 and conv.options > 0
            conv.pending = "choose" if choose else "say"
            if choose:
                args: dict[str, Any] = {"conversation": conv.cid, "option": rng.randrange(conv.options)}
                res = await c.call("conversation.choose", args)
            else:
                text = f"{rng.choice(PHRASES)} ({rng.randrange(10**6)})"
                res = await c.call("conversation.say", {"conversation": conv.cid, "text": text})
            self.acked(conv, [("player", res["player_text"]), (res["line"]["speaker"], res["line"]["text"])])
            conv.options, conv.ended = len(res["options"]), bool(res["ended"])
            self.run.affinity[(conv.player, conv.persona)] = int(res["affinity"]["value"])
        self.ack()

    def acked(self, conv: Conv, lines: list[Line]) -> None:
        conv.pending = None
        conv.ops.append(lines)
        conv.acked += 1
        self.run.acked_turns += 1

    async def drive(self, zctx: zmq.asyncio.Context) -> None:
        clients = [Client(self.sidecar.endpoint, self.sidecar.token, timeout=60, context=zctx) for _ in range(CLIENTS)]
        for c in clients:
            c.connect()
        rngs = [random.Random(self.run.rng.randrange(2**32)) for _ in clients]
        tasks = [asyncio.ensure_future(self.client(i, c, rngs[i])) for i, c in enumerate(clients)]
        killed = asyncio.ensure_future(self.killed.wait())
        try:
            await asyncio.wait([killed, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                if t.done():
                    t.result()  # a client failed before the kill: that is the bug to see
        finally:
            for t in (killed, *tasks):
                t.cancel()
            await asyncio.gather(killed, *tasks, return_exceptions=True)
            for c in clients:
                await c.close()
            self.sidecar.kill()  # reaps the process (already SIGKILLed unless a client failed)


# --- the dead sidecar's file ----------------------------------------------------------------------


def check_file(run: Run, db: Path) -> None:
    """The SQLite file as the killed sidecar left it. No checkpoint on close: the restarted
    sidecar recovers the same WAL."""
    con = apsw.Connection(str(db))
    con.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
    try:
        result = "; ".join(str(r[0]) for r in con.execute("PRAGMA integrity_check"))
        run.integrity.append(result)
        if result != "ok":
            run.problems.append(f"integrity_check: {result}")
        if fk := con.execute("PRAGMA foreign_key_check").fetchall():
            run.problems.append(f"foreign_key_check: {fk[:5]}")
        check_conversations(run, con)
        check_affinity_chain(run, con)
    finally:
        con.close()


def check_conversations(run: Run, con: apsw.Connection) -> None:
    speakers: dict[str, list[tuple[int, str]]] = {}
    for cid, seq, speaker in con.execute("SELECT conversation_id, seq, speaker FROM messages ORDER BY id"):
        speakers.setdefault(cid, []).append((seq, speaker))
    for cid, turns, ended_at in con.execute("SELECT id, turns, ended_at FROM conversations"):
        rows = speakers.get(cid, [])
        seqs = [s for s, _ in rows]
        shape = "".join("P" if sp == "player" else "N" for _, sp in rows)
        pairs = shape.count("P")
        farewell = len(shape) - 1 - 2 * pairs
        whole = seqs == list(range(len(rows))) and shape == "N" + "PN" * pairs + "N" * farewell and farewell in (0, 1)
        if not whole:
            run.problems.append(f"{cid}: half-written or out of order: seqs {seqs[:8]}… shape {shape}")
        elif turns != pairs + farewell:
            run.problems.append(f"{cid}: turns={turns} but {pairs} turns and {farewell} farewells stored")
        elif farewell and ended_at is None:
            run.problems.append(f"{cid}: a farewell is stored but the conversation is not ended")


def check_affinity_chain(run: Run, con: apsw.Connection) -> None:
    last: dict[tuple[str, str], int] = {}
    for player, persona, old, new, delta in con.execute(
        "SELECT player_id, persona_id, old, new, delta FROM affinity_events ORDER BY id"
    ):
        pair = (player, persona)
        if pair in last and last[pair] != old:
            run.problems.append(f"{pair}: affinity event starts at {old}, the one before ended at {last[pair]}")
        if new - old != delta or not 0 <= new <= 100:
            run.problems.append(f"{pair}: affinity event {old} -> {new} with delta {delta}")
        last[pair] = new
    for player, persona, value in con.execute("SELECT player_id, persona_id, affinity FROM relationships"):
        if (player, persona) in last and last[(player, persona)] != value:
            run.problems.append(f"{(player, persona)}: affinity {value}, its history ends at {last[(player, persona)]}")


# --- the restarted sidecar -------------------------------------------------------------------------


async def check_history(run: Run, c: Client, conv: Conv) -> bool:
    """Every acknowledged line stored, the in-flight op whole or absent. True if the in-flight
    op landed (so what it changed is unknown to us)."""
    if conv.failed:
        return False
    hist = await c.call("conversation.history", {"conversation": conv.cid, "limit": 1000})
    stored: list[Line] = [(ln["speaker"], ln["text"]) for ln in hist["lines"]]
    at = 0
    for n, op in enumerate(conv.ops):
        if stored[at : at + len(op)] != op:
            run.lost += conv.acked - min(n, conv.acked)
            run.problems.append(f"{conv.cid}: op {n} of {len(conv.ops)} not stored as acknowledged")
            conv.retired = conv.failed = True
            return False
        at += len(op)
    tail = stored[at:]
    pending, conv.pending = conv.pending, None
    if not tail:
        return False
    npc = conv.persona
    whole = (pending in ("say", "choose") and len(tail) == 2 and tail[0][0] == "player" and tail[1][0] == npc) or (
        pending == "end" and len(tail) == 1 and tail[0][0] == npc
    )
    if not whole:
        run.problems.append(f"{conv.cid}: after the acknowledged lines, {tail} (in flight: {pending})")
    conv.ops.append(tail)
    conv.retired = True  # its options and end state are the landed turn's, unseen
    run.landed_unacked += 1
    return True


async def check_goal(run: Run, c: Client, conv: Conv, pending: str | None) -> None:
    status = (await c.call("goal.status", {"conversation": conv.cid}))["goal"]
    stored = None if status is None else str(status["id"])
    allowed = {conv.goal}
    if pending is not None and pending.startswith("goal.set:"):
        allowed.add(pending.removeprefix("goal.set:"))
    if stored not in allowed:
        run.problems.append(f"{conv.cid}: goal {stored!r} stored, acknowledged {conv.goal!r} (in flight {pending})")
    conv.goal = stored


def check_affinity(run: Run, db: Path, unknown: set[tuple[str, str]]) -> None:
    """Stored affinity = the last acknowledged value, except for pairs whose in-flight turn
    landed. Read while the sidecar runs and idles (WAL: readers never block)."""
    con = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        stored = {(p, q): v for p, q, v in con.execute("SELECT player_id, persona_id, affinity FROM relationships")}
    finally:
        con.close()
    for pair, value in run.affinity.items():
        if pair in unknown:
            run.affinity[pair] = stored[pair]
        elif stored.get(pair) != value:
            run.problems.append(f"{pair}: affinity {stored.get(pair)} stored, {value} acknowledged")


async def verify(run: Run, sidecar: Sidecar, zctx: zmq.asyncio.Context, convs: list[Conv]) -> None:
    unknown: set[tuple[str, str]] = set()
    async with Client(sidecar.endpoint, sidecar.token, timeout=60, context=zctx) as c:
        for conv in convs:
            pending, conv.dirty = conv.pending, False
            if await check_history(run, c, conv):
                unknown.add((conv.player, conv.persona))
            await check_goal(run, c, conv, pending)
    check_affinity(run, sidecar.data_dir / DB_FILENAME, unknown)


def start_sidecar(run: Run, data_dir: Path) -> Sidecar:
    t0 = time.monotonic()
    sidecar = Sidecar(data_dir, PERSONAS).start()
    run.ready_s.append(time.monotonic() - t0)
    return sidecar


@pytest.mark.timeout(scale(120, 3600))
async def test_acknowledged_turns_survive_kill_9(
    data_dir: Path, zctx: zmq.asyncio.Context, report: Callable[[str, object], None]
) -> None:
    run = Run(random.Random(SEED))
    db = data_dir / DB_FILENAME
    sidecar = start_sidecar(run, data_dir)
    async with Client(sidecar.endpoint, sidecar.token, context=zctx) as c:
        personas = [p["id"] for p in (await c.call("persona.list"))["personas"]]
    for _ in range(KILLS):
        await Burst(run, sidecar, personas, target=run.rng.randint(4, 40)).drive(zctx)
        check_file(run, db)
        sidecar = start_sidecar(run, data_dir)
        await verify(run, sidecar, zctx, [cv for cv in run.convs if cv.dirty])
    # The whole record, once more, after a clean stop.
    await verify(run, sidecar, zctx, run.convs)
    assert sidecar.stop() == 0
    check_file(run, db)

    report("crash kills", KILLS)
    report("crash acknowledged turns", run.acked_turns)
    report("crash acknowledged goal.set", run.acked_goals)
    report("crash lost acknowledged turns", run.lost)
    report("crash in-flight turns that landed", run.landed_unacked)
    report("crash conversations", len(run.convs))
    report("crash integrity_check", f"{run.integrity.count('ok')}/{len(run.integrity)} ok")
    report(
        "crash restart to ready (s)",
        f"median {statistics.median(run.ready_s):.3f}, max {max(run.ready_s):.3f} over {len(run.ready_s)} starts",
    )
    assert run.problems == []
    assert run.lost == 0
    assert run.acked_turns > KILLS
