"""Read models for pages, charts and exports: results with their order, line and review.

Everything is aggregated or paged in DuckDB; pages receive at most a page of rows.
"""

from __future__ import annotations

import calendar
import io
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from rekon.errors import RekonError
from rekon.matching import EXCEPTIONS, RESULTS
from rekon.money import MoneyError, parse_amount
from rekon.providers.base import provider_title
from rekon.reviews import LATEST_SQL
from rekon.store import Store

KINDS = ("all", "exceptions", "matched", "summary", "reviews")
FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows, less the header
EXPORT_COLUMNS = (
    "result", "rule", "provider", "order_id", "merchant_ref", "payment_id", "order_status",
    "order_date", "order_amount", "currency", "ledger_id", "ledger_line", "ledger_date",
    "ledger_reference", "ledger_amount", "difference", "description", "review_status",
    "review_note",
)  # fmt: skip
TEXT_COLUMNS = ("order_id", "merchant_ref", "payment_id", "ledger_reference", "description",
                "review_note")  # fmt: skip
MONEY_COLUMNS = ("order_amount", "ledger_amount", "difference")
# The audit trail of a run: every decision ever recorded on its results, oldest first per item.
REVIEW_COLUMNS = ("result_key", "result", "provider", "order_id", "ledger_id", "ledger_line",
                  "seq", "decision", "note", "reviewer", "reviewed_at",
                  "decided_in_run")  # fmt: skip
REVIEWS_SQL = """
    SELECT r.result_key, r.result, r.provider, r.order_id, r.ledger_id,
           r.line_no AS ledger_line, v.seq, v.decision, v.note, v.reviewer, v.reviewed_at,
           v.run_id AS decided_in_run
    FROM recon_results r JOIN reviews v USING (result_key)
    WHERE r.run_id = $run
"""
PAGE_LIMIT = 1_000


class ExportError(RekonError):
    """An export could not be written."""


# A result's review status, from its row `r` and its latest review `v` (LATEST_SQL): an
# exception is open until decided; other classes take no decision.
REVIEW_STATUS = (
    f"CASE WHEN r.result IN {EXCEPTIONS} THEN coalesce(v.review_status, 'open') ELSE '' END"
)
# One row per result, with what a reviewer needs to see beside it.
RESULTS_SQL = f"""
    SELECT r.result_key, r.result, r.rule, r.provider, r.order_id, o.merchant_ref,
           o.payment_id, o.status AS order_status, r.business_date AS order_date,
           r.order_amount, coalesce(o.currency, l.currency) AS currency,
           r.ledger_id, r.line_no AS ledger_line, r.ledger_date, l.reference AS ledger_reference,
           r.ledger_amount, r.difference, coalesce(l.description, o.description) AS description,
           {REVIEW_STATUS} AS review_status,
           v.review_note, o.customer_name, o.customer_email, r.anchor_date
    FROM recon_results r
    LEFT JOIN orders o USING (provider, order_id)
    LEFT JOIN ledger_lines l USING (ledger_id, line_no)
    LEFT JOIN ({LATEST_SQL}) v USING (result_key)
    WHERE r.run_id = $run
"""


@dataclass(frozen=True)
class ResultFilter:
    results: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    review: tuple[str, ...] = ()  # open / accepted / resolved
    search: str = ""

    def sql(self) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = ["TRUE"]
        params: dict[str, Any] = {}
        if self.results:
            clauses.append("list_contains($results, result)")
            params["results"] = list(self.results)
        if self.providers:
            clauses.append("list_contains($providers, provider)")
            params["providers"] = list(self.providers)
        if self.review:
            clauses.append("list_contains($review, review_status)")
            params["review"] = list(self.review)
        if text := self.search.strip():
            matches = [
                "concat_ws(' ', order_id, merchant_ref, payment_id, ledger_reference,"
                " description, customer_name, customer_email) ILIKE $search"
            ]
            params["search"] = f"%{text}%"
            try:  # "26.000" or "Rp 1.525.000": a reviewer looking for an amount on either side
                params["amount"] = parse_amount(text)
                matches.append("$amount IN (order_amount, ledger_amount)")
            except MoneyError:
                pass
            clauses.append(f"({' OR '.join(matches)})")
        return " AND ".join(clauses), params


def results_page(
    store: Store, run_id: int, flt: ResultFilter = ResultFilter(), offset: int = 0, limit: int = 100
) -> tuple[pl.DataFrame, int]:
    """One page of results (never more than PAGE_LIMIT rows) and the filtered total."""
    where, params = flt.sql()
    limit = max(1, min(limit, PAGE_LIMIT))
    base = f"SELECT * FROM ({RESULTS_SQL}) WHERE {where}"
    params = params | {"run": run_id}
    total = int(store.scalar(f"SELECT count(*) FROM ({base})", params) or 0)
    page = store.query(
        f"{base} ORDER BY array_position({list(RESULTS)}, result), anchor_date, result_key"
        f" LIMIT {limit} OFFSET {max(0, int(offset))}",
        params,
    )
    return page, total


def result_detail(store: Store, run_id: int, key: str) -> dict[str, Any]:
    """One result with its full order (raw JSON included) and ledger line."""
    rows = store.query(
        f"SELECT * FROM ({RESULTS_SQL}) WHERE result_key = $key", {"run": run_id, "key": key}
    )
    if rows.is_empty():
        raise RekonError(f"no result {key} in run {run_id}")
    result = rows.row(0, named=True)
    order = line = None
    if result["order_id"]:
        order = store.query(
            "SELECT * FROM orders WHERE provider = ? AND order_id = ?",
            [result["provider"], result["order_id"]],
        ).row(0, named=True)
    if result["ledger_id"] is not None:
        line = store.query(
            "SELECT * FROM ledger_lines WHERE ledger_id = ? AND line_no = ?",
            [result["ledger_id"], result["ledger_line"]],
        ).row(0, named=True)
    return {"result": result, "order": order, "line": line}


def order_results(store: Store, provider: str, order_id: str, limit: int = 10) -> pl.DataFrame:
    """What the reconciliation runs made of one order, newest run first: its result, the ledger
    line it was paired with (a line booked twice shows as a second row) and the review."""
    return store.query(
        f"""
        SELECT r.run_id, u.period_from, u.period_to, r.result, r.rule, r.ledger_id,
               r.line_no AS ledger_line, r.ledger_date, r.ledger_amount, r.difference,
               {REVIEW_STATUS} AS review_status,
               v.review_note
        FROM recon_results r
        JOIN recon_runs u ON u.id = r.run_id
        LEFT JOIN ({LATEST_SQL}) v USING (result_key)
        WHERE r.provider = $provider AND r.order_id = $order_id
        ORDER BY r.run_id DESC, r.result = 'duplicate_in_ledger', r.ledger_date
        LIMIT $limit
        """,
        {"provider": provider, "order_id": order_id, "limit": limit},
    )


def class_totals(store: Store, run_id: int, providers: tuple[str, ...] = ()) -> pl.DataFrame:
    """Per result class: count, order amount and ledger amount (every class, zeros kept).
    With providers, ledger-only results (no provider) are left out."""
    return store.query(
        f"""
        SELECT k.result, count(r.result) AS count,
               coalesce(sum(r.order_amount), 0) AS order_amount,
               coalesce(sum(r.ledger_amount), 0) AS ledger_amount,
               coalesce(sum(coalesce(r.ledger_amount, r.order_amount)), 0) AS amount
        FROM unnest({list(RESULTS)}) AS k(result)
        LEFT JOIN recon_results r ON r.result = k.result AND r.run_id = $run
             AND (len($providers) = 0 OR list_contains($providers, r.provider))
        GROUP BY k.result ORDER BY array_position({list(RESULTS)}, k.result)
        """,
        {"run": run_id, "providers": list(providers)},
    )


def summary_by_provider(store: Store, run_id: int) -> pl.DataFrame:
    return store.query(
        """
        SELECT coalesce(provider, '(ledger only)') AS provider, result, count(*) AS count,
               sum(order_amount) AS order_amount, sum(ledger_amount) AS ledger_amount,
               sum(difference) AS difference
        FROM recon_results WHERE run_id = $run GROUP BY ALL ORDER BY ALL
        """,
        {"run": run_id},
    )


def summary_by_day(store: Store, run_id: int) -> pl.DataFrame:
    return store.query(
        """
        SELECT anchor_date AS business_date, result, count(*) AS count,
               sum(order_amount) AS order_amount, sum(ledger_amount) AS ledger_amount,
               sum(difference) AS difference
        FROM recon_results WHERE run_id = $run GROUP BY ALL ORDER BY ALL
        """,
        {"run": run_id},
    )


# ---------------------------------------------------------------- exports


def _kind_where(kind: str) -> str:
    if kind == "all":
        return "TRUE"
    if kind == "exceptions":
        return f"result IN {EXCEPTIONS}"
    if kind == "matched":
        return "result = 'matched'"
    raise ExportError(f"unknown export kind {kind!r}: use one of {', '.join(KINDS)}")


def _neutralise(col: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ tab or CR; prefix those with '.
    return (
        f"CASE WHEN regexp_matches({col}, '^[=+\\-@\\t\\r]') THEN '''' || {col}"
        f" ELSE {col} END AS {col}"
    )


def export_sql(kind: str, typed: bool = False) -> str:
    """The export's SELECT: plain strings (CSV) or typed numbers and dates (XLSX)."""
    if kind == "reviews":
        return _reviews_sql(typed)
    cols = []
    for col in EXPORT_COLUMNS:
        if col in TEXT_COLUMNS:
            cols.append(_neutralise(col))
        elif col in MONEY_COLUMNS and not typed:
            cols.append(f"CAST({col} AS VARCHAR) AS {col}")
        elif col in ("order_date", "ledger_date") and not typed:
            cols.append(f"strftime({col}, '%Y-%m-%d') AS {col}")
        else:
            cols.append(col)
    return (
        f"SELECT {', '.join(cols)} FROM ({RESULTS_SQL}) WHERE {_kind_where(kind)}"
        f" ORDER BY array_position({list(RESULTS)}, result), anchor_date, result_key"
    )


def _reviews_sql(typed: bool) -> str:
    # Notes and names are typed by people: neutralised like every other text cell.
    cols = [_neutralise(c) if c in ("order_id", "note", "reviewer") else c for c in REVIEW_COLUMNS]
    if not typed:  # ISO 8601 in UTC, as stored
        cols[REVIEW_COLUMNS.index("reviewed_at")] = (
            "strftime(reviewed_at, '%Y-%m-%dT%H:%M:%SZ') AS reviewed_at"
        )
    return f"SELECT {', '.join(cols)} FROM ({REVIEWS_SQL}) ORDER BY result_key, seq"


def summary_frame(store: Store, run_id: int) -> pl.DataFrame:
    """Both summaries in one table: section 'provider' or 'day', then the key."""
    by_provider = summary_by_provider(store, run_id).rename({"provider": "key"})
    by_day = summary_by_day(store, run_id).rename({"business_date": "key"})
    return pl.concat(
        [
            by_provider.with_columns(pl.lit("provider").alias("section")),
            by_day.with_columns(pl.col("key").cast(pl.String), pl.lit("day").alias("section")),
        ]
    ).select("section", "key", "result", "count", "order_amount", "ledger_amount", "difference")


def write_export(store: Store, run_id: int, kind: str, out: Path, fmt: str = "csv") -> int:
    """Write an export file; returns the number of data rows."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use csv or xlsx")
    if kind not in KINDS:
        raise ExportError(f"unknown export kind {kind!r}: use one of {', '.join(KINDS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        return _write_xlsx(store, run_id, kind, out)
    if kind == "summary":
        frame = summary_frame(store, run_id)
        frame.with_columns(pl.col(c).cast(pl.String) for c in MONEY_COLUMNS).write_csv(out)
        return frame.height
    with store.read() as cur:
        # DuckDB writes the file itself: no rows pass through Python.
        written = cur.execute(
            f"COPY ({export_sql(kind)}) TO '{_sql_path(out)}' (HEADER, DELIMITER ',')",
            {"run": run_id},
        ).fetchall()
    return int(written[0][0])


def export_rows(store: Store, run_id: int, kind: str) -> int:
    """How many rows an export of `kind` (not summary) holds."""
    if kind == "reviews":
        return int(store.scalar(f"SELECT count(*) FROM ({REVIEWS_SQL})", {"run": run_id}))
    return int(
        store.scalar(
            f"SELECT count(*) FROM recon_results WHERE run_id = $run AND {_kind_where(kind)}",
            {"run": run_id},
        )
    )


def export_bytes(store: Store, run_id: int, kind: str, fmt: str = "csv") -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{fmt}"
        write_export(store, run_id, kind, path, fmt)
        return path.read_bytes()


def export_name(start: date, end: date, kind: str, fmt: str) -> str:
    """'rekon-2026-10-exceptions.csv' for a calendar month, else the exact range."""
    last_day = calendar.monthrange(start.year, start.month)[1]
    whole_month = start.day == 1 and end == start.replace(day=last_day)
    period = f"{start:%Y-%m}" if whole_month else f"{start}_{end}"
    return f"rekon-{period}-{kind}.{fmt}"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_xlsx(store: Store, run_id: int, kind: str, out: Path) -> int:
    import xlsxwriter

    kinds = KINDS if kind == "all" else (kind,)
    # Past a worksheet's last row Excel would silently lose results: refuse before writing.
    # The first sheet is the largest ('all' holds the others).
    if kind != "summary" and (size := export_rows(store, run_id, kind)) > XLSX_MAX_ROWS:
        raise ExportError(
            f"this export has {size:,} rows and an Excel sheet holds {XLSX_MAX_ROWS:,}; "
            "export it as CSV instead"
        )
    rows = 0
    with xlsxwriter.Workbook(str(out)) as book:
        money = book.add_format({"num_format": "#,##0.00"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for sheet in kinds:
            if sheet == "summary":
                frame = summary_frame(store, run_id)
            else:
                frame = store.query(export_sql(sheet, typed=True), {"run": run_id})
            formats: dict[str, Any] = {c: money for c in MONEY_COLUMNS if c in frame.columns}
            formats |= {c: day for c in ("order_date", "ledger_date") if c in frame.columns}
            formats |= {c: moment for c in ("reviewed_at",) if c in frame.columns}
            # Excel stores numbers as doubles: exact for every IDR amount below 10^13.
            frame = frame.with_columns(
                pl.col(c).cast(pl.Float64) for c in MONEY_COLUMNS if c in frame.columns
            )
            frame.write_excel(
                book,
                worksheet=sheet,
                column_formats=formats,  # type: ignore[arg-type]
                autofit=frame.height < 5_000,
                dtype_formats=None,
            )
            if sheet == kind:
                rows = frame.height
    return rows


def csv_rows(data: bytes) -> pl.DataFrame:
    """Read an export back as strings (tests and previews)."""
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


# ---------------------------------------------------------------- overview and charts


def provider_kpis(store: Store, start: date, end: date, run_id: int | None) -> pl.DataFrame:
    """Per provider and in total: orders, paid count and amount, matched %, exceptions, and
    how many of those are still open (no decision, or reopened)."""
    return store.query(
        f"""
        WITH o AS (
            SELECT provider, grouping(provider) AS g, count(*) AS orders,
                   count(*) FILTER (WHERE status = 'paid') AS paid,
                   coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0) AS paid_amount
            FROM orders WHERE business_date BETWEEN $start AND $end GROUP BY ROLLUP (provider)
            HAVING count(*) > 0  -- ROLLUP adds a total row even when there are no orders
        ), r AS (
            SELECT provider, grouping(provider) AS g,
                   count(*) FILTER (WHERE result = 'matched') AS matched,
                   count(*) FILTER (WHERE result IN {EXCEPTIONS}) AS exceptions,
                   coalesce(sum(coalesce(ledger_amount, order_amount))
                            FILTER (WHERE result IN {EXCEPTIONS}), 0) AS exception_amount
            FROM recon_results WHERE run_id = $run GROUP BY ROLLUP (provider)
        ), still_open AS (
            -- keys are computed for the exceptions only, not for every matched row
            SELECT provider, grouping(provider) AS g, count(*) AS open_exceptions
            FROM recon_results
            ANTI JOIN (SELECT result_key FROM ({LATEST_SQL}) WHERE review_status <> 'open')
                 USING (result_key)
            WHERE run_id = $run AND result IN {EXCEPTIONS} GROUP BY ROLLUP (provider)
        )
        SELECT coalesce(o.provider, 'total') AS provider, o.orders, o.paid, o.paid_amount,
               coalesce(r.matched, 0) AS matched,
               CASE WHEN o.paid > 0 THEN 100.0 * coalesce(r.matched, 0) / o.paid END
                   AS matched_pct,
               coalesce(r.exceptions, 0) AS exceptions,
               coalesce(r.exception_amount, 0) AS exception_amount,
               coalesce(s.open_exceptions, 0) AS open_exceptions
        -- ledger-only results have no provider: they count in the total row only
        FROM o LEFT JOIN r ON o.g = r.g AND o.provider IS NOT DISTINCT FROM r.provider
        LEFT JOIN still_open s ON o.g = s.g AND o.provider IS NOT DISTINCT FROM s.provider
        ORDER BY o.g, o.provider
        """,
        {"start": start, "end": end, "run": run_id if run_id is not None else -1},
    )


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
    """Per provider (default: each one ever fetched), the days of [start, end] that no
    successful fetch covered. Reconciling such days would report every sale booked on them as
    missing at the provider."""
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
                                         (SELECT list(DISTINCT provider) FROM covered))))
                 AS p(provider)
        )
        SELECT provider, min(day) AS first, max(day) AS last, count(*) AS days
        FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.provider = w.provider
                                                     AND w.day BETWEEN c.range_from AND c.range_to)
        GROUP BY provider ORDER BY provider
        """,
        {"start": start, "end": end, "providers": None if providers is None else list(providers)},
    )
    return [FetchGap(*row) for row in rows.iter_rows()]


def fetch_history(store: Store, limit: int = 50) -> pl.DataFrame:
    return store.query(
        "SELECT id, providers, range_from, range_to, started_at, finished_at, status,"
        " orders_seen, orders_new, orders_updated, error FROM fetch_runs"
        f" ORDER BY id DESC LIMIT {int(limit)}"
    )


def recent_runs(store: Store, limit: int = 20) -> pl.DataFrame:
    """The latest finished runs of any period, newest first, with their counts per class."""
    return store.query(
        "SELECT id, period_from, period_to, finished_at, run_by, ledger_ids, amount_tolerance,"
        " date_window, counts FROM recon_runs WHERE finished_at IS NOT NULL"
        " ORDER BY id DESC LIMIT ?",
        [max(1, limit)],
    )


def runs_for_period(store: Store, start: date, end: date) -> pl.DataFrame:
    return store.query(
        "SELECT id, period_from, period_to, ledger_ids, amount_tolerance, date_window,"
        " finished_at, run_by FROM recon_runs WHERE finished_at IS NOT NULL"
        " AND period_from = ? AND period_to = ? ORDER BY id DESC",
        [start, end],
    )


def run_changes(store: Store, before: int, after: int) -> pl.DataFrame:
    """How the results moved from one run to another, by their stable keys: per pair of classes
    (`before` null: new in the later run; `after` null: gone from it) how many results, for
    the pairs that differ. A result booked twice counts under its D: key."""
    return store.query(
        """
        SELECT b.result::VARCHAR AS before, a.result::VARCHAR AS after, count(*) AS results
        FROM (SELECT result_key, result FROM recon_results WHERE run_id = $before) b
        FULL JOIN (SELECT result_key, result FROM recon_results WHERE run_id = $after) a
             USING (result_key)
        WHERE b.result IS DISTINCT FROM a.result
        GROUP BY ALL ORDER BY results DESC, before, after
        """,
        {"before": before, "after": after},
    )


def status_by_provider(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    return store.query(
        """
        SELECT provider, status, count(*) AS orders, sum(amount) AS amount FROM orders
        WHERE business_date BETWEEN $start AND $end
          AND (len($providers) = 0 OR list_contains($providers, provider))
        GROUP BY ALL ORDER BY ALL
        """,
        {"start": start, "end": end, "providers": list(providers)},
    )


def paid_per_day(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    return store.query(
        """
        SELECT business_date, provider, sum(amount) AS paid_amount, count(*) AS orders
        FROM orders WHERE status = 'paid' AND business_date BETWEEN $start AND $end
          AND (len($providers) = 0 OR list_contains($providers, provider))
        GROUP BY ALL ORDER BY ALL
        """,
        {"start": start, "end": end, "providers": list(providers)},
    )


def exceptions_by_age(
    store: Store, run_id: int, today: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Open exceptions by how many days old their date is, in buckets a reviewer uses."""
    return store.query(
        f"""
        SELECT CASE WHEN age <= 7 THEN '0–7 days' WHEN age <= 30 THEN '8–30 days'
                    WHEN age <= 60 THEN '31–60 days' ELSE 'over 60 days' END AS age,
               result, count(*) AS count, sum(amount) AS amount
        FROM (SELECT result, date_diff('day', anchor_date, $today) AS age,
                     coalesce(ledger_amount, order_amount) AS amount, provider
              FROM ({RESULTS_SQL}) WHERE result IN {EXCEPTIONS} AND review_status = 'open'
                AND (len($providers) = 0 OR list_contains($providers, provider)))
        GROUP BY ALL ORDER BY min(age), result
        """,
        {"run": run_id, "today": today, "providers": list(providers)},
    )


def amount_distribution(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Orders per amount band and status (bands in rupiah, log-spaced)."""
    return store.query(
        """
        SELECT CASE WHEN amount < 50000 THEN '< 50 rb' WHEN amount < 100000 THEN '50–100 rb'
                    WHEN amount < 250000 THEN '100–250 rb' WHEN amount < 500000 THEN '250–500 rb'
                    WHEN amount < 1000000 THEN '500 rb–1 jt' WHEN amount < 2500000
                    THEN '1–2,5 jt' ELSE '≥ 2,5 jt' END AS band,
               min(amount) AS lowest, status, count(*) AS orders
        FROM orders WHERE business_date BETWEEN $start AND $end
          AND (len($providers) = 0 OR list_contains($providers, provider))
        GROUP BY band, status ORDER BY lowest
        """,
        {"start": start, "end": end, "providers": list(providers)},
    )


def find_orders(store: Store, text: str, limit: int = 50) -> pl.DataFrame:
    """Orders whose id, payment id or merchant reference is or contains the text."""
    needle = text.strip()
    if not needle:
        return store.query("SELECT * FROM orders LIMIT 0")
    return store.query(
        f"""
        SELECT provider, order_id, merchant_ref, payment_id, amount, status, provider_status,
               business_date, customer_name, description
        FROM orders
        WHERE order_id = $t OR payment_id = $t OR upper(merchant_ref) = upper($t)
           OR order_id ILIKE $like OR merchant_ref ILIKE $like
        ORDER BY (order_id = $t OR payment_id = $t OR upper(merchant_ref) = upper($t)) DESC,
                 business_date DESC
        LIMIT {int(limit)}
        """,
        {"t": needle, "like": f"%{needle}%"},
    )


def audit_trail(store: Store, subject: str, limit: int = 50) -> pl.DataFrame:
    """What was done to one subject (e.g. 'xepeng:xo_123'), newest first."""
    return store.query(
        f"SELECT logged_at, actor, action, detail FROM audit_log WHERE subject = ?"
        f" ORDER BY logged_at DESC LIMIT {int(limit)}",
        [subject],
    )
