"""The SQLite store: one apsw connection, one transaction per call (the turns of several
conversations in flight share one: group commit, `Store._flush_turns`).

Durability: WAL with `synchronous=NORMAL`. A committed turn survives a crash of the
sidecar process (the WAL is in the OS page cache, written before commit returns). A power
cut or OS crash can lose the last transactions committed since the most recent WAL sync to
disk (at most since the last checkpoint) — never corrupt the file.

Every async method runs one sync function to completion on the event loop's own thread, so
no transaction spans an `await`. That is cheap because nothing on this path waits for the
disk: with WAL and `synchronous=NORMAL` a commit appends to the WAL in the page cache and
never fsyncs; a turn's two calls take ~0.2–0.4 ms together. Handing each call to a store
thread instead cost two thread wake-ups per call, which measured 1.5–4 ms per call on the
2 shared cores of the development machine (benchmarks/server_stages.py), more than the SQL.
What does wait for the disk — checkpoints, which copy the WAL into the database and fsync —
runs on its own connection and thread. What can still stall the loop: a RESTART checkpoint
(only past `WAL_RESET_FRAMES` of sustained writes) makes the next write wait until it ends,
and a kernel under heavy dirty-page pressure can make a WAL append slow.

`commit_turn` is the one call that waits a pass of the event loop: the turns that reach it
in the same pass are committed together, each in its own savepoint, and each waiter resumes
only after that COMMIT (so an acknowledged turn is as durable as before).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

import apsw
import orjson

from sidecar.errors import StoreError
from sidecar.store import witness
from sidecar.store import world as world_facts
from sidecar.store.memory import NewMemory, write_turn_memories
from sidecar.store.migrations import MIGRATIONS, SCHEMA_VERSION
from sidecar.store.summaries import SummaryWrite, insert_sync
from sidecar.store.tx import writing

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

def _dump_state(memory: Mapping[str, Any]) -> str:
    """A conversation's state as the JSON text stored in `conversations.memory` (orjson: it is
    written every turn; non-str keys become strings, as `json.dumps` made them)."""
    return orjson.dumps(memory, option=orjson.OPT_NON_STR_KEYS).decode()


DB_FILENAME = "parley.sqlite3"
DEFAULT_AFFINITY = 50
CHECKPOINT_INTERVAL_S = 2.0
"""How often the background checkpointer folds the WAL into the database when little is
written; see `CHECKPOINT_FRAMES`."""
CHECKPOINT_FRAMES = 1_024
"""A WAL grown by this many frames (4 MiB of 4 KiB pages, SQLite's own auto-checkpoint size)
since the last checkpoint wakes the checkpointer before its interval is up. What stalls a turn
during a checkpoint is the disk: its fsync of the WAL and the database makes the WAL appends
of the turns in flight wait. Under sustained turns (the bench: ~17 frames a turn) a 2 s
interval fsynced ~80 MB at once and stalled turns by 15-30 ms; 4 MiB at a time stalls them by
a few ms (benchmarks in the issue 11 note)."""
WAL_RESET_FRAMES = 16_384
"""A WAL this long (64 MiB of 4 KiB pages) that passive checkpoints cannot reset (writes
never pause) gets one RESTART checkpoint on the checkpoint thread (writes wait while it runs)."""
CATCH_UP_PASSES = 2
"""Passive passes after a checkpoint's first, while turns keep appending (`_checkpoint_sync`):
in 2,000 sustained bench turns they took the RESTART checkpoints from 2 to 0."""
RESTART_WAIT_MS = 2_000
"""How long a RESTART checkpoint waits for a gap between writes before it gives up (logged;
tried again at the next interval)."""


def _conversation_row(r: Any) -> ConversationRow:
    """A `ConversationRow` from the first ten columns of a row, in the table's order."""
    return ConversationRow(
        id=r[0],
        player_id=r[1],
        persona_id=r[2],
        seed=r[3],
        started_at=r[4],
        updated_at=r[5],
        ended_at=r[6],
        archived_at=r[7],
        turns=r[8],
        memory=orjson.loads(r[9]),
    )


def _goal_row(r: Any) -> GoalRow:
    """A `GoalRow` from the eight columns of `goals` that `GoalRow` holds, in its order."""
    return GoalRow(r[0], r[1], json.loads(r[2]), int(r[3]), float(r[4]), bool(r[5]), bool(r[6]), r[7])


@dataclass(frozen=True)
class ConversationRow:
    id: str
    player_id: str
    persona_id: str
    seed: int
    started_at: float
    updated_at: float
    ended_at: float | None
    archived_at: float | None
    turns: int
    memory: Mapping[str, Any]


class MessageRow(NamedTuple):
    """One stored line. A NamedTuple, not a frozen dataclass: a turn reads its 24-line window
    every time, and a frozen dataclass's `__init__` made that read cost 5x more."""

    seq: int
    speaker: str
    name: str
    text: str
    at: float
    sentiment: str | None = None
    compound: float | None = None
    provider: str | None = None
    quality: int | None = None
    retries: int = 0
    stance: float | None = None
    """A player line's stance toward the NPC (-1..1); None for NPC lines and old rows."""
    emotion: str | None = None
    """An NPC line's emotion (engine/emotion.py); None for player lines and old rows."""
    intensity: float | None = None


@dataclass(frozen=True)
class NewMessage:
    speaker: str
    name: str
    text: str
    sentiment: str | None = None
    compound: float | None = None
    provider: str | None = None
    quality: int | None = None
    retries: int = 0
    quality_rules: str | None = None
    """JSON list of the quality rules that fired (name, points)."""
    arc: str | None = None
    stance: float | None = None
    emotion: str | None = None
    intensity: float | None = None


@dataclass(frozen=True)
class GoalRow:
    conversation_id: str
    goal_id: str
    definition: Mapping[str, Any]
    set_at_seq: int
    progress: float
    completed: bool
    rewarded: bool
    reason: str


@dataclass(frozen=True)
class GoalWrite:
    progress: float
    completed: bool
    rewarded: bool
    reason: str


@dataclass(frozen=True)
class AffinityWrite:
    delta: int
    reason: str


@dataclass(frozen=True)
class TurnState:
    """Everything a turn reads, read in one go (one trip to the store's thread)."""

    conversation: ConversationRow
    lines: list[MessageRow]
    affinity: int
    goal: GoalRow | None
    world: Mapping[str, world_facts.Value] = field(default_factory=dict)
    """The game's world facts (sidecar/store/world.py) as this turn starts."""


@dataclass(frozen=True)
class AffinityResult:
    old: int
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.old


@dataclass(frozen=True)
class TurnWrite:
    """Everything one turn stores, committed in one transaction."""

    conversation_id: str
    messages: tuple[NewMessage, ...]
    memory: Mapping[str, Any]
    affinity: AffinityWrite | None = None
    ended: bool = False
    goal: GoalWrite | None = None
    told_actions: tuple[str, ...] = ()
    """Ids of action results this turn's prompt carried (sidecar/store/actions.py)."""
    memories: tuple[NewMemory, ...] = ()
    """Long-term memories made by this turn, sourced to its lines (store/memory.py)."""
    witnesses: tuple[str, ...] = ()
    """Bystander persona ids who heard every line of this write (store/witness.py)."""
    summary: SummaryWrite | None = None
    """A rolling summary the turn's prompt was built on (store/summaries.py)."""


def insert_messages(conn: Any, cid: str, first_seq: int, messages: Iterable[NewMessage], now: float) -> None:
    """Lines `first_seq`, `first_seq + 1`, ... of a conversation, inside the caller's transaction."""
    conn.executemany(
        "INSERT INTO messages(conversation_id, seq, speaker, name, text, at, sentiment,"
        " compound, provider, quality, retries, quality_rules, arc, stance, emotion, intensity)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                cid,
                first_seq + i,
                m.speaker,
                m.name,
                m.text,
                now,
                m.sentiment,
                m.compound,
                m.provider,
                m.quality,
                m.retries,
                m.quality_rules,
                m.arc,
                m.stance,
                m.emotion,
                m.intensity,
            )
            for i, m in enumerate(messages)
        ],
    )


def apply_affinity(
    conn: Any, player_id: str, persona_id: str, conversation_id: str, old: int, write: AffinityWrite | None, now: float
) -> int:
    """Move the pair's affinity from `old` by `write.delta` (clamped 0..100) and log the
    change, inside the caller's transaction; returns the new value (`old` when unchanged)."""
    if write is None or write.delta == 0:
        return old
    new = max(0, min(100, old + write.delta))
    conn.execute(
        "UPDATE relationships SET affinity=?, updated_at=? WHERE player_id=? AND persona_id=?",
        (new, now, player_id, persona_id),
    )
    conn.execute(
        "INSERT INTO affinity_events(player_id, persona_id, conversation_id, old,"
        " new, delta, reason, at) VALUES (?,?,?,?,?,?,?,?)",
        (player_id, persona_id, conversation_id, old, new, new - old, write.reason, now),
    )
    return new


class Store:
    """Open with `await Store.open(path)`; close with `await store.close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: apsw.Connection | None = None
        # Checkpoints run on their own connection and thread: SQLite's automatic checkpoint
        # runs inside the commit that crosses the threshold, which put 2–15 ms spikes on the
        # request path (p99 2.0 ms, p99.9 5.7 ms vs 0.27 / 0.49 ms without; see README).
        self._ckpt_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-checkpoint")
        self._ckpt_conn: apsw.Connection | None = None
        self._ckpt_task: asyncio.Future[None] | None = None
        self._ckpt_due = asyncio.Event()
        """Set by `_on_wal` when the WAL has grown by `CHECKPOINT_FRAMES` since the last checkpoint."""
        self._ckpt_frames = 0
        """The WAL's length in frames when the checkpointer last ran."""
        self._turns: list[tuple[TurnWrite, asyncio.Future[AffinityResult]]] = []
        """Turns waiting for the group commit of this pass of the event loop."""

    @classmethod
    async def open(cls, path: Path, *, checkpoint_interval: float | None = CHECKPOINT_INTERVAL_S) -> Store:
        """Open (creating and migrating as needed). With `checkpoint_interval`, a background
        task checkpoints the WAL off the request path until `close()`."""
        store = cls(path)
        await store._run(store._open_sync)
        if checkpoint_interval:
            store._ckpt_task = asyncio.ensure_future(store.run_checkpointer(checkpoint_interval))
        return store

    async def close(self) -> None:
        if self._ckpt_task is not None:
            self._ckpt_task.cancel()
            try:
                await self._ckpt_task
            except asyncio.CancelledError:
                pass
            self._ckpt_task = None
        if self._turns:  # a group still waiting for its pass: commit it before closing
            self._flush_turns()
        if self._conn is not None:
            await self._run(self._close_sync)
        self._ckpt_executor.submit(self._close_checkpointer).result()
        self._ckpt_executor.shutdown(wait=True)

    # --- plumbing ------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on this thread, to completion (see the module doc for why it does not
        go to a thread); async so callers stay free of how the store runs its calls."""
        return self._guarded(fn, args)

    async def run(self, fn: Callable[Concatenate[Any, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(conn, *args, **kwargs)` as one store call: the entry point of the topic modules
        (sidecar/store/history.py, archive.py, world.py)."""
        return self._guarded(functools.partial(fn, self.conn, *args, **kwargs), ())

    @staticmethod
    def _guarded(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return fn(*args)
        except apsw.Error as exc:
            raise StoreError(f"database error: {type(exc).__name__}: {exc}") from exc

    @property
    def conn(self) -> Any:
        """The connection, typed loosely on purpose: apsw types every column as a union of all
        SQLite values, which would need a cast per read; the SQL is covered by the tests."""
        assert self._conn is not None, "store is closed"
        return self._conn

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = apsw.Connection(str(self.path))
        conn.set_busy_timeout(5_000)
        # One pragma per execute, read back: a multi-statement execute stops at the first
        # statement that returns a row.
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchall()[0][0]
        if mode != "wal":
            raise StoreError(f"could not enable WAL (journal_mode={mode})")
        conn.execute("PRAGMA synchronous=NORMAL")
        if conn.execute("PRAGMA synchronous").fetchall()[0][0] != 1:
            raise StoreError("could not set synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # The query planner stability guarantee: a statement keeps the plan it was prepared
        # with whatever values are bound. Without it this build (STAT4) marks a join's or an
        # ORDER BY ... LIMIT's key parameter as plan-relevant and re-prepares the cached
        # statement (parses the SQL again) each time a new conversation id is bound: three of
        # a turn's statements, ~7% of its CPU. Every query here is a keyed lookup, whose plan
        # does not depend on the key's value.
        if conn.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, 1) != 1:
            raise StoreError("could not enable the query planner stability guarantee")
        conn.execute("PRAGMA wal_autocheckpoint=0").fetchall()
        conn.set_wal_hook(self._on_wal)
        # After a WAL reset, truncate the file back to this size instead of keeping its peak.
        conn.execute("PRAGMA journal_size_limit=67108864").fetchall()
        self._conn = conn
        self._migrate()

    def _close_sync(self) -> None:
        assert self._conn is not None
        try:
            self._conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
        except apsw.BusyError:
            pass
        self._conn.close()
        self._conn = None

    def _close_checkpointer(self) -> None:
        if self._ckpt_conn is not None:
            self._ckpt_conn.close()
            self._ckpt_conn = None

    async def migrate(self) -> None:
        """Bring the schema up to this sidecar's version (after a save slot is loaded)."""
        await self._run(self._migrate)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchall()[0][0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this sidecar's "
                f"{SCHEMA_VERSION}: upgrade Parley or use another data dir"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.conn:
                self.conn.execute(MIGRATIONS[target - 1])
                self.conn.execute(f"PRAGMA user_version={target}")
            log.info("migrated store", extra={"schema_version": target})

    # --- queries -------------------------------------------------------------------------

    async def schema_version(self) -> int:
        return await self._run(lambda: self.conn.execute("PRAGMA user_version").fetchall()[0][0])

    async def start_conversation(
        self,
        *,
        conversation_id: str,
        player_id: str,
        persona_id: str,
        seed: int,
        greeting: NewMessage,
        memory: Mapping[str, Any],
        initial_affinity: int = DEFAULT_AFFINITY,
    ) -> int:
        """Create the player and relationship if new, the conversation and its greeting.
        Returns the current affinity."""
        return await self._run(
            self._start_sync,
            conversation_id,
            player_id,
            persona_id,
            seed,
            greeting,
            memory,
            initial_affinity,
        )

    def _start_sync(
        self,
        cid: str,
        player_id: str,
        persona_id: str,
        seed: int,
        greeting: NewMessage,
        memory: Mapping[str, Any],
        initial_affinity: int,
    ) -> int:
        now = time.time()
        c = self.conn
        with c:
            c.execute("INSERT OR IGNORE INTO players(id, created_at) VALUES (?, ?)", (player_id, now))
            c.execute(
                "INSERT OR IGNORE INTO relationships(player_id, persona_id, affinity, updated_at) VALUES (?, ?, ?, ?)",
                (player_id, persona_id, initial_affinity, now),
            )
            c.execute(
                "INSERT INTO conversations(id, player_id, persona_id, seed, started_at,"
                " updated_at, memory) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cid, player_id, persona_id, seed, now, now, _dump_state(memory)),
            )
            self._insert_messages(cid, 0, [greeting], now)
            row = c.execute(
                "SELECT affinity FROM relationships WHERE player_id=? AND persona_id=?",
                (player_id, persona_id),
            ).fetchall()
        return int(row[0][0])

    def _insert_messages(self, cid: str, first_seq: int, messages: Iterable[NewMessage], now: float) -> None:
        insert_messages(self.conn, cid, first_seq, messages, now)

    async def conversation(self, conversation_id: str) -> ConversationRow | None:
        return await self._run(self._conversation_sync, conversation_id)

    def _conversation_sync(self, cid: str) -> ConversationRow | None:
        rows = self.conn.execute(
            "SELECT id, player_id, persona_id, seed, started_at, updated_at, ended_at,"
            " archived_at, turns, memory FROM conversations WHERE id=?",
            (cid,),
        ).fetchall()
        if not rows:
            return None
        return _conversation_row(rows[0])

    async def turn_state(self, conversation_id: str, window: int) -> TurnState | None:
        """The conversation, its newest `window` lines, the affinity and the goal, or None
        if there is no such conversation."""
        return await self._run(self._turn_state_sync, conversation_id, window)

    def _turn_state_sync(self, cid: str, window: int) -> TurnState | None:
        # The conversation, its pair's affinity and its goal in one statement (three
        # statements cost ~2x the SQLite work on every turn); the lines in a second.
        rows = self.conn.execute(
            "SELECT c.id, c.player_id, c.persona_id, c.seed, c.started_at, c.updated_at, c.ended_at,"
            " c.archived_at, c.turns, c.memory, r.affinity, g.goal_id, g.definition, g.set_at_seq,"
            " g.progress, g.completed, g.rewarded, g.reason FROM conversations c"
            " LEFT JOIN relationships r ON r.player_id=c.player_id AND r.persona_id=c.persona_id"
            " LEFT JOIN goals g ON g.conversation_id=c.id WHERE c.id=?",
            (cid,),
        ).fetchall()
        if not rows:
            return None
        r = rows[0]
        return TurnState(
            conversation=_conversation_row(r),
            lines=self._lines_sync(cid, window),
            affinity=int(r[10]) if r[10] is not None else DEFAULT_AFFINITY,
            goal=_goal_row((cid, *r[11:])) if r[11] is not None else None,
            world=world_facts.facts(self.conn),
        )

    async def affinity(self, player_id: str, persona_id: str) -> int:
        def q() -> int:
            rows = self.conn.execute(
                "SELECT affinity FROM relationships WHERE player_id=? AND persona_id=?",
                (player_id, persona_id),
            ).fetchall()
            return int(rows[0][0]) if rows else DEFAULT_AFFINITY

        return await self._run(q)

    async def lines(self, conversation_id: str, limit: int | None = None) -> list[MessageRow]:
        """The newest `limit` lines (all when None), oldest first."""
        return await self._run(self._lines_sync, conversation_id, limit)

    def _lines_sync(self, cid: str, limit: int | None) -> list[MessageRow]:
        rows = self.conn.execute(
            "SELECT seq, speaker, name, text, at, sentiment, compound, provider, quality,"
            " retries, stance, emotion, intensity FROM messages WHERE conversation_id=?"
            " ORDER BY seq DESC LIMIT ?",
            (cid, -1 if limit is None else limit),
        ).fetchall()
        return list(map(MessageRow._make, reversed(rows)))

    async def commit_turn(self, turn: TurnWrite) -> AffinityResult:
        """Store one turn atomically; returns the affinity before and after, once the turn
        is committed (group commit: see `_flush_turns`). Raises StoreError for this turn
        alone when its own writes fail (nothing of it is stored)."""
        if self.conn.in_transaction:  # a caller's transaction groups the calls (bulk loads)
            return self._guarded(self._commit_turn_sync, (turn,))
        loop = asyncio.get_running_loop()
        done: asyncio.Future[AffinityResult] = loop.create_future()
        self._turns.append((turn, done))
        if len(self._turns) == 1:
            loop.call_soon(self._flush_turns)
        # A waiter cancelled now (shutdown) cancels `done` but not the write: the turn stays in
        # its group and is committed with it, as a turn already written would be.
        return await done

    def _flush_turns(self) -> None:
        """Group commit: every turn that reached `commit_turn` in the same pass of the event
        loop (the turns of other conversations in flight) is written in one transaction, each
        in its own savepoint, so the per-transaction work (BEGIN/COMMIT, the WAL append of
        the pages they share, one FTS5 segment instead of one per turn) is paid once.

        Semantics kept: a turn's reply waits for the COMMIT that holds it (no acknowledged
        turn is lost on a sidecar crash, as before); each turn is atomic (a failing one rolls
        back to its savepoint and gets its StoreError; the others commit); a failed COMMIT
        fails every turn of the group, none of them stored. A lone turn (the usual case for
        one conversation) is one transaction, exactly as before."""
        group, self._turns = self._turns, []
        if not group:  # already flushed by `close`
            return
        if self._conn is None:  # closed meanwhile: nothing can be written
            for _, done in group:
                if not done.done():
                    done.set_exception(StoreError("store is closed"))
            return
        if len(group) == 1:
            turn, done = group[0]
            try:
                result = self._guarded(self._commit_turn_sync, (turn,))
            except Exception as exc:  # the waiter raises it (a callback's error would be lost)
                if not done.done():
                    done.set_exception(exc)
                return
            if not done.done():
                done.set_result(result)
            return
        results: list[tuple[asyncio.Future[AffinityResult], AffinityResult | Exception]] = []
        try:
            with writing(self.conn):
                for turn, done in group:
                    try:  # `writing` inside a transaction is a savepoint: this turn alone
                        results.append((done, self._guarded(self._commit_turn_sync, (turn,))))
                    except Exception as exc:
                        results.append((done, exc))
        except Exception as exc:  # BEGIN or COMMIT failed: no turn of the group is stored
            failed = StoreError(f"database error: {type(exc).__name__}: {exc}")
            results = [(done, failed) for _, done in group]
        for done, outcome in results:
            if done.done():
                continue
            if isinstance(outcome, Exception):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)

    def _commit_turn_sync(self, t: TurnWrite) -> AffinityResult:
        now = time.time()
        c = self.conn
        with writing(c):
            # One read for what the writes need (the pair, the next seq, the affinity before);
            # the conversation's memory is replaced, so it is not read (nor parsed) here.
            rows = c.execute(
                "SELECT c.player_id, c.persona_id,"
                " (SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id=c.id),"
                " r.affinity FROM conversations c JOIN relationships r"
                " ON r.player_id=c.player_id AND r.persona_id=c.persona_id WHERE c.id=?",
                (t.conversation_id,),
            ).fetchall()
            if not rows:
                raise StoreError(f"conversation {t.conversation_id} vanished")
            player_id, persona_id, next_seq, old = rows[0]
            self._insert_messages(t.conversation_id, next_seq, t.messages, now)
            write_turn_memories(c, player_id, persona_id, t.conversation_id, next_seq, t.memories, now)
            witness.record_sync(c, t.conversation_id, next_seq, len(t.messages), t.witnesses)
            if t.ended:
                c.execute(
                    "UPDATE conversations SET turns=turns+1, updated_at=?, memory=?, ended_at=? WHERE id=?",
                    (now, _dump_state(t.memory), now, t.conversation_id),
                )
            else:
                # `ended_at` left out of the SET, not set to itself: a column in the SET has
                # its index entries rewritten (`conversations_ended`), one more page per turn.
                c.execute(
                    "UPDATE conversations SET turns=turns+1, updated_at=?, memory=? WHERE id=?",
                    (now, _dump_state(t.memory), t.conversation_id),
                )
            new = apply_affinity(c, player_id, persona_id, t.conversation_id, old, t.affinity, now)
            if t.goal is not None:
                c.execute(
                    "UPDATE goals SET progress=?, completed=?, rewarded=?, reason=?, updated_at=?"
                    " WHERE conversation_id=?",
                    (t.goal.progress, t.goal.completed, t.goal.rewarded, t.goal.reason, now, t.conversation_id),
                )
            c.executemany("UPDATE actions SET told=1 WHERE id=?", [(i,) for i in t.told_actions])
            if t.summary is not None:
                insert_sync(c, t.conversation_id, t.summary, now)
        return AffinityResult(old=int(old), new=int(new))

    async def lines_since(self, conversation_id: str, seq: int, limit: int = 60) -> list[MessageRow]:
        """Lines with `seq` >= the given one (the newest `limit`), oldest first."""

        def q() -> list[MessageRow]:
            rows = self.conn.execute(
                "SELECT seq, speaker, name, text, at, sentiment, compound, provider, quality,"
                " retries, stance, emotion, intensity FROM messages WHERE conversation_id=? AND seq>=?"
                " ORDER BY seq DESC LIMIT ?",
                (conversation_id, seq, limit),
            ).fetchall()
            return list(map(MessageRow._make, reversed(rows)))

        return await self._run(q)

    async def set_memory(self, conversation_id: str, memory: Mapping[str, Any]) -> None:
        await self._run(self._set_memory_sync, conversation_id, memory)

    def _set_memory_sync(self, cid: str, memory: Mapping[str, Any]) -> None:
        with self.conn:
            self.conn.execute("UPDATE conversations SET memory=? WHERE id=?", (_dump_state(memory), cid))

    async def goal(self, conversation_id: str) -> GoalRow | None:
        return await self._run(self._goal_sync, conversation_id)

    def _goal_sync(self, cid: str) -> GoalRow | None:
        rows = self.conn.execute(
            "SELECT conversation_id, goal_id, definition, set_at_seq, progress, completed, rewarded,"
            " reason FROM goals WHERE conversation_id=?",
            (cid,),
        ).fetchall()
        if not rows:
            return None
        return _goal_row(rows[0])

    async def set_goal(self, conversation_id: str, goal_id: str, definition: Mapping[str, Any]) -> GoalRow:
        """Set (or replace) the conversation's goal; progress counts from the next line."""

        def q() -> GoalRow:
            now = time.time()
            with writing(self.conn):
                seq = self.conn.execute(
                    "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id=?",
                    (conversation_id,),
                ).fetchall()[0][0]
                self.conn.execute(
                    "INSERT OR REPLACE INTO goals(conversation_id, goal_id, definition, set_at_seq, progress,"
                    " completed, rewarded, reason, set_at, updated_at) VALUES (?,?,?,?,0,0,0,'',?,?)",
                    (conversation_id, goal_id, json.dumps(dict(definition)), seq, now, now),
                )
            return GoalRow(conversation_id, goal_id, dict(definition), int(seq), 0.0, False, False, "")

        return await self._run(q)

    async def clear_goal(self, conversation_id: str) -> bool:
        def q() -> bool:
            with self.conn:
                self.conn.execute("DELETE FROM goals WHERE conversation_id=?", (conversation_id,))
                return bool(self.conn.changes())

        return await self._run(q)

    async def counts(self) -> dict[str, int]:
        def q() -> dict[str, int]:
            out: dict[str, int] = {}
            for table in ("players", "conversations", "messages"):
                out[table] = int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0])
            # Archived lines are stored lines too (sidecar/store/archive.py).
            out["messages"] += int(self.conn.execute("SELECT COUNT(*) FROM archive_messages").fetchall()[0][0])
            row = self.conn.execute(
                "SELECT COALESCE(SUM(retries), 0), COUNT(quality), COALESCE(SUM(retries > 0), 0) FROM messages"
            ).fetchall()[0]
            out["quality_retries"], out["quality_scored"], out["quality_retried_lines"] = map(int, row)
            return out

        return await self._run(q)

    async def checkpoint(self) -> tuple[int, int]:
        """Fold the WAL into the database on the checkpoint thread (PASSIVE: never waits for,
        nor blocks, the request path's writer). Returns (WAL frames, frames checkpointed)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._ckpt_executor, self._guarded, self._checkpoint_sync, ())

    def _checkpoint_sync(self) -> tuple[int, int]:
        if self._ckpt_conn is None:
            self._ckpt_conn = apsw.Connection(str(self.path))
            self._ckpt_conn.set_busy_timeout(0)
            # A fresh connection only learns the file is in WAL mode when it first reads it;
            # until then wal_checkpoint() answers (-1, -1) and does nothing.
            self._ckpt_conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchall()
        result: tuple[int, int] = self._ckpt_conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
        # Under sustained turns a pass never ends with the WAL copied to its end (turns append
        # while it fsyncs), so the WAL is never started over and grows to the RESTART size,
        # whose wait stalls a turn. A few more passes copy only what came in meanwhile, each
        # quicker than the last; once one finds nothing new, the next write starts the WAL over.
        for _ in range(CATCH_UP_PASSES):
            again: tuple[int, int] = self._ckpt_conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
            if again[0] <= result[0]:  # nothing new, or the WAL was started over meanwhile
                return again
            result = again
        return result

    async def restart_wal(self) -> tuple[int, int]:
        """A RESTART checkpoint on the checkpoint thread: waits (up to `RESTART_WAIT_MS`) for
        a moment between two writes, copies the whole WAL into the database, and makes the
        next write start the WAL from its beginning; writes wait while it runs."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._ckpt_executor, self._guarded, self._restart_sync, ())

    def _restart_sync(self) -> tuple[int, int]:
        self._checkpoint_sync()  # opens the checkpoint connection on first use
        assert self._ckpt_conn is not None
        self._ckpt_conn.set_busy_timeout(RESTART_WAIT_MS)
        try:
            result: tuple[int, int] = self._ckpt_conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_RESTART)
        finally:
            self._ckpt_conn.set_busy_timeout(0)
        return result

    @property
    def checkpoint_due(self) -> bool:
        """Whether the WAL has grown by `CHECKPOINT_FRAMES` since the checkpointer last ran."""
        return self._ckpt_due.is_set()

    def _on_wal(self, conn: apsw.Connection, db: str, frames: int) -> int:
        """SQLite's WAL hook, after each commit on the request connection (this thread):
        wakes the checkpointer once the WAL has grown by `CHECKPOINT_FRAMES`. A shorter WAL
        than at the last checkpoint was started again from its beginning."""
        if frames < self._ckpt_frames:
            self._ckpt_frames = 0
        if frames - self._ckpt_frames >= CHECKPOINT_FRAMES:
            self._ckpt_due.set()
        return apsw.SQLITE_OK

    async def run_checkpointer(self, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        """Checkpoint every `interval` seconds, or as soon as the WAL has grown by
        `CHECKPOINT_FRAMES`, until cancelled (the server owns this task)."""
        while True:
            try:
                await asyncio.wait_for(self._ckpt_due.wait(), timeout=interval)
            except TimeoutError:
                pass
            try:
                frames, _ = await self.checkpoint()
                self._ckpt_frames = frames
                self._ckpt_due.clear()  # after the mark moves: commits during the checkpoint set it
                if frames >= WAL_RESET_FRAMES:
                    await self.restart_wal()
                    log.info("WAL restarted under sustained writes", extra={"frames": frames})
            except StoreError as exc:
                log.warning("checkpoint failed", extra={"why": str(exc)})


__all__ = [
    "DB_FILENAME",
    "DEFAULT_AFFINITY",
    "CHECKPOINT_FRAMES",
    "AffinityResult",
    "AffinityWrite",
    "ConversationRow",
    "GoalRow",
    "GoalWrite",
    "MessageRow",
    "NewMessage",
    "Store",
    "TurnState",
    "TurnWrite",
    "apply_affinity",
    "insert_messages",
]
