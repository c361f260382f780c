"""The cost ledger over SQLite: one `llm_calls` row per provider call (migration 3).

`SqliteCostLedger` satisfies `sidecar.llm.costs.CostLedger`. It shares the `Store`'s one
connection and one thread (so no transaction spans an `await` and the loop never blocks on
disk); budgets (`spent_since`, `spent_in_conversation`) and reports (`parley costs`,
`stats.costs`) are SQL aggregates over the same rows, so what the router budgets on and what
the game is told always agree.

Rows hold no request text and no key: provider config name, model id, conversation, persona,
purpose, token counts, USD, and whether the counts were estimated or the model unpriced.
Local calendar days (`by_day`) use SQLite's `localtime`, i.e. the sidecar process's time
zone, the same as `llm.costs.local_day`.

`spent_since` keeps the total it last read up to date as rows are recorded: the router asks
it for the start of the local day before each paid call, and a SUM over the day's rows cost
2.3 ms at 10,000 calls a day and 15 ms at 50,000 (on a 2-core machine), growing through the
day. What can fail: another process writing the same table would not be seen until the day
(the `since`) changes; the sidecar is the only writer of its store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sidecar.llm.costs import CostBucket, CostReport, CostRow
from sidecar.store.db import Store


@dataclass(frozen=True)
class CallRow(CostRow):
    """A stored row with its id (for `parley costs --calls` and tests)."""

    id: int = 0


class SqliteCostLedger:
    """Cost rows in the store's database. Every method may raise `StoreError` (the router
    logs a failed `record` and still returns its line; a failed budget read makes the
    router skip paid providers for that turn)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._since: tuple[float, float] | None = None
        """(ts, USD of the rows at or after ts): the last `spent_since`, kept current."""

    async def record(self, row: CostRow) -> None:
        await self._store._run(self._record_sync, row)
        if self._since is not None and row.ts >= self._since[0]:  # stored: it counts
            self._since = (self._since[0], self._since[1] + max(0.0, row.usd))

    def _record_sync(self, row: CostRow) -> None:
        conn = self._store.conn
        with conn:
            conn.execute(
                "INSERT INTO llm_calls(at, provider, model, conversation_id, persona_id, purpose,"
                " input_tokens, output_tokens, usd, estimated, priced) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.ts,
                    row.provider,
                    row.model,
                    row.conversation,
                    row.persona,
                    row.purpose,
                    max(0, row.input_tokens),
                    max(0, row.output_tokens),
                    max(0.0, row.usd),
                    int(row.estimated),
                    int(row.priced),
                ),
            )

    async def spent_since(self, ts: float) -> float:
        if self._since is not None and self._since[0] == ts:
            return self._since[1]
        total = await self._store._run(self._sum, "at >= ?", (ts,))
        self._since = (ts, total)
        return total

    async def spent_in_conversation(self, conversation: str) -> float:
        return await self._store._run(self._sum, "conversation_id = ?", (conversation,))

    def _sum(self, where: str, params: tuple[object, ...]) -> float:
        rows: list[tuple[Any, ...]] = self._store.conn.execute(
            f"SELECT COALESCE(SUM(usd), 0.0) FROM llm_calls WHERE {where}", params
        ).fetchall()
        return float(rows[0][0])

    async def report(self, *, since: float | None = None) -> CostReport:
        """Totals and breakdowns by provider, local day and persona (rows at or after
        `since`, unix time, when given)."""
        return await self._store._run(self._report_sync, since)

    def _report_sync(self, since: float | None) -> CostReport:
        conn = self._store.conn
        where, params = ("WHERE at >= ?", (since,)) if since is not None else ("", ())
        agg = "COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(usd), 0.0)"

        def buckets(key: str) -> dict[str, CostBucket]:
            out: dict[str, CostBucket] = {}
            found: list[tuple[Any, ...]] = conn.execute(
                f"SELECT {key} AS k, {agg} FROM llm_calls {where} GROUP BY k ORDER BY k", params
            ).fetchall()
            for k, calls, tin, tout, usd in found:
                out[str(k)] = CostBucket(int(calls), int(tin), int(tout), float(usd))
            return out

        with conn:  # one read transaction: the breakdowns add up to the totals
            totals: tuple[Any, ...] = conn.execute(f"SELECT {agg} FROM llm_calls {where}", params).fetchall()[0]
            calls, _, _, total = totals
            estimated: Any = conn.execute(
                f"SELECT COUNT(*) FROM llm_calls {where} {'AND' if where else 'WHERE'} estimated", params
            ).fetchall()[0][0]
            report = CostReport(
                total_usd=float(total),
                calls=int(calls),
                by_provider=buckets("provider"),
                by_day=buckets("date(at, 'unixepoch', 'localtime')"),
                by_persona=buckets("COALESCE(persona_id, '-')"),
                estimated_calls=int(estimated),
            )
        return report

    async def calls(self, *, since: float | None = None, limit: int = 1000) -> list[CallRow]:
        """The newest `limit` rows (oldest first)."""

        def q() -> list[CallRow]:
            where, params = ("WHERE at >= ?", (since, limit)) if since is not None else ("", (limit,))
            rows: list[tuple[Any, ...]] = self._store.conn.execute(
                "SELECT id, at, provider, model, input_tokens, output_tokens, usd, estimated, priced,"
                f" conversation_id, persona_id, purpose FROM llm_calls {where} ORDER BY id DESC LIMIT ?",
                params,
            ).fetchall()
            return [
                CallRow(
                    ts=r[1],
                    provider=r[2],
                    model=r[3],
                    input_tokens=r[4],
                    output_tokens=r[5],
                    usd=r[6],
                    estimated=bool(r[7]),
                    priced=bool(r[8]),
                    conversation=r[9],
                    persona=r[10],
                    purpose=r[11],
                    id=r[0],
                )
                for r in reversed(rows)
            ]

        return await self._store._run(q)


__all__ = ["CallRow", "SqliteCostLedger"]
