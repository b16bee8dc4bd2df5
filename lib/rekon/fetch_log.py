"""What was fetched and when: the fetch history, each provider's last successful fetch, the
days of a period no successful fetch covered, and the orders fetched in a currency Rekon does
not reconcile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from rekon.money import format_count
from rekon.providers.base import PROVIDER_TITLES, provider_title
from rekon.store import Store


def last_fetches(store: Store) -> pl.DataFrame:
    return store.query(
        """
        SELECT p.provider, max(f.finished_at) AS finished_at
        FROM fetch_runs f, unnest(string_split(f.providers, ',')) AS p(provider)
        WHERE f.status = 'succeeded' GROUP BY p.provider ORDER BY p.provider
        """
    )


@dataclass(frozen=True)
class FetchGap:
    """Days of a period for which a provider's orders were never fetched successfully."""

    provider: str
    first: date
    last: date
    days: int

    def describe(self) -> str:
        name = provider_title(self.provider)
        when = (
            f"on {self.first}"
            if self.days == 1
            else f"for {self.days} days between {self.first} and {self.last}"
        )
        return (
            f"{name} orders were not fetched {when}: a reconciliation would report the sales "
            f"booked then as missing at {name}"
        )


def fetch_gaps(
    store: Store, start: date, end: date, providers: tuple[str, ...] | None = None
) -> list[FetchGap]:
    """Per provider (default: each one ever fetched, or every provider when nothing ever was),
    the days of [start, end] that no successful fetch covered. Reconciling such days would
    report every sale booked on them as missing at the provider."""
    rows = store.query(
        """
        WITH covered AS (
            SELECT p.provider, f.range_from, f.range_to
            FROM fetch_runs f, unnest(string_split(f.providers, ',')) p(provider)
            WHERE f.status = 'succeeded'
        ), wanted AS (
            SELECT p.provider, CAST(d AS DATE) AS day
            FROM generate_series($start::DATE, $end::DATE, INTERVAL 1 DAY) t(d),
                 (SELECT unnest(coalesce($providers::VARCHAR[],
                                         (SELECT list(DISTINCT provider) FROM covered),
                                         $known::VARCHAR[])))
                 AS p(provider)
        )
        SELECT provider, min(day) AS first, max(day) AS last, count(*) AS days
        FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.provider = w.provider
                                                     AND w.day BETWEEN c.range_from AND c.range_to)
        GROUP BY provider ORDER BY provider
        """,
        {
            "start": start,
            "end": end,
            "providers": None if providers is None else list(providers),
            "known": list(PROVIDER_TITLES),
        },
    )
    return [FetchGap(*row) for row in rows.iter_rows()]


@dataclass(frozen=True)
class ForeignOrders:
    """A provider's orders of a period in a currency other than rupiah."""

    provider: str
    currency: str
    orders: int

    def describe(self) -> str:
        return (
            f"{format_count(self.orders)} {provider_title(self.provider)} orders of this period "
            f"are in {self.currency}, not rupiah: their amounts are compared with the ledger's "
            "rupiah as they stand, so check their results by hand"
        )


def foreign_orders(store: Store, start: date, end: date) -> list[ForeignOrders]:
    """Per provider and currency, the orders of [start, end] not in IDR. Ledger lines in other
    currencies are set aside at import; an order is the provider's record and stays."""
    rows = store.query(
        "SELECT provider, currency, count(*) FROM orders"
        " WHERE business_date BETWEEN ? AND ? AND currency <> 'IDR'"
        " GROUP BY ALL ORDER BY ALL",
        [start, end],
    )
    return [ForeignOrders(*row) for row in rows.iter_rows()]


def fetch_history(store: Store, limit: int = 50) -> pl.DataFrame:
    return store.query(
        "SELECT id, providers, range_from, range_to, started_at, finished_at, status,"
        " orders_seen, orders_new, orders_updated, error, requested_by FROM fetch_runs"
        f" ORDER BY id DESC LIMIT {int(limit)}"
    )
