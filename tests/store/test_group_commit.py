"""Group commit (Store._flush_turns): the turns that reach `commit_turn` in the same pass of
the event loop share one transaction, each atomic on its own; a lone turn is one transaction
as before. Counted with SQLite's own commit hook on the real file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import pytest

from sidecar.errors import StoreError
from sidecar.store.db import AffinityWrite, NewMessage, Store, TurnWrite


async def _start(store: Store, cid: str, player: str = "p") -> None:
    await store.start_conversation(
        conversation_id=cid,
        player_id=player,
        persona_id="ansel",
        seed=1,
        greeting=NewMessage("ansel", "Ansel", "Hello."),
        memory={},
    )


def _turn(cid: str, text: str, delta: int = 0) -> TurnWrite:
    return TurnWrite(
        cid,
        (NewMessage("player", "p", text), NewMessage("ansel", "Ansel", f"About {text}.")),
        {"said": text},
        affinity=AffinityWrite(delta, "friendly") if delta else None,
    )


def _count_commits(store: Store) -> list[int]:
    commits: list[int] = []

    def hook() -> bool:
        commits.append(1)
        return False  # False: let the commit go ahead

    store.conn.set_commit_hook(hook)
    return commits


async def test_turns_in_flight_share_one_transaction(store: Store) -> None:
    for k in range(5):
        await _start(store, f"c{k}", player=f"p{k}")
    commits = _count_commits(store)
    results = await asyncio.gather(*(store.commit_turn(_turn(f"c{k}", f"line {k}", delta=k)) for k in range(5)))
    assert len(commits) == 1
    assert [(r.old, r.new) for r in results] == [(50, 50 + k) for k in range(5)]
    for k in range(5):
        assert [r.text for r in await store.lines(f"c{k}")] == ["Hello.", f"line {k}", f"About line {k}."]


async def test_a_lone_turn_is_one_transaction(store: Store) -> None:
    await _start(store, "c1")
    commits = _count_commits(store)
    result = await store.commit_turn(_turn("c1", "hi", delta=3))
    assert (result.old, result.new, len(commits)) == (50, 53, 1)


async def test_one_failing_turn_leaves_the_others_of_its_group_stored(store: Store) -> None:
    await _start(store, "c1")
    await _start(store, "c2", player="q")
    outcomes = await asyncio.gather(
        store.commit_turn(_turn("c1", "first", delta=2)),
        store.commit_turn(_turn("gone", "lost")),
        store.commit_turn(_turn("c2", "second")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], StoreError) and "vanished" in str(outcomes[1])
    assert [r.text for r in await store.lines("c1")] == ["Hello.", "first", "About first."]
    assert [r.text for r in await store.lines("c2")] == ["Hello.", "second", "About second."]
    assert await store.affinity("p", "ansel") == 52


async def test_a_refused_commit_stores_no_turn_of_the_group(store: Store) -> None:
    """SQLite refuses the COMMIT (the commit hook says no): every waiter gets a StoreError
    and nothing of any turn is stored."""
    await _start(store, "c1")
    await _start(store, "c2", player="q")
    store.conn.set_commit_hook(lambda: True)  # True: turn the commit into a rollback
    outcomes = await asyncio.gather(
        store.commit_turn(_turn("c1", "first", delta=2)),
        store.commit_turn(_turn("c2", "second", delta=2)),
        return_exceptions=True,
    )
    store.conn.set_commit_hook(None)
    assert all(isinstance(o, StoreError) for o in outcomes)
    assert [r.text for r in await store.lines("c1")] == ["Hello."]
    assert [r.text for r in await store.lines("c2")] == ["Hello."]
    assert await store.affinity("p", "ansel") == 50


async def test_turns_of_one_pair_in_one_group_apply_in_order(store: Store) -> None:
    """Two conversations of the same player and NPC: the second turn's affinity starts from
    the first's result, inside the one transaction."""
    await _start(store, "c1")
    await _start(store, "c2")
    a, b = await asyncio.gather(store.commit_turn(_turn("c1", "one", 5)), store.commit_turn(_turn("c2", "two", 5)))
    assert (a.old, a.new, b.old, b.new) == (50, 55, 55, 60)


async def test_close_commits_a_group_still_waiting(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    await _start(store, "c1")
    pending = asyncio.ensure_future(store.commit_turn(_turn("c1", "last words")))
    await asyncio.sleep(0)  # the turn is queued; its pass has not run yet
    await store.close()
    assert (await pending).new == 50
    reopened = apsw.Connection(str(tmp_path / "parley.sqlite3"))
    try:
        texts = [r[0] for r in reopened.execute("SELECT text FROM messages ORDER BY seq")]
    finally:
        reopened.close()
    assert texts == ["Hello.", "last words", "About last words."]


@pytest.mark.parametrize("in_flight", [1, 8])
async def test_a_cancelled_waiter_does_not_take_its_turn_back(store: Store, in_flight: int) -> None:
    """Cancelling the task that waits (shutdown) leaves the turn to its group's COMMIT."""
    for k in range(in_flight):
        await _start(store, f"c{k}", player=f"p{k}")
    waiters = [asyncio.ensure_future(store.commit_turn(_turn(f"c{k}", f"t{k}"))) for k in range(in_flight)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    for k in range(in_flight):
        assert [r.text for r in await store.lines(f"c{k}")][1:] == [f"t{k}", f"About t{k}."]
