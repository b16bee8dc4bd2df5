"""What the pages show of payouts: per provider the period's gross, fees, net and settled
amounts, a run's settlements, fees per day and method, and how long payouts took. Aggregated in
DuckDB; a page receives at most a screenful of rows."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rekon.classes import SETTLEMENT_RESULTS
from rekon.store import Store, business_date_sql

if TYPE_CHECKING:
    import polars as pl

PAGE_ROWS = 500

_TOTALS_FROM_RUN = """
    SELECT provider, count(*) AS settlements, sum(orders) AS payments, sum(gross) AS gross,
           sum(fee) AS fee, sum(net) AS net,
           coalesce(sum(net) FILTER (WHERE ledger_id IS NOT NULL), 0) AS settled,
           count(*) FILTER (WHERE result = 'settlement_missing_in_ledger') AS missing,
           count(*) FILTER (WHERE result = 'fee_mismatch') AS fee_mismatches
    FROM settlement_results WHERE run_id = $run GROUP BY provider ORDER BY provider
"""
_TOTALS_BY_DATE = """
    WITH s AS (SELECT * FROM settlements WHERE settled_date BETWEEN $start AND $end),
    n AS (SELECT provider, settlement_id, count(*) AS payments FROM settlement_payments
          WHERE settled_at BETWEEN (SELECT min(settled_at) FROM s)
                               AND (SELECT max(settled_at) FROM s)
          GROUP BY ALL)
    SELECT provider, count(*) AS settlements, coalesce(sum(n.payments), 0) AS payments,
           sum(gross) AS gross, sum(fee) AS fee, sum(net) AS net,
           NULL::DECIMAL(18, 2) AS settled, NULL::BIGINT AS missing,
           NULL::BIGINT AS fee_mismatches
    FROM s LEFT JOIN n USING (provider, settlement_id)
    GROUP BY provider ORDER BY provider
"""


def provider_totals(store: Store, start: date, end: date, run_id: int | None) -> pl.DataFrame:
    """Per provider: settlements, payments, gross, fees, net, and with a run how much of the
    net is deposited in the books (`settled`), how many payouts are not, and how many were
    charged above the rate card. Without a run, the payouts settled in the period."""
    if run_id is not None:
        found = store.query(_TOTALS_FROM_RUN, {"run": run_id})
        if found.height:
            return found
    return store.query(_TOTALS_BY_DATE, {"start": start, "end": end})


def run_settlements(
    store: Store, run_id: int, result: str | None = None, limit: int = PAGE_ROWS
) -> pl.DataFrame:
    """A run's settlements, exceptions first, newest first within a class."""
    order = f"array_position({list(reversed(SETTLEMENT_RESULTS))}, result)"
    return store.query(
        "SELECT provider, settlement_id, settled_at, gross, fee, net, orders, result,"
        " ledger_id, line_no, expected_fee, overcharged,"
        " array_to_string(overcharged_payments, ', ') AS overcharged_payments"
        " FROM settlement_results WHERE run_id = $run AND ($result IS NULL OR result = $result)"
        f" ORDER BY {order}, settled_at DESC, settlement_id LIMIT $limit",
        {"run": run_id, "result": result, "limit": limit},
    )


def settlement_counts(store: Store, run_id: int) -> dict[str, int]:
    found = store.query(
        "SELECT result, count(*) AS n FROM settlement_results WHERE run_id = ? GROUP BY result",
        [run_id],
    )
    got = dict(found.rows())
    return {name: int(got.get(name, 0)) for name in SETTLEMENT_RESULTS}


def fees_by_day(store: Store, start: date, end: date) -> pl.DataFrame:
    """Fees per settlement day and payment method, for the payouts settled in the period."""
    day = business_date_sql("settled_at")
    return store.query(
        f"SELECT {day} AS day, provider, coalesce(method, '?') AS method, sum(fee) AS fee,"
        " count(*) AS payments FROM settlement_payments"
        f" WHERE {day} BETWEEN $start AND $end GROUP BY ALL ORDER BY day, provider, method",
        {"start": start, "end": end, "tz": store.timezone},
    )


def settlement_delays(store: Store, start: date, end: date) -> pl.DataFrame:
    """How many payments of the period's payouts took each number of days from payment to
    payout (D+0 …), per provider; payments whose report gives no payment date are left out."""
    settled = business_date_sql("settled_at")
    paid = business_date_sql("payment_date")
    return store.query(
        f"SELECT provider, date_diff('day', {paid}, {settled}) AS days, count(*) AS payments"
        " FROM settlement_payments"
        f" WHERE payment_date IS NOT NULL AND {settled} BETWEEN $start AND $end"
        " GROUP BY ALL ORDER BY provider, days",
        {"start": start, "end": end, "tz": store.timezone},
    )
