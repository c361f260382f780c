"""Prices, cost rows and reports."""

from __future__ import annotations

import datetime as dt

from sidecar.llm.costs import CostRow, MemoryLedger, lookup_price, price_table, start_of_local_day, summarise


def row(provider: str, usd: float, ts: float, persona: str = "bjorn", conversation: str = "c1") -> CostRow:
    return CostRow(
        ts=ts,
        provider=provider,
        model="m",
        input_tokens=100,
        output_tokens=10,
        usd=usd,
        conversation=conversation,
        persona=persona,
    )


def test_the_table_is_dated_and_lookups_fall_back_to_a_unique_model_id() -> None:
    assert all(p.date and dt.date.fromisoformat(p.date) for p in price_table().values())
    gpt = lookup_price("openai", "gpt-4o-mini")
    assert gpt is not None and gpt.cost(1_000_000, 1_000_000) == 0.75
    assert lookup_price(None, "llama-3.1-70b-versatile") == lookup_price("groq", "llama-3.1-70b-versatile")
    assert lookup_price("groq", "no-such-model") is None


async def test_ledger_sums_by_day_and_conversation_and_reports_the_wire_shape() -> None:
    ledger = MemoryLedger()
    now = dt.datetime(2025, 3, 4, 15, 0).astimezone().timestamp()
    midnight = start_of_local_day(now)
    await ledger.record(row("main", 0.01, midnight - 60))  # yesterday
    await ledger.record(row("main", 0.02, midnight + 60))
    await ledger.record(row("backup", 0.03, now, persona="mara", conversation="c2"))
    assert round(await ledger.spent_since(midnight), 6) == 0.05
    assert round(await ledger.spent_in_conversation("c1"), 6) == 0.03
    report = await ledger.report()
    assert report.to_wire() == {
        "total_usd": 0.06,
        "calls": 3,
        "by_provider": {
            "backup": {"calls": 1, "input_tokens": 100, "output_tokens": 10, "usd": 0.03},
            "main": {"calls": 2, "input_tokens": 200, "output_tokens": 20, "usd": 0.03},
        },
    }
    assert set(report.by_persona) == {"bjorn", "mara"} and len(report.by_day) == 2
    assert (await ledger.report(since=midnight)).calls == 2


def test_summarise_counts_estimated_rows() -> None:
    rows = [row("a", 0.0, 1.0), CostRow(2.0, "a", "m", 1, 1, 0.0, estimated=True)]
    assert summarise(rows).estimated_calls == 1
