"""Archiving: ended conversations' lines move to archive tables, and back on restore.

A conversation's row stays in `conversations` (with `archived_at` set), so it is still
listed, its id still resolves, and a memory's source (conversation, seq) stays valid (lines
keep their ids and seqs when they move; `history.line_at` reads either side). The search
index covers both sides through the `all_lines` view, so a move never touches it.

Each conversation moves in its own transaction: copy its rows to the other side, delete them
from this side, flip `archived_at`. A kill at any moment leaves every conversation wholly on
one side (nothing lost, nothing duplicated), and running again finishes the job: `run` and
`restore` are idempotent.

`PER_MESSAGE` is the one registry of tables whose rows belong to one line: a table added
later (witnesses, keyed by message id) is one entry, and its archive mirror is made (and
given any column the live table gained) from the live table's own columns on first use.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sidecar.errors import ConversationNotFound
from sidecar.store.tx import writing

DAY_S = 86_400.0
ARCHIVE_PREFIX = "archive_"


@dataclass(frozen=True)
class PerMessage:
    """A table with rows that belong to one line: `column` holds the line's `messages.id`."""

    table: str
    column: str = "message_id"

    @property
    def archive(self) -> str:
        return ARCHIVE_PREFIX + self.table


PER_MESSAGE: tuple[PerMessage, ...] = (PerMessage("message_witnesses"),)
"""Tables beside `messages` whose rows move with their line."""

LINES = "messages"


def _columns(conn: Any, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, place in the primary key (0: not in it)) of each column; empty
    if there is no such table."""
    return [(r[1], r[2], int(r[5])) for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _mirror(conn: Any, table: str, link: str) -> list[str]:
    """Make `archive_<table>` hold every column of `table` (creating it, or adding what the
    live table gained since); returns the live columns, which both sides now have."""
    live = _columns(conn, table)
    archive = ARCHIVE_PREFIX + table
    have = {name for name, _, _ in _columns(conn, archive)}
    if not have:
        key = [n for n, _, pk in sorted(live, key=lambda c: c[2]) if pk]
        cols = [f"{n} {t}" for n, t, _ in live] + ([f"PRIMARY KEY ({', '.join(key)})"] if key else [])
        conn.execute(f"CREATE TABLE {archive} ({', '.join(cols)})")
        conn.execute(f"CREATE INDEX {archive}_link ON {archive}({link})")
    else:
        for name, decl, _ in live:
            if name not in have:
                conn.execute(f"ALTER TABLE {archive} ADD COLUMN {name} {decl}")
    return [name for name, _, _ in live]


def _tables(conn: Any) -> Iterator[PerMessage]:
    """The registered per-message tables that exist in this store."""
    for entry in PER_MESSAGE:
        if _columns(conn, entry.table):
            yield entry


def _move(conn: Any, conversation: str, *, to_archive: bool) -> int:
    """Move one conversation's lines and their per-message rows to the other side, inside the
    caller's transaction; returns the lines moved. Dependent rows go before their lines on the
    way out and after them on the way back, so a foreign key to `messages(id)` always holds."""
    src_lines, dst_lines = (LINES, ARCHIVE_PREFIX + LINES) if to_archive else (ARCHIVE_PREFIX + LINES, LINES)
    cols = ", ".join(_mirror(conn, LINES, "conversation_id"))
    ids = f"SELECT id FROM {src_lines} WHERE conversation_id = ?"

    def dependents() -> None:
        for entry in _tables(conn):
            dcols = ", ".join(_mirror(conn, entry.table, entry.column))
            src, dst = (entry.table, entry.archive) if to_archive else (entry.archive, entry.table)
            conn.execute(
                f"INSERT INTO {dst} ({dcols}) SELECT {dcols} FROM {src} WHERE {entry.column} IN ({ids})",
                (conversation,),
            )
            conn.execute(f"DELETE FROM {src} WHERE {entry.column} IN ({ids})", (conversation,))

    if to_archive:
        dependents()
    conn.execute(
        f"INSERT INTO {dst_lines} ({cols}) SELECT {cols} FROM {src_lines} WHERE conversation_id = ?", (conversation,)
    )
    moved = int(conn.changes())
    if not to_archive:
        dependents()
    conn.execute(f"DELETE FROM {src_lines} WHERE conversation_id = ?", (conversation,))
    return moved


def candidates(conn: Any, older_than_days: float, now: float) -> list[str]:
    """Ended, unarchived conversations that ended at least `older_than_days` ago (0: all)."""
    cutoff = now - older_than_days * DAY_S
    rows = conn.execute(
        "SELECT id FROM conversations WHERE archived_at IS NULL AND ended_at IS NOT NULL AND ended_at <= ?"
        " ORDER BY ended_at, id",
        (cutoff,),
    ).fetchall()
    return [r[0] for r in rows]


def archive_one(conn: Any, conversation: str) -> bool:
    """Archive one ended conversation in one transaction; False if it is already archived,
    gone or not ended (another caller got there first: nothing to do)."""
    with writing(conn):
        rows = conn.execute(
            "SELECT 1 FROM conversations WHERE id = ? AND archived_at IS NULL AND ended_at IS NOT NULL",
            (conversation,),
        ).fetchall()
        if not rows:
            return False
        _move(conn, conversation, to_archive=True)
        conn.execute("UPDATE conversations SET archived_at = ? WHERE id = ?", (time.time(), conversation))
    return True


def restore(conn: Any, conversation: str) -> bool:
    """Bring an archived conversation's lines back, in one transaction. False if it was not
    archived (restoring twice is a no-op). Raises ConversationNotFound."""
    with writing(conn):
        rows = conn.execute("SELECT archived_at FROM conversations WHERE id = ?", (conversation,)).fetchall()
        if not rows:
            raise ConversationNotFound(f"no conversation {conversation!r}", details={"conversation": conversation})
        if rows[0][0] is None:
            return False
        _move(conn, conversation, to_archive=False)
        conn.execute("UPDATE conversations SET archived_at = NULL WHERE id = ?", (conversation,))
    return True


__all__ = ["DAY_S", "PER_MESSAGE", "PerMessage", "archive_one", "candidates", "restore"]
