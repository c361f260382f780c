"""Rolling summaries in the store (sidecar/store/summaries.py), on real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.errors import StoreError
from sidecar.store.db import NewMessage, Store, TurnWrite
from sidecar.store.migrations import MIGRATIONS
from sidecar.store.summaries import SummaryStore, SummaryWrite


async def _conversation(store: Store, cid: str = "c1", lines: int = 9) -> None:
    await store.start_conversation(
        conversation_id=cid, player_id="p1", persona_id="ansel", seed=1,
        greeting=NewMessage("ansel", "Ansel", "Hello."), memory={},
    )  # fmt: skip
    for i in range(1, lines, 2):
        await store.commit_turn(
            TurnWrite(
                cid,
                (NewMessage("player", "p1", f"player line {i}"), NewMessage("ansel", "Ansel", f"npc line {i + 1}")),
                memory={},
            )
        )


def _turn(cid: str, summary: SummaryWrite) -> TurnWrite:
    return TurnWrite(
        cid, (NewMessage("player", "p1", "and then?"), NewMessage("ansel", "Ansel", "Then...")), {}, summary=summary
    )


async def test_a_summary_is_stored_with_its_turn_and_the_window_starts_after_it(store: Store) -> None:
    await _conversation(store)
    summaries = SummaryStore(store)
    before = await summaries.window("c1", "ansel")
    assert before.summary is None and [r.seq for r in before.lines] == list(range(9))
    fold = SummaryWrite(
        "ansel", 0, 4, "They met. The player's name is Mira.", "extractive", ("The player's name is Mira.",)
    )
    await store.commit_turn(_turn("c1", fold))
    after = await summaries.window("c1", "ansel")
    assert after.summary is not None
    assert (after.summary.from_seq, after.summary.to_seq, after.summary.method) == (0, 4, "extractive")
    assert after.summary.facts == ("The player's name is Mira.",)
    assert [r.seq for r in after.lines] == list(range(5, 11)), "the turn's own lines come after the summary"
    assert (await summaries.window("c1", "goldie")).summary is None, "a summary is one persona's"
    # The next fold rolls forward; the newest is the one in force, the older is history.
    await store.commit_turn(_turn("c1", SummaryWrite("ansel", 0, 8, "Later.", "llm")))
    latest = await summaries.latest("c1", "ansel")
    assert latest is not None and latest.to_seq == 8 and latest.text == "Later."
    assert [s.to_seq for s in await summaries.history("c1", "ansel")] == [4, 8]
    assert [r.seq for r in (await summaries.window("c1", "ansel", limit=3)).lines] == [10, 11, 12]
    # Lines the caller already read are used when they reach back to the summary, and only then.
    newest = await store.lines("c1", 6)
    assert (await summaries.window("c1", "ansel", loaded=newest)).lines == newest[-4:]
    assert (await summaries.window("c1", "ansel", loaded=newest[-2:])).lines == (
        await summaries.window("c1", "ansel")
    ).lines


async def test_a_turn_that_fails_stores_no_summary(store: Store) -> None:
    await _conversation(store)
    bad = SummaryWrite("ansel", 5, 2, "backwards", "extractive")  # to_seq < from_seq: refused
    with pytest.raises(StoreError, match="CHECK constraint"):
        await store.commit_turn(_turn("c1", bad))
    assert await SummaryStore(store).latest("c1", "ansel") is None
    assert len(await store.lines("c1")) == 9, "nor the turn's lines: one transaction"
    with pytest.raises(StoreError):
        await store.commit_turn(_turn("nope", SummaryWrite("ansel", 0, 1, "x", "llm")))
    assert await SummaryStore(store).latest("nope", "ansel") is None


async def test_the_migration_is_the_eighth_and_survives_a_reopen(tmp_path: Path) -> None:
    assert "CREATE TABLE summaries" in MIGRATIONS[7]  # 7 -> 8 (history followed it as 8 -> 9)
    path = tmp_path / "parley.sqlite3"
    store = await Store.open(path, checkpoint_interval=None)
    await _conversation(store)
    await store.commit_turn(_turn("c1", SummaryWrite("ansel", 0, 3, "Kept.", "extractive")))
    await store.close()
    again = await Store.open(path, checkpoint_interval=None)
    try:
        latest = await SummaryStore(again).latest("c1", "ansel")
        assert latest is not None and latest.text == "Kept."
        assert await again.schema_version() == len(MIGRATIONS)
    finally:
        await again.close()
