"""`parley memory show --persona ansel --player Mira`: what an NPC remembers of a player,
read from the data dir's store (the same rows and order as `memory.list`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sidecar.store.db import DB_FILENAME, Store
from sidecar.store.memory import Memory, MemoryStore


def _row(m: Memory) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(m.at))
    where = f"{m.source.conversation}#{m.source.seq}" if m.source else "added by the game"
    told = f", told by {m.told_by}" if m.told_by else ""
    return f"  [{m.id}] {m.kind:<8} {m.importance:>2}  {when}  {m.text}  ({where}{told})"


async def show(data_dir: Path, persona: str, player: str, limit: int | None, *, as_json: bool = False) -> int:
    if limit is not None and limit < 1:
        print("parley memory: --limit must be at least 1", file=sys.stderr)
        return 2
    db = data_dir / DB_FILENAME
    if not db.exists():
        print(f"no memories: {db} does not exist", file=sys.stderr)
        return 0
    store = await Store.open(db, checkpoint_interval=None)
    try:
        found = await MemoryStore(store).for_pair(player, persona, limit)
    finally:
        await store.close()
    if as_json:
        from sidecar.server.ops_memory import memory_out

        print(json.dumps({"memories": [memory_out(m).model_dump(mode="json") for m in found]}, indent=2))
        return 0
    if not found:
        print(f"{persona} remembers nothing of {player} ({db})")
        return 0
    print(f"{persona} remembers {len(found)} thing{'s' if len(found) != 1 else ''} of {player} ({db}):")
    print("  [id] kind   importance  when              text  (source line)")
    for m in found:
        print(_row(m))
    return 0


__all__ = ["show"]
