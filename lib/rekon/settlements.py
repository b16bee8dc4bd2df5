"""Payouts in the store: a batch of settlements and their payments — fetched from Durianpay or
read from a provider's settlement report — lands as one source, in the caller's transaction.

A settlement that lands again replaces its row and all its payments (a corrected report, a
re-fetch), so landing is idempotent. Payments whose settlement the batch does not list (a
report has no list) make their settlement from their own sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from rekon.money import format_count
from rekon.store import Store, business_date_sql, next_id, utc_now

if TYPE_CHECKING:
    import polars as pl

    from rekon.providers.durianpay_settlements import Settlement, SettlementPayment

# How long after a range its last orders may take to be paid out: a settlement fetch reads this
# many days past the range, and a payment is overdue this long after its order was paid (the
# orders do not say their payment method, so the slowest method's delay applies).
SETTLE_HORIZON_DAYS = 7
LONGEST_DELAY_DAYS = 5

_SETTLEMENTS = pa.schema(
    [
        ("settlement_id", pa.string()),
        ("settled_at", pa.timestamp("us")),
        ("gross", pa.string()),
        ("fee", pa.string()),
        ("promo", pa.string()),
        ("net", pa.string()),
        ("status", pa.string()),
        ("raw", pa.string()),
    ]
)
PAYMENTS_SCHEMA = pa.schema(
    [
        ("settlement_id", pa.string()),
        ("payment_id", pa.string()),
        ("order_id", pa.string()),
        ("order_reference", pa.string()),
        ("gross", pa.string()),
        ("fee", pa.string()),
        ("net", pa.string()),
        ("payment_date", pa.timestamp("us")),
        ("settled_at", pa.timestamp("us")),
        ("method", pa.string()),
    ]
)


@dataclass(frozen=True)
class Source:
    """Where a batch came from, and the settlement dates it covers."""

    provider: str
    kind: str  # api | report
    covered_from: date
    covered_to: date
    fetch_run: int | None = None
    name: str | None = None
    file_name: str | None = None
    content_hash: str | None = None


@dataclass(frozen=True)
class SettlementCounts:
    source_id: int
    settlements: int
    payments: int
    new: int
    replaced: int

    def line(self) -> str:
        return (
            f"{format_count(self.settlements)} settlements ({format_count(self.new)} new), "
            f"{format_count(self.payments)} payments"
        )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def settlements_table(items: Sequence[Settlement]) -> pa.Table:
    return pa.table(
        {
            "settlement_id": [s.settlement_id for s in items],
            "settled_at": [s.settled_at for s in items],
            "gross": [_text(s.gross) for s in items],
            "fee": [_text(s.fee) for s in items],
            "promo": [_text(s.promo) for s in items],
            "net": [str(s.net) for s in items],
            "status": [s.status for s in items],
            "raw": [s.raw for s in items],
        },
        schema=_SETTLEMENTS,
    )


def payments_table(items: Sequence[SettlementPayment]) -> pa.Table:
    return pa.table(
        {
            "settlement_id": [p.settlement_id for p in items],
            "payment_id": [p.payment_id for p in items],
            "order_id": [p.order_id for p in items],
            "order_reference": [p.order_reference for p in items],
            "gross": [str(p.gross) for p in items],
            "fee": [str(p.fee) for p in items],
            "net": [str(p.net) for p in items],
            "payment_date": [p.payment_date for p in items],
            "settled_at": [p.settled_at for p in items],
            "method": [p.method for p in items],
        },
        schema=PAYMENTS_SCHEMA,
    )


def land(
    cur: duckdb.DuckDBPyConnection,
    store: Store,
    source: Source,
    settlements: pa.Table,
    payments: pa.Table,
    by: str,
) -> SettlementCounts:
    """Land a batch (Arrow tables shaped as `settlements_table` / `payments_table`) in the
    caller's transaction, as a new source; returns what it held."""
    source_id = next_id(cur, "settlement_source_id")
    cur.register("batch_settlements", settlements)
    cur.register("batch_payments", payments)
    try:
        settled = business_date_sql("settled_at")
        cur.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE landing AS
            SELECT settlement_id, settled_at, {settled} AS settled_date,
                   gross::DECIMAL(18, 2) AS gross, fee::DECIMAL(18, 2) AS fee,
                   promo::DECIMAL(18, 2) AS promo, net::DECIMAL(18, 2) AS net, status, raw
            FROM batch_settlements
            UNION ALL
            SELECT settlement_id, min(settled_at), {business_date_sql("min(settled_at)")},
                   sum(gross::DECIMAL(18, 2)), sum(fee::DECIMAL(18, 2)), NULL,
                   sum(net::DECIMAL(18, 2)), 'settled', NULL
            FROM batch_payments
            WHERE settlement_id NOT IN (SELECT settlement_id FROM batch_settlements)
            GROUP BY settlement_id
            """,
            {"tz": store.timezone},
        )
        new = cur.execute(
            "SELECT count(*) FROM landing WHERE settlement_id NOT IN ("
            " SELECT settlement_id FROM settlements WHERE provider = ?)",
            [source.provider],
        ).fetchone()
        counts = cur.execute("SELECT count(*) FROM landing").fetchone()
        n_payments = payments.num_rows
        cur.execute(
            "DELETE FROM settlement_payments WHERE provider = ? AND settlement_id IN"
            " (SELECT settlement_id FROM landing)",
            [source.provider],
        )
        cur.execute(
            "DELETE FROM settlements WHERE provider = ? AND settlement_id IN"
            " (SELECT settlement_id FROM landing)",
            [source.provider],
        )
        cur.execute(
            "INSERT INTO settlements (provider, settlement_id, settled_at, settled_date, gross,"
            " fee, promo, net, status, raw, source_id)"
            " SELECT ?, settlement_id, settled_at, settled_date, gross, fee, promo, net, status,"
            " raw, ? FROM landing",
            [source.provider, source_id],
        )
        # A payment is in one payout: its latest. One landed again leaves the payout it was
        # in before, and a batch naming it twice keeps the later; runs then find at most one
        # payout per payment id.
        cur.execute(
            "DELETE FROM settlement_payments WHERE provider = ? AND payment_id IN"
            " (SELECT payment_id FROM batch_payments WHERE payment_id IS NOT NULL)",
            [source.provider],
        )
        cur.execute(
            "INSERT INTO settlement_payments (provider, settlement_id, payment_id, order_id,"
            " order_reference, gross, fee, net, payment_date, settled_at, method, source_id)"
            " SELECT ?, settlement_id, payment_id, order_id, order_reference,"
            " gross::DECIMAL(18, 2), fee::DECIMAL(18, 2), net::DECIMAL(18, 2), payment_date,"
            " settled_at, upper(method), ? FROM batch_payments"
            " QUALIFY payment_id IS NULL OR row_number() OVER (PARTITION BY payment_id"
            "   ORDER BY settled_at DESC, settlement_id DESC) = 1",
            [source.provider, source_id],
        )
        n_settlements = int(counts[0]) if counts else 0
        cur.execute(
            "INSERT INTO settlement_sources (id, provider, kind, fetch_run, name, file_name,"
            " content_hash, covered_from, covered_to, settlements, payments, added_by, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source_id,
                source.provider,
                source.kind,
                source.fetch_run,
                source.name,
                source.file_name,
                source.content_hash,
                source.covered_from,
                source.covered_to,
                n_settlements,
                n_payments,
                by,
                utc_now(),
            ],
        )
        cur.execute("DROP TABLE landing")
    finally:
        for name in ("batch_settlements", "batch_payments"):
            # refused in a failed transaction, whose error is raised
            with suppress(duckdb.Error):
                cur.unregister(name)
    n_new = int(new[0]) if new else 0
    return SettlementCounts(source_id, n_settlements, n_payments, n_new, n_settlements - n_new)


def settlement_list(store: Store, start: date, end: date, limit: int = 500) -> pl.DataFrame:
    """The settlements settled start..end (business dates), newest first, for a page."""
    return store.query(
        "SELECT provider, settlement_id, settled_at, settled_date, gross, fee, net, status,"
        " (SELECT count(*) FROM settlement_payments p WHERE p.provider = s.provider"
        "  AND p.settlement_id = s.settlement_id) AS payments"
        " FROM settlements s WHERE settled_date BETWEEN ? AND ?"
        " ORDER BY settled_at DESC, settlement_id LIMIT ?",
        [start, end, limit],
    )


def sources(store: Store, limit: int = 50) -> pl.DataFrame:
    """The batches of settlements that landed, newest first."""
    return store.query(
        "SELECT id, provider, kind, fetch_run, name, file_name, covered_from, covered_to,"
        " settlements, payments, added_by, added_at FROM settlement_sources"
        " ORDER BY id DESC LIMIT ?",
        [limit],
    )


def settled_day_of(at: datetime, timezone: str) -> date:
    """A settlement time's business date."""
    return at.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
