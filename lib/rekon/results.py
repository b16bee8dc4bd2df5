"""A run's results as a reviewer reads them: a page at a time with the order, ledger line and
review beside each, one result in full, an order's results across runs, totals per class, and
the runs themselves.

Everything is filtered and paged in DuckDB; a page never receives more than PAGE_LIMIT rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from rekon.classes import EXCEPTIONS, RESULTS
from rekon.duck import sql_text
from rekon.errors import RekonError
from rekon.listings import RECENT_RUNS_SQL
from rekon.money import MoneyError, parse_amount
from rekon.names import PROVIDER_TITLES
from rekon.reviews import LATEST_SQL

if TYPE_CHECKING:  # frames come from Store.query; `rekon runs` reads this module without them
    import polars as pl

    from rekon.store import Store

# A result's review status, from its row `r` and its latest review `v` (LATEST_SQL): an
# exception is open until decided; other classes take no decision.
REVIEW_STATUS = (
    f"CASE WHEN r.result IN {EXCEPTIONS} THEN coalesce(v.review_status, 'open') ELSE '' END"
)


# One row per result, with what a reviewer needs to see beside it. The orders, the lines and a
# condition on the results are holes a page of results fills (`_rows_of`); RESULTS_SQL is
# every result of the run.
_RESULTS_TEMPLATE = f"""
    SELECT r.result_key, r.result, r.rule, r.provider, r.order_id, o.merchant_ref,
           o.payment_id, o.status AS order_status, r.business_date AS order_date,
           r.order_amount, coalesce(o.currency, l.currency) AS currency,
           r.ledger_id, r.line_no AS ledger_line, r.ledger_date, l.reference AS ledger_reference,
           r.ledger_amount, r.difference, coalesce(l.description, o.description) AS description,
           {REVIEW_STATUS} AS review_status,
           v.review_note, coalesce(v.review_seq, 0) AS review_seq, o.customer_name,
           o.customer_email, r.anchor_date, r.group_id, r.reason, r.fee, r.net_amount,
           r.settlement_id
    FROM recon_results r
    LEFT JOIN {{orders}} o USING (provider, order_id)
    LEFT JOIN {{lines}} l USING (ledger_id, line_no)
    LEFT JOIN ({LATEST_SQL}) v USING (result_key)
    WHERE r.run_id = $run {{also}}
"""
RESULTS_SQL = _RESULTS_TEMPLATE.format(orders="orders", lines="ledger_lines", also="")


# The same rows before the order's and the line's columns are joined: enough to filter (but
# for a search, which reads their text), count and order a page. A page is then joined to only
# its own orders and lines, so showing 100 results reads 100 orders, not the run's million
# (on PostgreSQL, a million rows over the wire).
NARROW_SQL = f"""
    SELECT r.result_key, r.result, r.provider, r.order_id, r.ledger_id, r.line_no,
           r.order_amount, r.ledger_amount, r.business_date, r.anchor_date,
           {REVIEW_STATUS} AS review_status
    FROM recon_results r LEFT JOIN ({LATEST_SQL}) v USING (result_key)
    WHERE r.run_id = $run
"""
PAGE_ORDER = f"array_position({list(RESULTS)}, result), anchor_date, result_key"

PAGE_LIMIT = 1_000


def _known(values: tuple[str, ...], known: tuple[str, ...]) -> str:
    """Values of a known set as SQL literals; anything else is refused, never quoted."""
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RekonError(f"unknown filter value {unknown[0]!r}: use one of {', '.join(known)}")
    return ", ".join(f"'{v}'" for v in values)


@dataclass(frozen=True)
class ResultFilter:
    results: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    review: tuple[str, ...] = ()  # open / accepted / resolved
    search: str = ""
    # Results whose date (the order's business date, else the line's) is within these, when
    # a range inside a reconciled period is looked at.
    within: tuple[date, date] | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = ["TRUE"]
        params: dict[str, Any] = {}
        if self.within:
            clauses.append("anchor_date BETWEEN $within_from AND $within_to")
            params |= {"within_from": self.within[0], "within_to": self.within[1]}
        # Classes and providers as literals from their known sets: a literal IN is handed down
        # to PostgreSQL, which then sends only those rows.
        if self.results:
            clauses.append(f"result IN ({_known(self.results, RESULTS)})")
        if self.providers:
            clauses.append(f"provider IN ({_known(self.providers, tuple(PROVIDER_TITLES))})")
        if self.review:
            clauses.append("list_contains($review, review_status)")
            params["review"] = list(self.review)
        if text := self.search.strip():
            # contains(), not ILIKE: "ord_1" or "100%" are what the reviewer typed, not patterns.
            matches = [
                "contains(lower(concat_ws(' ', order_id, merchant_ref, payment_id,"
                " ledger_reference, description, customer_name, customer_email)), $search)"
            ]
            params["search"] = text.lower()
            try:  # "26.000" or "Rp 1.525.000": a reviewer looking for an amount on either side
                params["amount"] = parse_amount(text)
                matches.append("$amount IN (order_amount, ledger_amount)")
            except MoneyError:
                pass
            clauses.append(f"({' OR '.join(matches)})")
        return " AND ".join(clauses), params


def results_page(
    store: Store,
    run_id: int,
    flt: ResultFilter = ResultFilter(),
    offset: int = 0,
    limit: int = 100,
    total: int | None = None,
) -> tuple[pl.DataFrame, int]:
    """One page of results (never more than PAGE_LIMIT rows) and the filtered total (counted
    unless the caller has it)."""
    where, params = flt.sql()
    limit = max(1, min(limit, PAGE_LIMIT))
    window = f"ORDER BY {PAGE_ORDER} LIMIT {limit} OFFSET {max(0, int(offset))}"
    params = params | {"run": run_id}
    if total is None:
        total = results_total(store, run_id, flt)
    wide = bool(flt.search.strip())  # a search reads the orders' and lines' text
    found = store.query(
        f"SELECT * FROM ({RESULTS_SQL if wide else NARROW_SQL}) WHERE {where} {window}", params
    )
    return (found if wide else _rows_of(store, run_id, found)), total


def results_total(store: Store, run_id: int, flt: ResultFilter = ResultFilter()) -> int:
    """How many results of a run pass the filter."""
    where, params = flt.sql()
    rows = NARROW_SQL if not flt.search.strip() else RESULTS_SQL
    sql = f"SELECT count(*) FROM ({rows}) WHERE {where}"
    return int(store.scalar(sql, params | {"run": run_id}) or 0)


def _rows_of(store: Store, run_id: int, keys: pl.DataFrame) -> pl.DataFrame:
    """The wide rows of a page of results, joined to their own orders and lines only. The keys
    go in as literals: a list parameter is not handed down to PostgreSQL, a literal IN is."""
    if keys.is_empty():
        return store.query(f"SELECT * FROM ({RESULTS_SQL}) WHERE FALSE", {"run": run_id})

    def listed(values: list[Any]) -> str:
        return ", ".join(f"'{sql_text(v)}'" for v in values if v is not None) or "NULL"

    def numbers(column: str) -> str:
        return ", ".join(str(int(i)) for i in keys[column].drop_nulls().unique()) or "NULL"

    sql = _RESULTS_TEMPLATE.format(
        # The days first: a date is compared faster than an id, and leaves few ids.
        orders=f"(SELECT * FROM orders WHERE business_date IN"
        f" ({listed(keys['business_date'].unique().to_list())})"
        f" AND order_id IN ({listed(keys['order_id'].unique().to_list())}))",
        lines=f"(SELECT * FROM ledger_lines WHERE ledger_id IN ({numbers('ledger_id')})"
        f" AND line_no IN ({numbers('line_no')}))",
        also=f"AND r.result_key IN ({listed(keys['result_key'].to_list())})",
    )
    return store.query(f"SELECT * FROM ({sql}) ORDER BY {PAGE_ORDER}", {"run": run_id})


def result_detail(store: Store, run_id: int, key: str) -> dict[str, Any]:
    """One result with its full order (raw JSON included) and ledger line."""
    keys = store.query(
        f"SELECT * FROM ({NARROW_SQL}) WHERE result_key = $key", {"run": run_id, "key": key}
    )
    rows = _rows_of(store, run_id, keys)
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


# A class total's rows: of the providers asked (all when none), dated within the range asked.
_IN_SCOPE = """(len($providers) = 0 OR list_contains($providers, r.provider))
               AND ($lo IS NULL OR r.anchor_date BETWEEN $lo AND $hi)"""


def class_totals(
    store: Store,
    run_id: int,
    providers: tuple[str, ...] = (),
    within: tuple[date, date] | None = None,
) -> pl.DataFrame:
    """Per result class: count, order amount and ledger amount (every class, zeros kept), and
    for exceptions how many are still open (no decision, or reopened). With providers,
    ledger-only results (no provider) are left out; with `within`, only results dated in it."""
    return store.query(
        f"""
        WITH decided AS (SELECT result_key FROM ({LATEST_SQL}) WHERE review_status <> 'open'),
        -- keys only for the exceptions: a key is built from text, a run has millions of rows
        still_open AS (
            SELECT result, count(*) AS still_open FROM recon_results r
            WHERE r.run_id = $run AND result IN {EXCEPTIONS} AND {_IN_SCOPE}
              AND result_key NOT IN (SELECT result_key FROM decided)
            GROUP BY result
        )
        SELECT k.result, count(r.result) AS count,
               coalesce(sum(r.order_amount), 0) AS order_amount,
               coalesce(sum(r.ledger_amount), 0) AS ledger_amount,
               coalesce(sum(coalesce(r.ledger_amount, r.order_amount)), 0) AS amount,
               coalesce(any_value(o.still_open), 0) AS still_open
        FROM unnest({list(RESULTS)}) AS k(result)
        LEFT JOIN recon_results r ON r.result = k.result AND r.run_id = $run AND {_IN_SCOPE}
        LEFT JOIN still_open o ON o.result = k.result
        GROUP BY k.result ORDER BY array_position({list(RESULTS)}, k.result)
        """,
        {
            "run": run_id,
            "providers": list(providers),
            "lo": within[0] if within else None,
            "hi": within[1] if within else None,
        },
    )


def recent_runs(store: Store, limit: int = 20) -> pl.DataFrame:
    return store.query(RECENT_RUNS_SQL.format(limit=max(1, int(limit))))


def runs_for_period(store: Store, start: date, end: date) -> pl.DataFrame:
    return store.query(
        "SELECT id, period_from, period_to, ledger_ids, amount_tolerance, date_window,"
        " finished_at, run_by FROM recon_runs WHERE finished_at IS NOT NULL"
        " AND period_from = ? AND period_to = ? ORDER BY id DESC",
        [start, end],
    )


def covering_runs(store: Store, start: date, end: date) -> pl.DataFrame:
    """Runs of a wider period that holds start..end (15–20 Oct inside October), newest
    first, as `runs_for_period` lists them: their results dated in the range are the range's."""
    return store.query(
        "SELECT id, period_from, period_to, ledger_ids, amount_tolerance, date_window,"
        " finished_at, run_by FROM recon_runs WHERE finished_at IS NOT NULL"
        " AND period_from <= ? AND period_to >= ? ORDER BY period_to - period_from, id DESC",
        [start, end],
    )


# Two runs' results by key. Lines of a ledger replaced by its corrected export since a run go by
# their keys in the replacement, so a kept line is the same result on both sides.
BOTH_RUNS_SQL = """
    WITH keyed AS (
        SELECT r.*, CASE WHEN m.to_ledger IS NOT NULL AND r.result_key[1] IN ('L', 'D')
                         THEN r.result_key[1] || ':' || m.to_ledger || ':' || m.to_line
                         ELSE r.result_key END AS now_key
        FROM recon_results r LEFT JOIN ledger_line_moves m USING (ledger_id, line_no)
        WHERE r.run_id IN ($before, $after)
    )
    SELECT b.result::VARCHAR AS before, a.result::VARCHAR AS after,
           coalesce(a.now_key, b.now_key) AS result_key,
           coalesce(a.provider, b.provider) AS provider,
           coalesce(a.order_id, b.order_id) AS order_id,
           coalesce(a.ledger_id, b.ledger_id) AS ledger_id,
           coalesce(a.line_no, b.line_no) AS ledger_line,
           coalesce(a.order_amount, b.order_amount) AS order_amount,
           coalesce(a.ledger_amount, b.ledger_amount) AS ledger_amount
    FROM (FROM keyed WHERE run_id = $before) b
    FULL JOIN (FROM keyed WHERE run_id = $after) a ON a.now_key = b.now_key
    WHERE b.result IS DISTINCT FROM a.result
"""


def run_changes(store: Store, before: int, after: int) -> pl.DataFrame:
    """How the results moved from one run to another, by their stable keys: per pair of classes
    (`before` null: new in the later run; `after` null: gone from it) how many results, for
    the pairs that differ. A result booked twice counts under its D: key. A ledger line that a
    corrected export kept is the same result before and after the correction."""
    return store.query(
        f"""
        SELECT before, after, count(*) AS results FROM ({BOTH_RUNS_SQL})
        GROUP BY ALL ORDER BY results DESC, before, after
        """,
        {"before": before, "after": after},
    )


def moved_results(
    store: Store, before: int, after: int, was: str | None, now: str | None, limit: int = 100
) -> pl.DataFrame:
    """The results that went from class `was` in run `before` to `now` in run `after` (None:
    not in that run), by key, at most `limit` (≤ PAGE_LIMIT) of them."""
    limit = max(1, min(limit, PAGE_LIMIT))
    return store.query(
        f"""
        SELECT * EXCLUDE (before, after) FROM ({BOTH_RUNS_SQL})
        WHERE before IS NOT DISTINCT FROM $was AND after IS NOT DISTINCT FROM $now
        ORDER BY result_key LIMIT $limit
        """,
        {"before": before, "after": after, "was": was, "now": now, "limit": limit},
    )
