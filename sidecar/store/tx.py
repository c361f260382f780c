"""The store's rule for a transaction that reads before it writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def writing(conn: Any) -> Iterator[None]:
    """One transaction that takes the write lock as it begins (BEGIN IMMEDIATE), for a
    transaction that reads before it writes. A deferred one (`with conn:`) that has read
    cannot wait for the write lock: SQLite refuses its first write at once (`database is
    locked`, no busy wait) while another connection holds that lock, as the checkpoint
    thread's RESTART checkpoint does while it waits for readers. Asking first just waits.
    Inside a caller's transaction (a bulk load grouping store calls) it is a savepoint."""
    if conn.in_transaction:
        with conn:
            yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


__all__ = ["writing"]
