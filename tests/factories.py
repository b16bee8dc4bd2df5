"""Small, readable builders for orders and ledgers in a real store (no mocks)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl

from rekon.access import Actor, Role, operator
from rekon.ledger import ImportOptions, ImportResult, import_ledger
from rekon.money import DecimalStyle
from rekon.providers.base import Order
from rekon.store import Store

JAKARTA = ZoneInfo("Asia/Jakarta")
# Who the library calls of the tests act as: a trusted operator, as the command line is.
OPERATOR = operator("ana")
VIEWER = Actor("vera@example.co.id", Role.VIEWER)
REVIEWER = Actor("ana@example.co.id", Role.REVIEWER)
APPROVER = Actor("budi@example.co.id", Role.APPROVER)
_seq = itertools.count(1)


def order(
    order_id: str,
    amount: int | str,
    when: datetime | date,
    status: str = "paid",
    provider: str = "xepeng",
    merchant_ref: str | None = None,
    payment_id: str | None = None,
    currency: str = "IDR",
) -> Order:
    """An order created at `when` in Jakarta time (a date means 10:00 that day)."""
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, 10)
    created = when.replace(tzinfo=JAKARTA).astimezone(UTC).replace(tzinfo=None)
    return Order(
        provider=provider,
        order_id=order_id,
        merchant_ref=merchant_ref,
        payment_id=payment_id,
        amount=Decimal(amount),
        currency=currency,
        status=status,
        provider_status=status,
        created_at=created,
        updated_at=created,
        paid_at=created if status == "paid" else None,
        customer_name="Budi Santoso",
        customer_email="budi@example.co.id",
        customer_phone=None,
        description="Kopi",
        raw=f'{{"id": "{order_id}"}}',
    )


def add_orders(store: Store, *orders: Order) -> None:
    with store.write() as cur:
        store.upsert_orders(cur, orders, 0)


def import_lines(
    store: Store, *lines: tuple[date, str, int | str], corrects: int | None = None
) -> ImportResult:
    """Import a ledger of (date, reference, amount) lines; line n of the list is file line
    n + 1. `corrects`: the ledger this one is a corrected export of."""
    text = "Tanggal,Referensi,Jumlah\n" + "".join(
        f"{d.isoformat()},{ref},{amount}\n" for d, ref, amount in lines
    )
    options = ImportOptions(
        decimal_style=DecimalStyle.POINT,
        date_format="%Y-%m-%d",
        name=f"ledger-{next(_seq)}",
        corrects=corrects,
    )
    return import_ledger(store, text.encode(), f"l{next(_seq)}.csv", options, by=OPERATOR)


def add_ledger(store: Store, *lines: tuple[date, str, int | str]) -> int:
    """A ledger of (date, reference, amount) lines; returns its id."""
    return import_lines(store, *lines).ledger_id


def results(store: Store, run_id: int) -> pl.DataFrame:
    return store.query(
        "SELECT result, rule, order_id, line_no, difference, result_key FROM recon_results"
        " WHERE run_id = ? ORDER BY result::VARCHAR, order_id, line_no",
        [run_id],
    )


def by_order(store: Store, run_id: int) -> dict[str, tuple[str, str | None]]:
    frame = results(store, run_id).filter(pl.col("result") != "duplicate_in_ledger")
    return {
        r["order_id"]: (r["result"], r["rule"])
        for r in frame.iter_rows(named=True)
        if r["order_id"]
    }


def check_invariant(store: Store, run_id: int) -> None:
    """Every in-period order in exactly one result; every line at most once; every line
    dated in the period exactly once unless an order outside the period claimed it."""
    start, end = store.query(
        "SELECT period_from, period_to FROM recon_runs WHERE id = ?", [run_id]
    ).row(0)
    per_order = store.query(
        """
        SELECT o.provider, o.order_id, count(r.result) AS n FROM orders o
        LEFT JOIN recon_results r ON r.run_id = $run AND r.provider = o.provider
             AND r.order_id = o.order_id AND r.result <> 'duplicate_in_ledger'
        WHERE o.business_date BETWEEN $start AND $end GROUP BY ALL
        """,
        {"run": run_id, "start": start, "end": end},
    )
    assert per_order.filter(pl.col("n") != 1).is_empty(), per_order.filter(pl.col("n") != 1)
    per_line = store.query(
        "SELECT ledger_id, line_no, count(*) AS n FROM recon_results"
        " WHERE run_id = ? AND line_no IS NOT NULL GROUP BY ALL",
        [run_id],
    )
    assert per_line.filter(pl.col("n") != 1).is_empty()
    outside = store.query(
        "SELECT count(*) FROM recon_results WHERE run_id = ? AND anchor_date NOT BETWEEN ? AND ?",
        [run_id, start, end],
    ).item()
    assert outside == 0


def fingerprint(
    store: Store, leave_out: tuple[str, ...] = ("fetch_runs", "audit_log")
) -> dict[str, str]:
    """Every table's rows, as a hash per table: two fingerprints are equal only when the store
    holds exactly the same data. `fetch_runs` and `audit_log` are left out by default: a failed
    fetch is recorded in both on purpose."""
    with store.read() as cur:
        tables = [
            t
            for (t,) in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                " AND schema_name = current_schema()"
                " AND NOT temporary ORDER BY 1"
            ).fetchall()
            if t not in leave_out
        ]
        return {
            t: str(
                cur.execute(
                    f"SELECT count(*) || ':' || coalesce(md5(string_agg(x::VARCHAR, '|' "
                    f"ORDER BY x::VARCHAR)), '') FROM {t} x"
                ).fetchone()
            )
            for t in tables
        }
