"""The SQLite cost ledger (sidecar/store/costs.py) on a real database file: its SQL
aggregates agree with `summarise` over the same rows, and the router budgets on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from llm_fakes import FakeProvider
from llm_support import TEST_KEY, FakeClock, compose, make_router, request

from sidecar.errors import StoreError
from sidecar.llm.costs import CostRow, MemoryLedger, start_of_local_day
from sidecar.store.costs import SqliteCostLedger
from sidecar.store.db import DB_FILENAME, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / DB_FILENAME)
    yield s
    await s.close()


def rows() -> list[CostRow]:
    noon = dt.datetime(2025, 3, 4, 12, 0).astimezone().timestamp()
    midnight = start_of_local_day(noon)
    return [
        CostRow(midnight - 30, "main", "m1", 100, 10, 0.001, conversation="c1", persona="ansel"),
        CostRow(midnight + 30, "main", "m1", 200, 20, 0.002, conversation="c1", persona="ansel", purpose="options"),
        CostRow(noon, "backup", "m2", 50, 5, 0.0005, estimated=True, conversation="c2", persona="goldie"),
        CostRow(noon + 1, "embedded", "embedded", 0, 0, 0.0, conversation="c2", persona=None),
        CostRow(noon + 2, "main", "m1", 7, 3, 0.0, priced=False, purpose="check"),
    ]


async def test_sql_report_agrees_with_summarise_over_the_same_rows(store: Store) -> None:
    ledger, memory = SqliteCostLedger(store), MemoryLedger()
    for row in rows():
        await ledger.record(row)
        await memory.record(row)
    midnight = start_of_local_day(rows()[2].ts)
    for since in (None, midnight):
        sql, mem = await ledger.report(since=since), await memory.report(since=since)
        assert sql.calls == mem.calls and sql.total_usd == pytest.approx(mem.total_usd)
        assert sql.estimated_calls == mem.estimated_calls
        for a, b in ((sql.by_provider, mem.by_provider), (sql.by_day, mem.by_day), (sql.by_persona, mem.by_persona)):
            assert {k: v.to_wire() for k, v in a.items()} == {k: v.to_wire() for k, v in b.items()}
        assert sql.to_wire() == mem.to_wire()
    assert await ledger.spent_since(midnight) == pytest.approx(await memory.spent_since(midnight))
    assert await ledger.spent_in_conversation("c1") == pytest.approx(0.003)
    assert await ledger.spent_in_conversation("nope") == 0.0
    stored = await ledger.calls()
    assert [(r.provider, r.purpose, r.estimated, r.priced) for r in stored] == [
        (r.provider, r.purpose, r.estimated, r.priced) for r in rows()
    ]


async def test_rows_survive_a_reopen(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / DB_FILENAME)
    await SqliteCostLedger(store).record(rows()[0])
    await store.close()
    again = await Store.open(tmp_path / DB_FILENAME)
    try:
        assert (await SqliteCostLedger(again).report()).calls == 1
    finally:
        await again.close()


async def test_the_router_budgets_on_the_sqlite_ledger(openai_fake: FakeProvider, store: Store) -> None:
    toml = f"""
[router]
chain = ["main"]
[budgets]
per_conversation_usd = 0.00005
[providers.main]
kind = "openai"
base_url = "{openai_fake.base_url}"
model = "m"
api_key_env = "MAIN_KEY"
keyring = false
[providers.main.price]
input = 1.0
output = 2.0
"""
    ledger = SqliteCostLedger(store)
    async with make_router(toml, ledger, env={"MAIN_KEY": TEST_KEY}, clock=FakeClock()) as router:
        first = await router.complete(request(conversation="a"), embedded=compose)
        second = await router.complete(request(conversation="a"), embedded=compose)
        other = await router.complete(request(conversation="b"), embedded=compose)
    assert (first.provider, second.provider, other.provider) == ("main", "embedded", "main")
    report = await ledger.report()
    assert report.by_provider["main"].calls == 2 and report.by_provider["embedded"].calls == 1
    assert report.by_provider["main"].usd == pytest.approx(2 * (42 * 1.0 + 7 * 2.0) / 1e6)


async def test_the_days_total_stays_current_as_calls_are_recorded(store: Store) -> None:
    """`spent_since` reads the day's rows once, then adds each recorded call: it agrees with
    the rows' SUM after every call, and a row from before `since` does not count."""
    ledger = SqliteCostLedger(store)
    midnight = start_of_local_day(rows()[2].ts)
    assert await ledger.spent_since(midnight) == 0.0
    for row in rows():
        await ledger.record(row)
        fresh = await SqliteCostLedger(store).spent_since(midnight)  # a new ledger: the SQL SUM
        assert await ledger.spent_since(midnight) == pytest.approx(fresh)
    assert await ledger.spent_since(midnight) == pytest.approx(0.0025), "the row 30 s before midnight is not today's"
    assert await ledger.spent_since(midnight - 60) == pytest.approx(0.0035), "another `since` reads the rows again"


async def test_a_failed_record_is_not_counted(store: Store) -> None:
    ledger = SqliteCostLedger(store)
    midnight = start_of_local_day(rows()[2].ts)
    await ledger.record(rows()[1])
    assert await ledger.spent_since(midnight) == pytest.approx(0.002)
    # A write the database refuses (as a full disk would), on the real connection.
    store.conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON llm_calls BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    with pytest.raises(StoreError):
        await ledger.record(rows()[2])
    store.conn.execute("DROP TRIGGER refuse")
    assert await ledger.spent_since(midnight) == pytest.approx(0.002)
    assert await SqliteCostLedger(store).spent_since(midnight) == pytest.approx(0.002)
