"""What calls cost: the shipped price table, cost rows, the ledger seam, budgets.

Usage comes from the provider's own counts; only when a provider gives none is it estimated
from the text, and the row says so (`estimated=True`). The ledger is a Protocol: `store/`
implements it over SQLite; `MemoryLedger` here serves tests and the CLI without a store.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, runtime_checkable

from sidecar.llm.spec import Price


@functools.cache
def price_table() -> dict[tuple[str, str], Price]:
    """(host, model) → Price from `sidecar/data/prices.toml`; host "*" matches any host."""
    text = resources.files("sidecar").joinpath("data/prices.toml").read_text("utf-8")
    table: dict[tuple[str, str], Price] = {}
    for row in tomllib.loads(text)["price"]:
        date = row.get("date")
        table[(row["host"], row["model"])] = Price(
            input=float(row["input"]),
            output=float(row["output"]),
            date=date.isoformat() if date is not None else None,
            source="table",
        )
    return table


def lookup_price(host: str | None, model: str) -> Price | None:
    """The price of `model` on `host` (a preset name); without a host match, a "*" entry, or
    the one entry that names this model id (ids such as `llama-3.1-70b-versatile` are
    host-specific). None when unknown."""
    table = price_table()
    if host is not None and (host, model) in table:
        return table[(host, model)]
    if ("*", model) in table:
        return table[("*", model)]
    matches = [price for (_, m), price in table.items() if m == model]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class CostRow:
    """One successful provider call, as persisted by the ledger."""

    ts: float
    """Unix time of the call's end."""
    provider: str
    """Config name (`main`, `backup`, `embedded`)."""
    model: str
    input_tokens: int
    output_tokens: int
    usd: float
    estimated: bool = False
    """Token counts were estimated because the provider reported none."""
    priced: bool = True
    """False when the model had no known price (usd recorded as 0)."""
    conversation: str | None = None
    persona: str | None = None
    purpose: str = "line"


@dataclass(frozen=True)
class CostBucket:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0

    def add(self, row: CostRow) -> CostBucket:
        return CostBucket(
            self.calls + 1,
            self.input_tokens + row.input_tokens,
            self.output_tokens + row.output_tokens,
            self.usd + row.usd,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "usd": round(self.usd, 6),
        }


@dataclass(frozen=True)
class CostReport:
    total_usd: float = 0.0
    calls: int = 0
    by_provider: Mapping[str, CostBucket] = field(default_factory=dict)
    by_day: Mapping[str, CostBucket] = field(default_factory=dict)
    """Local calendar day (YYYY-MM-DD) → bucket."""
    by_persona: Mapping[str, CostBucket] = field(default_factory=dict)
    estimated_calls: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The `stats.costs` result shape (a wire contract)."""
        return {
            "total_usd": round(self.total_usd, 6),
            "calls": self.calls,
            "by_provider": {k: v.to_wire() for k, v in sorted(self.by_provider.items())},
        }


def local_day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().date().isoformat()


def start_of_local_day(ts: float) -> float:
    """Unix time of the local midnight that began the day containing `ts` (budgets are per
    player-visible day, not per UTC day)."""
    now = dt.datetime.fromtimestamp(ts).astimezone()
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def summarise(rows: Iterable[CostRow]) -> CostReport:
    """Fold rows into a report; a SQL ledger may compute the same with GROUP BY."""
    total, calls, estimated = 0.0, 0, 0
    by_provider: dict[str, CostBucket] = {}
    by_day: dict[str, CostBucket] = {}
    by_persona: dict[str, CostBucket] = {}
    for row in rows:
        total += row.usd
        calls += 1
        estimated += row.estimated
        by_provider[row.provider] = by_provider.get(row.provider, CostBucket()).add(row)
        day = local_day(row.ts)
        by_day[day] = by_day.get(day, CostBucket()).add(row)
        persona = row.persona or "-"
        by_persona[persona] = by_persona.get(persona, CostBucket()).add(row)
    return CostReport(total, calls, by_provider, by_day, by_persona, estimated)


@runtime_checkable
class CostLedger(Protocol):
    """Where cost rows go. Implementations must not block the event loop."""

    async def record(self, row: CostRow) -> None:
        """Persist one row. Raises: `StoreError` when it cannot (the router logs it and
        still returns the reply: a lost cost row must not silence an NPC)."""
        ...

    async def spent_since(self, ts: float) -> float:
        """USD recorded at or after unix time `ts`."""
        ...

    async def spent_in_conversation(self, conversation: str) -> float: ...

    async def report(self, *, since: float | None = None) -> CostReport: ...


class MemoryLedger:
    """An in-process `CostLedger` (tests, and runs without a store)."""

    def __init__(self) -> None:
        self.rows: list[CostRow] = []

    async def record(self, row: CostRow) -> None:
        self.rows.append(row)

    async def spent_since(self, ts: float) -> float:
        return sum(r.usd for r in self.rows if r.ts >= ts)

    async def spent_in_conversation(self, conversation: str) -> float:
        return sum(r.usd for r in self.rows if r.conversation == conversation)

    async def report(self, *, since: float | None = None) -> CostReport:
        return summarise(r for r in self.rows if since is None or r.ts >= since)


__all__ = [
    "CostBucket",
    "CostLedger",
    "CostReport",
    "CostRow",
    "MemoryLedger",
    "local_day",
    "lookup_price",
    "price_table",
    "start_of_local_day",
    "summarise",
]
