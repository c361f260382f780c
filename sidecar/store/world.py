"""World facts: what the game says is true now (time of day, location, quest flags).

One row per key in `world_facts`, the value stored as JSON (a string, a number or a
boolean; anything else is refused by the protocol model before it gets here). They are in
the store, so a save slot carries them. Read with every turn (`Store.turn_state`), they go
into LLM prompts and gate persona topics (sidecar/engine/world.py).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from sidecar.errors import TooLarge
from sidecar.store.tx import writing

Value = str | int | float | bool
MAX_FACTS = 64
"""Keys the world may hold at once (every one goes into each prompt)."""


def _typed(raw: str) -> Value | None:
    value = json.loads(raw)
    if isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return None


def facts(conn: Any) -> dict[str, Value]:
    """Every fact, by key (a row whose value is not a fact's type is left out)."""
    out: dict[str, Value] = {}
    for key, raw in conn.execute("SELECT key, value FROM world_facts ORDER BY key").fetchall():
        value = _typed(raw)
        if value is not None:
            out[key] = value
    return out


def set_fact(conn: Any, key: str, value: Value) -> dict[str, Value]:
    """Set one fact; returns every fact. Raises TooLarge for a new key past `MAX_FACTS`."""
    with writing(conn):
        exists = conn.execute("SELECT 1 FROM world_facts WHERE key = ?", (key,)).fetchall()
        if not exists and conn.execute("SELECT COUNT(*) FROM world_facts").fetchall()[0][0] >= MAX_FACTS:
            raise TooLarge(f"the world holds {MAX_FACTS} facts already", details={"limit": MAX_FACTS})
        conn.execute(
            "INSERT INTO world_facts(key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, json.dumps(value), time.time()),
        )
    return facts(conn)


def clear(conn: Any, key: str | None) -> int:
    """Forget one fact (`key`) or all (None); returns how many went."""
    with conn:
        if key is None:
            conn.execute("DELETE FROM world_facts")
        else:
            conn.execute("DELETE FROM world_facts WHERE key = ?", (key,))
        return int(conn.changes())


def pick(all_facts: Mapping[str, Value], key: str | None) -> dict[str, Value]:
    """`world.get`'s answer: every fact, or the one asked for (nothing if it is unset)."""
    if key is None:
        return dict(all_facts)
    return {key: all_facts[key]} if key in all_facts else {}


__all__ = ["MAX_FACTS", "Value", "clear", "facts", "pick", "set_fact"]
