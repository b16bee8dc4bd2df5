"""The export files and the aggregates behind the overview and the charts.

Everything is aggregated in DuckDB, and an export is written by DuckDB itself (CSV) or from one
frame per sheet (XLSX): no result row passes through a Python loop.
"""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from rekon import closing
from rekon.classes import EXCEPTIONS, KINDS, RESULTS, SETTLEMENT_RESULTS
from rekon.duck import sql_text
from rekon.errors import RekonError
from rekon.money import format_count
from rekon.periods import is_whole_month
from rekon.results import NARROW_SQL, RESULTS_SQL
from rekon.reviews import LATEST_SQL
from rekon.store import Store

# Where each booked difference goes in the books, unless the settings name other accounts.
DEFAULT_ACCOUNTS = {
    "fee": "Bank and gateway fees",
    "rounding": "Rounding differences",
    "write_off": "Write-offs",
}
ADJUSTMENT_COLUMNS = ("date", "account", "amount", "reason", "memo", "group_id", "rule")
FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows, less the header
EXPORT_COLUMNS = (
    "result", "rule", "provider", "order_id", "merchant_ref", "payment_id", "order_status",
    "order_date", "order_amount", "currency", "ledger_id", "ledger_line", "ledger_date",
    "ledger_reference", "ledger_amount", "difference", "description", "review_status",
    "review_note", "group_id", "reason", "fee", "net_amount", "settlement_id",
)  # fmt: skip
# Text that came from outside (a provider, a ledger file, a reviewer): neutralised on export.
TEXT_COLUMNS = ("order_id", "merchant_ref", "payment_id", "currency", "ledger_reference",
                "description", "review_note", "settlement_id")  # fmt: skip
MONEY_COLUMNS = ("order_amount", "ledger_amount", "difference", "fee", "net_amount")
# One row per settlement of a run's period: its payout, its deposit, and the fee check.
SETTLEMENT_COLUMNS = ("provider", "settlement_id", "settled_at", "gross", "fee", "net",
                      "orders", "result", "ledger_id", "ledger_line", "expected_fee",
                      "overcharged", "overcharged_payments")  # fmt: skip
SETTLEMENT_MONEY = ("gross", "fee", "net", "expected_fee", "overcharged")
# The audit trail of a run: every decision ever recorded on its results, oldest first per item.
REVIEW_COLUMNS = ("result_key", "result", "provider", "order_id", "ledger_id", "ledger_line",
                  "seq", "decision", "note", "reviewer", "reviewed_at_utc",
                  "decided_in_run")  # fmt: skip
REVIEWS_SQL = """
    SELECT r.result_key, r.result, r.provider, r.order_id, r.ledger_id,
           r.line_no AS ledger_line, v.seq, v.decision, v.note, v.reviewer,
           v.reviewed_at AS reviewed_at_utc,  -- the header says the zone a reader must assume
           v.run_id AS decided_in_run
    FROM recon_results r JOIN reviews v USING (result_key)
    WHERE r.run_id = $run
"""


class ExportError(RekonError):
    """An export could not be written."""


# Per group of results: how many, their amounts, and for exceptions how many are still open
# and how many were decided. `{key}` is the grouping expression, or NULL for the grand totals.
_SUMMARY_SQL = f"""
    WITH decided AS (SELECT result_key FROM ({LATEST_SQL}) WHERE review_status <> 'open')
    SELECT {{key}} AS key, result, count(*) AS count,
           sum(order_amount) AS order_amount, sum(ledger_amount) AS ledger_amount,
           sum(difference) AS difference,
           count(*) FILTER (WHERE result IN {EXCEPTIONS}
                            AND result_key NOT IN (SELECT result_key FROM decided)) AS open,
           count(*) FILTER (WHERE result IN {EXCEPTIONS}
                            AND result_key IN (SELECT result_key FROM decided)) AS decided
    FROM recon_results WHERE run_id = $run GROUP BY ALL ORDER BY ALL
"""


def summary_by_provider(store: Store, run_id: int) -> pl.DataFrame:
    frame = store.query(
        _SUMMARY_SQL.format(key="coalesce(provider, '(ledger only)')"), {"run": run_id}
    )
    return frame.rename({"key": "provider"})


def summary_by_day(store: Store, run_id: int) -> pl.DataFrame:
    return store.query(_SUMMARY_SQL.format(key="anchor_date"), {"run": run_id}).rename(
        {"key": "business_date"}
    )


def summary_totals(store: Store, run_id: int) -> pl.DataFrame:
    """Per result class over the whole run, then one row for everything (result 'all')."""
    per_class = store.query(_SUMMARY_SQL.format(key="'all'"), {"run": run_id})
    grand = per_class.select(
        pl.lit("all").alias("key"),
        pl.lit("all").alias("result"),
        *(pl.col(c).sum() for c in per_class.columns if c not in ("key", "result")),
    )
    return pl.concat([per_class, grand.cast(per_class.schema)])


# ---------------------------------------------------------------- exports


def _kind_where(kind: str) -> str:
    if kind == "all":
        return "TRUE"
    if kind == "exceptions":
        return f"result IN {EXCEPTIONS}"
    if kind == "matched":
        return "result = 'matched'"
    raise ExportError(f"unknown export kind {kind!r}: use one of {', '.join(KINDS)}")


# A spreadsheet runs a cell that starts with = + - @ tab or CR; those are prefixed with '.
RUNNABLE = r"^[=+\-@\t\r]"


def neutralise(col: str) -> str:
    """SQL for a text column that a spreadsheet will not run, under its own name."""
    return (
        f"CASE WHEN regexp_matches({col}, '{RUNNABLE}') THEN '''' || {col} ELSE {col} END AS {col}"
    )


def export_sql(kind: str, typed: bool = False, accounts: dict[str, str] | None = None) -> str:
    """The export's SELECT: plain strings (CSV) or typed numbers and dates (XLSX)."""
    if kind == "reviews":
        return _reviews_sql(typed)
    if kind == "adjustments":
        return _adjustments_sql(typed, accounts or DEFAULT_ACCOUNTS)
    if kind == "settlements":
        return _settlements_sql(typed)
    return f"SELECT {', '.join(EXPORT_COLUMNS)} FROM ({_rows_sql(kind, typed)}) {ROWS_ORDER}"


def _rows_sql(kind: str, typed: bool = False) -> str:
    """The export's rows, unsorted: its columns, and what sorts them (ROWS_ORDER)."""
    cols = []
    for col in EXPORT_COLUMNS:
        if col in TEXT_COLUMNS:
            cols.append(neutralise(col))
        elif col in MONEY_COLUMNS and not typed:
            cols.append(f"CAST({col} AS VARCHAR) AS {col}")
        elif col in ("order_date", "ledger_date") and not typed:
            cols.append(f"strftime({col}, '%Y-%m-%d') AS {col}")
        else:
            cols.append(col)
    return (
        f"SELECT {', '.join(cols)}, result AS sort_result, anchor_date AS sort_day,"
        f" result_key AS sort_key FROM ({RESULTS_SQL}) WHERE {_kind_where(kind)}"
    )


ROWS_ORDER = f"ORDER BY array_position({list(RESULTS)}, sort_result), sort_day, sort_key"


def _adjustments_sql(typed: bool, accounts: dict[str, str]) -> str:
    """A journal line per difference a reviewer or a rule booked as a fee, rounding or
    write-off: a manual group once (its lines less its orders), a pair a rule cleared once.
    `amount` is what the books must take up: positive where the gateway kept money."""
    account = (
        "CASE reason "
        + " ".join(
            f"WHEN '{reason}' THEN '{name.replace(chr(39), chr(39) * 2)}'"
            for reason, name in (DEFAULT_ACCOUNTS | accounts).items()
        )
        + " END"
    )
    booked = "sum(coalesce(order_amount, 0)) - sum(coalesce(ledger_amount, 0))"
    day = "min(anchor_date)" if typed else "strftime(min(anchor_date), '%Y-%m-%d')"
    amount = booked if typed else f"CAST({booked} AS VARCHAR)"
    return f"""
        SELECT date, account, amount, reason, {neutralise("memo")}, group_id, rule FROM (
            SELECT {day} AS date, {account} AS account, {amount} AS amount, reason,
                   reason || ': ' || string_agg(result_key, ', ' ORDER BY result_key) AS memo,
                   group_id, any_value(rule) AS rule, min(anchor_date) AS sort_day
            FROM recon_results
            WHERE run_id = $run AND reason IN ('fee', 'rounding', 'write_off')
            GROUP BY coalesce('G' || group_id, result_key), group_id, reason
            HAVING {booked} <> 0
        ) ORDER BY sort_day, memo
    """


def _settlements_sql(typed: bool) -> str:
    """Settlements as accounting reads them: settled_at in UTC (ISO 8601 in CSV), amounts
    exact, the over-charged payments named in one cell."""
    cols = []
    for col in SETTLEMENT_COLUMNS:
        if col in SETTLEMENT_MONEY and not typed:
            cols.append(f"CAST({col} AS VARCHAR) AS {col}")
        elif col == "settled_at" and not typed:
            cols.append("strftime(settled_at, '%Y-%m-%dT%H:%M:%SZ') AS settled_at")
        elif col == "ledger_line":
            cols.append("line_no AS ledger_line")
        elif col == "overcharged_payments":
            cols.append(
                "CASE WHEN overcharged_payments IS NOT NULL"
                " THEN array_to_string(overcharged_payments, ' ') END AS overcharged_payments"
            )
        elif col == "settlement_id":
            cols.append(neutralise(col))
        else:
            cols.append(col)
    return (
        f"SELECT {', '.join(cols)} FROM settlement_results WHERE run_id = $run"
        f" ORDER BY array_position({list(SETTLEMENT_RESULTS)}, result), settled_at, provider,"
        " settlement_id"
    )


def _reviews_sql(typed: bool) -> str:
    # Notes and names are typed by people: neutralised like every other text cell.
    cols = [neutralise(c) if c in ("order_id", "note", "reviewer") else c for c in REVIEW_COLUMNS]
    if not typed:  # ISO 8601 in UTC, as stored
        cols[REVIEW_COLUMNS.index("reviewed_at_utc")] = (
            "strftime(reviewed_at_utc, '%Y-%m-%dT%H:%M:%SZ') AS reviewed_at_utc"
        )
    return f"SELECT {', '.join(cols)} FROM ({REVIEWS_SQL}) ORDER BY result_key, seq"


def summary_frame(store: Store, run_id: int) -> pl.DataFrame:
    """The summaries in one table, by section: 'total' (per class over the run, then 'all'),
    'provider' (provider × class) and 'day' (business day × class), each row with how many
    of its exceptions are still open and how many were decided."""
    by_provider = summary_by_provider(store, run_id).rename({"provider": "key"})
    by_day = summary_by_day(store, run_id).rename({"business_date": "key"})
    columns = ("section", "key", "result", "count", "order_amount", "ledger_amount",
               "difference", "open", "decided")  # fmt: skip
    return pl.concat(
        [
            summary_totals(store, run_id).with_columns(pl.lit("total").alias("section")),
            by_provider.with_columns(pl.lit("provider").alias("section")),
            by_day.with_columns(pl.col("key").cast(pl.String), pl.lit("day").alias("section")),
        ],
        how="diagonal_relaxed",
    ).select(columns)


def write_export(
    store: Store,
    run_id: int,
    kind: str,
    out: Path,
    fmt: str = "csv",
    accounts: dict[str, str] | None = None,
) -> int:
    """Write an export file; returns the number of data rows. Raises ExportError, saying
    what to do, when the file cannot be written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use csv or xlsx")
    if kind not in KINDS:
        raise ExportError(f"unknown export kind {kind!r}: use one of {', '.join(KINDS)}")
    if out.is_dir():
        raise ExportError(f"{out} is a folder: give a file name, such as {out / f'all.{fmt}'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return _write(store, run_id, kind, out, fmt, accounts)
    except (OSError, duckdb.IOException) as exc:
        reason = getattr(exc, "strerror", None) or _io_reason(str(exc))
        raise ExportError(
            f"cannot write {out}: {reason}. Choose a folder you can write to (--out)"
        ) from exc


def _io_reason(text: str) -> str:
    for known in ("Permission denied", "No space left on device", "Read-only file system"):
        if known.lower() in text.lower():
            return known.lower()
    return text.splitlines()[0] if text else "the file could not be written"


def _write(
    store: Store, run_id: int, kind: str, out: Path, fmt: str, accounts: dict[str, str] | None
) -> int:
    if fmt == "xlsx":
        return _write_xlsx(store, run_id, kind, out, accounts)
    if kind == "summary":
        frame = summary_frame(store, run_id)
        frame.with_columns(
            pl.col(c).cast(pl.String) for c in MONEY_COLUMNS if c in frame.columns
        ).write_csv(out)
        return frame.height
    with store.read() as cur:
        # DuckDB writes the file itself: no rows pass through Python. The format is named:
        # DuckDB would otherwise choose it by the file's extension (.xlsx, .parquet, .json).
        to = f"TO '{sql_text(out)}' (FORMAT csv, HEADER, DELIMITER ',')"
        if kind in ("reviews", "adjustments", "settlements"):
            select = export_sql(kind, accounts=accounts)
            written = cur.execute(f"COPY ({select}) {to}", {"run": run_id}).fetchall()
            return int(written[0][0])
        # Joined first, sorted after: at 30M results the joins and the sort together outgrow
        # the memory budget in one statement, while each alone spills to disk.
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE export_rows AS {_rows_sql(kind)}", {"run": run_id}
        )
        try:
            written = cur.execute(
                f"COPY (SELECT {', '.join(EXPORT_COLUMNS)} FROM export_rows {ROWS_ORDER}) {to}"
            ).fetchall()
        finally:
            cur.execute("DROP TABLE export_rows")
    return int(written[0][0])


def export_rows(store: Store, run_id: int, kind: str) -> int:
    """How many rows an export of `kind` (not summary) holds."""
    if kind == "adjustments":
        return int(store.scalar(f"SELECT count(*) FROM ({export_sql(kind)})", {"run": run_id}))
    if kind == "reviews":
        return int(store.scalar(f"SELECT count(*) FROM ({REVIEWS_SQL})", {"run": run_id}))
    if kind == "settlements":
        return int(
            store.scalar("SELECT count(*) FROM settlement_results WHERE run_id = ?", [run_id])
        )
    return int(
        store.scalar(
            f"SELECT count(*) FROM recon_results WHERE run_id = $run AND {_kind_where(kind)}",
            {"run": run_id},
        )
    )


def export_bytes(
    store: Store,
    run_id: int,
    kind: str,
    fmt: str = "csv",
    accounts: dict[str, str] | None = None,
) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{fmt}"
        write_export(store, run_id, kind, path, fmt, accounts)
        return path.read_bytes()


def export_name(start: date, end: date, kind: str, fmt: str, run_id: int | None = None) -> str:
    """'rekon-2026-10-run3-exceptions.csv' for a calendar month, else the exact range: two
    runs of one month download under two names."""
    period = f"{start:%Y-%m}" if is_whole_month(start, end) else f"{start}_{end}"
    run = f"-run{run_id}" if run_id is not None else ""
    return f"rekon-{period}{run}-{kind}.{fmt}"


def run_sheet(store: Store, run_id: int) -> pl.DataFrame:
    """What produced an export, as field/value rows (the XLSX `run` sheet), for whoever
    receives the workbook: the run, its parameters and the ledger files it read, by name and
    content hash as they were imported."""
    found = store.query("SELECT * FROM recon_runs WHERE id = ?", [run_id])
    if found.is_empty():
        raise ExportError(f"there is no reconciliation run {run_id}")
    run = found.row(0, named=True)
    ledgers = store.query(
        """
        SELECT u.ledger_id, coalesce(l.name || ' (file ' || l.file_name || ', sha256 '
                                     || l.content_hash || ')', 'deleted since') AS ledger
        FROM (SELECT DISTINCT ledger_id FROM recon_results
              WHERE run_id = ? AND ledger_id IS NOT NULL) u
        LEFT JOIN ledgers l ON l.id = u.ledger_id ORDER BY u.ledger_id
        """,
        [run_id],
    )
    fields = {
        "run": str(run_id),
        f"period (business dates, {store.timezone})": f"{run['period_from']} to {run['period_to']}",
        "amount tolerance": str(run["amount_tolerance"]),
        "date window (days)": str(run["date_window"]),
        "ledgers chosen": ", ".join(map(str, run["ledger_ids"])) or "all",
        "reconciled at (UTC)": f"{run['started_at']:%Y-%m-%d %H:%M:%S}",
        "reconciled by": run["run_by"] or "unknown",
    } | {f"ledger {i}": text for i, text in ledgers.iter_rows()}
    signed = closing.for_run(store, run_id)
    fields["signed off"] = (
        "no" if signed is None else "yes" + (" (LAPSED since)" if signed.lapsed else "")
    )
    if signed is not None:
        fields |= {
            "signed off by": signed.signed_by,
            "signed off at (UTC)": f"{signed.signed_at:%Y-%m-%d %H:%M:%S}",
            "sign-off version": str(signed.version),
            "exceptions open at sign-off": str(signed.open_exceptions),
            "sign-off note": signed.note or "",
            "orders fingerprint (sha256)": signed.fingerprint,
        }
    # The reviewer's name and the ledger names were typed by people.
    value = pl.col("value")
    return pl.DataFrame({"field": list(fields), "value": list(fields.values())}).with_columns(
        pl.when(value.str.contains(RUNNABLE)).then("'" + value).otherwise(value).alias("value")
    )


def _write_xlsx(
    store: Store, run_id: int, kind: str, out: Path, accounts: dict[str, str] | None = None
) -> int:
    import xlsxwriter

    kinds = KINDS if kind == "all" else (kind,)
    # Past a worksheet's last row Excel would silently lose results: refuse before writing.
    # The first sheet is the largest ('all' holds the others).
    if kind != "summary" and (size := export_rows(store, run_id, kind)) > XLSX_MAX_ROWS:
        raise ExportError(
            f"this export has {format_count(size)} rows and an Excel sheet holds "
            f"{format_count(XLSX_MAX_ROWS)}; "
            "export it as CSV instead"
        )
    rows = 0
    # xlsxwriter would write a text starting with "=" as a formula, and a URL as a link.
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(str(out), options) as book:
        money = book.add_format({"num_format": "#,##0.00"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for sheet in kinds:
            if sheet == "summary":
                frame = summary_frame(store, run_id)
            else:
                frame = store.query(export_sql(sheet, True, accounts), {"run": run_id})
            money_columns = SETTLEMENT_MONEY if sheet == "settlements" else MONEY_COLUMNS
            amounts = [c for c in (*money_columns, "amount") if c in frame.columns]
            formats: dict[str, Any] = {c: money for c in amounts}
            formats |= {c: day for c in ("order_date", "ledger_date", "date") if c in frame.columns}
            formats |= {c: moment for c in ("reviewed_at_utc", "settled_at") if c in frame.columns}
            # Excel stores numbers as doubles: exact for every IDR amount below 10^13.
            frame = frame.with_columns(pl.col(c).cast(pl.Float64) for c in amounts)
            frame.write_excel(
                book,
                worksheet=sheet,
                column_formats=formats,  # type: ignore[arg-type]
                autofit=frame.height < 5_000,
                dtype_formats=None,
                autofilter=True,
                freeze_panes=(1, 0),  # the header stays in view, with a filter on each column
            )
            if sheet == kind:
                rows = frame.height
        run_sheet(store, run_id).write_excel(book, worksheet="run", autofit=True)
    return rows


def csv_rows(data: bytes) -> pl.DataFrame:
    """Read an export back as strings (tests and previews)."""
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


# ---------------------------------------------------------------- overview and charts


def provider_kpis(store: Store, start: date, end: date, run_id: int | None) -> pl.DataFrame:
    """Per provider, for ledger lines that name no provider's order (`ledger_only`), and in
    total (last): orders, paid count and amount, matched %, exceptions, and how many of those
    are still open (no decision, or reopened). The rows above the total add up to it."""
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
        ), k AS (  -- ledger-only results (no provider, g = 0) get a row of their own
            SELECT provider, g FROM o
            UNION SELECT provider, g FROM r WHERE provider IS NULL AND g = 0 AND exceptions > 0
              AND EXISTS (SELECT 1 FROM o)
        )
        SELECT CASE WHEN k.g = 1 THEN 'total' ELSE coalesce(k.provider, 'ledger_only') END
                   AS provider,
               coalesce(o.orders, 0) AS orders, coalesce(o.paid, 0) AS paid,
               coalesce(o.paid_amount, 0) AS paid_amount,
               coalesce(r.matched, 0) AS matched,
               CASE WHEN o.paid > 0 THEN 100.0 * coalesce(r.matched, 0) / o.paid END
                   AS matched_pct,
               coalesce(r.exceptions, 0) AS exceptions,
               coalesce(r.exception_amount, 0) AS exception_amount,
               coalesce(s.open_exceptions, 0) AS open_exceptions
        FROM k
        LEFT JOIN o ON o.g = k.g AND o.provider IS NOT DISTINCT FROM k.provider
        LEFT JOIN r ON r.g = k.g AND r.provider IS NOT DISTINCT FROM k.provider
        LEFT JOIN still_open s ON s.g = k.g AND s.provider IS NOT DISTINCT FROM k.provider
        ORDER BY k.g, k.provider NULLS LAST
        """,
        {"start": start, "end": end, "run": run_id if run_id is not None else -1},
    )


# The amount bands of the charts, in rupiah, log-spaced.
AMOUNT_BAND = """
    CASE WHEN amount < 50000 THEN '< 50 rb' WHEN amount < 100000 THEN '50–100 rb'
         WHEN amount < 250000 THEN '100–250 rb' WHEN amount < 500000 THEN '250–500 rb'
         WHEN amount < 1000000 THEN '500 rb–1 jt' WHEN amount < 2500000 THEN '1–2,5 jt'
         ELSE '≥ 2,5 jt' END"""


def order_cube(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    """The period's orders counted and summed per day, provider, status and amount band: one
    read of the orders (a million rows, over the wire on PostgreSQL) that every orders chart is
    drawn from, a few thousand rows at most."""
    return store.query(
        f"""
        SELECT business_date, provider, status, {AMOUNT_BAND} AS band, count(*) AS orders,
               sum(amount) AS amount, min(amount) AS lowest
        FROM orders WHERE business_date BETWEEN $start AND $end
          AND (len($providers) = 0 OR list_contains($providers, provider))
        GROUP BY ALL
        """,
        {"start": start, "end": end, "providers": list(providers)},
    )


def status_by_provider(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    return status_of(order_cube(store, start, end, providers))


def status_of(cube: pl.DataFrame) -> pl.DataFrame:
    return (
        cube.group_by("provider", "status")
        .agg(pl.col("orders").sum(), pl.col("amount").sum())
        .sort("provider", "status")
    )


def paid_per_day(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    return paid_days_of(order_cube(store, start, end, providers))


def paid_days_of(cube: pl.DataFrame) -> pl.DataFrame:
    return (
        cube.filter(pl.col("status") == "paid")
        .group_by("business_date", "provider")
        .agg(pl.col("amount").sum().alias("paid_amount"), pl.col("orders").sum())
        .sort("business_date", "provider")
    )


def exceptions_by_age(
    store: Store, run_id: int, as_of: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Open exceptions by how many days old their date was on `as_of` (the period's end, or
    today while the period is still running), in buckets a reviewer uses."""
    return store.query(
        f"""
        SELECT CASE WHEN age <= 7 THEN '0–7 days' WHEN age <= 30 THEN '8–30 days'
                    WHEN age <= 60 THEN '31–60 days' ELSE 'over 60 days' END AS age,
               result, count(*) AS count, sum(amount) AS amount
        FROM (SELECT result, date_diff('day', anchor_date, $as_of) AS age,
                     coalesce(ledger_amount, order_amount) AS amount, provider
              FROM ({NARROW_SQL}) WHERE result IN {EXCEPTIONS} AND review_status = 'open'
                AND (len($providers) = 0 OR list_contains($providers, provider)))
        GROUP BY ALL ORDER BY min(age), result
        """,
        {"run": run_id, "as_of": as_of, "providers": list(providers)},
    )


def amount_distribution(
    store: Store, start: date, end: date, providers: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Orders per amount band and status (bands in rupiah, log-spaced)."""
    return bands_of(order_cube(store, start, end, providers))


def bands_of(cube: pl.DataFrame) -> pl.DataFrame:
    return (
        cube.group_by("band", "status")
        .agg(pl.col("lowest").min(), pl.col("orders").sum())
        .select("band", "lowest", "status", "orders")
        .sort("lowest", "status")
    )
