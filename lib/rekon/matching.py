"""Reconciliation: orders against ledger lines, as set-based SQL in DuckDB.

Candidates are orders and ledger lines dated within [from − window, to + window]. Three tiers
claim pairs, each at most once per ledger line:
  1. the line's reference is an order's `order_id` or `payment_id`;
  2. the line's reference is an order's `merchant_ref` (trimmed, case-insensitive);
  3. lines with no or an unknown reference: the same amount (within tolerance) on a paid,
     still unclaimed order within the date window, when exactly one candidate exists on each
     side.
An order's first claim is its match; further claims are `duplicate_in_ledger`. A result
belongs to the period of its order's business date, or of its line's date when there is no
order, so a pair that straddles a month end is reported once, in the order's month.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from rekon.errors import RekonError
from rekon.store import Store, utc_now

RESULTS = ("matched", "amount_mismatch", "status_mismatch", "missing_in_ledger",
           "missing_in_provider", "duplicate_in_ledger", "ambiguous", "unpaid")  # fmt: skip
EXCEPTIONS = ("amount_mismatch", "status_mismatch", "missing_in_ledger", "missing_in_provider",
              "duplicate_in_ledger", "ambiguous")  # fmt: skip


class ReconcileError(RekonError):
    """The reconciliation could not run as asked."""


@dataclass(frozen=True)
class ReconcileParams:
    start: date
    end: date
    ledger_ids: tuple[int, ...] = ()  # empty: every imported ledger
    amount_tolerance: Decimal = Decimal("0")
    date_window: int = 3

    def check(self) -> None:
        if self.end < self.start:
            raise ReconcileError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.amount_tolerance < 0:
            raise ReconcileError("the amount tolerance cannot be negative")
        if not 0 <= self.date_window <= 31:
            raise ReconcileError("the date window must be between 0 and 31 days")


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    params: ReconcileParams
    counts: dict[str, int]
    seconds: float

    @property
    def exceptions(self) -> int:
        return sum(self.counts.get(k, 0) for k in EXCEPTIONS)

    def lines(self) -> list[str]:
        head = (
            f"Reconciled {self.params.start}..{self.params.end} as run {self.run_id} "
            f"in {self.seconds:.2f}s: {self.exceptions} exceptions"
        )
        return [head] + [f"  {name:<20} {self.counts.get(name, 0):>9,}" for name in RESULTS]


# Each statement below reads the temp tables the ones above it made; all run on one cursor
# inside one transaction, so a failure leaves no run behind.
STEPS: list[tuple[str, str]] = [
    (
        "the candidate orders: business dates within the period and its window",
        """
        CREATE OR REPLACE TEMP TABLE c_orders AS
        SELECT provider, order_id, payment_id, upper(trim(merchant_ref)) AS mref,
               amount, status = 'paid' AS paid, business_date
        FROM orders
        WHERE business_date BETWEEN $lo AND $hi
        """,
    ),
    (
        "the candidate ledger lines: dated within the period and its window",
        """
        CREATE OR REPLACE TEMP TABLE c_lines AS
        SELECT ledger_id, line_no, entry_date, trim(reference) AS ref,
               upper(trim(reference)) AS uref, amount
        FROM ledger_lines
        WHERE entry_date BETWEEN $lo AND $hi
          AND (len($ledgers) = 0 OR list_contains($ledgers, ledger_id))
        """,
    ),
    (
        "tier 1 claims every line whose reference is an order id or a payment id",
        """
        CREATE OR REPLACE TEMP TABLE claims AS
        SELECT ledger_id, line_no, provider, order_id, 1 AS tier, rule FROM (
            SELECT l.ledger_id, l.line_no, o.provider, o.order_id, 'order_id' AS rule
            FROM c_lines l JOIN c_orders o ON l.ref = o.order_id
            UNION ALL  -- two equi-joins: an OR in one join condition would be a nested loop
            SELECT l.ledger_id, l.line_no, o.provider, o.order_id, 'payment_id'
            FROM c_lines l JOIN c_orders o ON l.ref = o.payment_id
        )
        QUALIFY row_number() OVER (PARTITION BY ledger_id, line_no
                                   ORDER BY rule = 'order_id' DESC, provider) = 1
        """,
    ),
    (
        "tier 2 claims the remaining lines whose reference is a merchant reference; where "
        "several orders share it a paid one wins, and a tie at the best rank is ambiguous",
        """
        CREATE OR REPLACE TEMP TABLE t2 AS
        SELECT l.ledger_id, l.line_no, o.provider, o.order_id, o.paid,
               count(*) OVER (PARTITION BY l.ledger_id, l.line_no, o.paid) AS n_rank,
               max(o.paid) OVER (PARTITION BY l.ledger_id, l.line_no) AS best
        FROM c_lines l JOIN c_orders o ON l.uref = o.mref
        WHERE l.uref IS NOT NULL AND l.uref <> ''
          AND NOT EXISTS (SELECT 1 FROM claims c
                          WHERE c.ledger_id = l.ledger_id AND c.line_no = l.line_no)
        """,
    ),
    (
        "",
        """
        INSERT INTO claims
        SELECT ledger_id, line_no, provider, order_id, 2, 'merchant_ref'
        FROM t2 WHERE paid = best AND n_rank = 1
        """,
    ),
    (
        "lines left ambiguous by tier 2: several equally good orders share the reference",
        """
        CREATE OR REPLACE TEMP TABLE ambiguous AS
        SELECT DISTINCT ledger_id, line_no FROM t2 WHERE paid = best AND n_rank > 1
        """,
    ),
    (
        "tier 3 looks at the lines still unclaimed and the paid orders still unclaimed: same "
        "amount within tolerance, dates within the window",
        """
        CREATE OR REPLACE TEMP TABLE t3 AS
        WITH free_lines AS (
            SELECT l.* FROM c_lines l
            ANTI JOIN claims c ON c.ledger_id = l.ledger_id AND c.line_no = l.line_no
            ANTI JOIN ambiguous a ON a.ledger_id = l.ledger_id AND a.line_no = l.line_no
        ), free_orders AS (
            SELECT o.* FROM c_orders o
            ANTI JOIN claims c ON c.provider = o.provider AND c.order_id = o.order_id
            WHERE o.paid
        )
        SELECT l.ledger_id, l.line_no, o.provider, o.order_id,
               count(*) OVER (PARTITION BY l.ledger_id, l.line_no) AS n_orders,
               count(*) OVER (PARTITION BY o.provider, o.order_id) AS n_lines
        FROM free_lines l JOIN free_orders o
          ON {amount_condition}
         AND l.entry_date BETWEEN o.business_date - $window AND o.business_date + $window
        """,
    ),
    (
        "",
        """
        INSERT INTO claims
        SELECT ledger_id, line_no, provider, order_id, 3, 'amount_date'
        FROM t3 WHERE n_orders = 1 AND n_lines = 1
        """,
    ),
    (
        "",
        """
        INSERT INTO ambiguous
        SELECT DISTINCT ledger_id, line_no FROM t3 WHERE n_orders > 1 OR n_lines > 1
        """,
    ),
    (
        "an order's first claim (by tier, then date) is its match; later claims are duplicates",
        """
        CREATE OR REPLACE TEMP TABLE ranked AS
        SELECT c.*, row_number() OVER (PARTITION BY c.provider, c.order_id
                   ORDER BY c.tier, l.entry_date, c.ledger_id, c.line_no) AS nth
        FROM claims c JOIN c_lines l USING (ledger_id, line_no)
        """,
    ),
    (
        "every result, classified; kept when its anchor date falls in the period",
        """
        INSERT INTO recon_results
        SELECT $run, * FROM (
            SELECT CASE WHEN r.nth > 1 THEN 'D:' || r.ledger_id || ':' || r.line_no
                        ELSE 'O:' || o.provider || ':' || o.order_id END AS result_key,
                   CASE WHEN r.nth > 1 THEN 'duplicate_in_ledger'
                        WHEN NOT o.paid THEN 'status_mismatch'
                        WHEN abs(l.amount - o.amount) <= $tol THEN 'matched'
                        ELSE 'amount_mismatch' END AS result,
                   r.rule, o.provider, o.order_id, l.ledger_id, l.line_no,
                   o.amount AS order_amount, l.amount AS ledger_amount,
                   l.amount - o.amount AS difference, o.business_date,
                   l.entry_date AS ledger_date, o.business_date AS anchor_date
            FROM ranked r
            JOIN c_orders o USING (provider, order_id)
            JOIN c_lines l USING (ledger_id, line_no)
            UNION ALL
            SELECT 'O:' || o.provider || ':' || o.order_id,
                   CASE WHEN o.paid THEN 'missing_in_ledger' ELSE 'unpaid' END,
                   NULL, o.provider, o.order_id, NULL, NULL, o.amount, NULL, NULL,
                   o.business_date, NULL, o.business_date
            FROM c_orders o ANTI JOIN claims c USING (provider, order_id)
            UNION ALL
            SELECT 'L:' || l.ledger_id || ':' || l.line_no,
                   CASE WHEN a.line_no IS NULL THEN 'missing_in_provider' ELSE 'ambiguous' END,
                   NULL, NULL, NULL, l.ledger_id, l.line_no, NULL, l.amount, NULL,
                   NULL, l.entry_date, l.entry_date
            FROM c_lines l
            ANTI JOIN claims c USING (ledger_id, line_no)
            LEFT JOIN ambiguous a USING (ledger_id, line_no)
        ) WHERE anchor_date BETWEEN $start AND $end
        """,
    ),
]


def reconcile(store: Store, params: ReconcileParams, run_by: str | None = None) -> RunSummary:
    """Run one reconciliation and store it with every result; returns counts per class."""
    params.check()
    began = time.perf_counter()
    ledgers = list(params.ledger_ids)
    if ledgers:
        known = {int(i) for i in store.query("SELECT id FROM ledgers")["id"]}
        if missing := sorted(set(ledgers) - known):
            raise ReconcileError(f"no ledger with id {', '.join(map(str, missing))}")
    window = timedelta(days=params.date_window)
    values = {
        "lo": params.start - window,
        "hi": params.end + window,
        "start": params.start,
        "end": params.end,
        "ledgers": ledgers,
        "tol": params.amount_tolerance,
        "window": params.date_window,
    }
    with store.write() as cur:
        row = cur.execute(
            "INSERT INTO recon_runs (period_from, period_to, ledger_ids, amount_tolerance,"
            " date_window, started_at, run_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                params.start,
                params.end,
                ledgers,
                params.amount_tolerance,
                params.date_window,
                utc_now(),
                run_by,
            ],
        ).fetchall()
        run_id = int(row[0][0])
        # With no tolerance the amount test is an equi-join (a hash join); a tolerance needs a
        # range join, which DuckDB runs far slower at a million rows.
        amount_condition = (
            "l.amount = o.amount"
            if params.amount_tolerance == 0
            else "l.amount BETWEEN o.amount - $tol AND o.amount + $tol"
        )
        for _, template in STEPS:
            sql = template.replace("{amount_condition}", amount_condition)
            used = {k: v for k, v in (values | {"run": run_id}).items() if f"${k}" in sql}
            cur.execute(sql, used)
        found = dict(
            cur.execute(
                "SELECT result, count(*) FROM recon_results WHERE run_id = ? GROUP BY result",
                [run_id],
            ).fetchall()
        )
        counts = {name: int(found.get(name, 0)) for name in RESULTS}
        cur.execute(
            "UPDATE recon_runs SET finished_at = ?, counts = ? WHERE id = ?",
            [utc_now(), json.dumps(counts), run_id],
        )
        for table in ("c_orders", "c_lines", "claims", "t2", "ambiguous", "t3", "ranked"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    return RunSummary(run_id, params, counts, time.perf_counter() - began)


def latest_run(store: Store) -> int | None:
    value = store.scalar("SELECT max(id) FROM recon_runs WHERE finished_at IS NOT NULL")
    return None if value is None else int(value)


def resolve_run(store: Store, run: str | int | None) -> int:
    """A run id from 'latest', a number, or None; raises ReconcileError if there is none."""
    if run in (None, "latest"):
        found = latest_run(store)
        if found is None:
            raise ReconcileError("there is no reconciliation run yet: run `rekon reconcile`")
        return found
    try:
        run_id = int(run)
    except ValueError as exc:
        raise ReconcileError(f"{run!r} is not a run id or 'latest'") from exc
    if store.scalar("SELECT count(*) FROM recon_runs WHERE id = ?", [run_id]) == 0:
        raise ReconcileError(f"there is no reconciliation run {run_id}")
    return run_id


def run_params(store: Store, run_id: int) -> ReconcileParams:
    row = store.query(
        "SELECT period_from, period_to, ledger_ids, amount_tolerance, date_window"
        " FROM recon_runs WHERE id = ?",
        [run_id],
    ).row(0)
    return ReconcileParams(row[0], row[1], tuple(row[2] or ()), Decimal(row[3]), int(row[4]))
