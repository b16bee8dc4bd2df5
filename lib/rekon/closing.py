"""Closing a period: an approver signs it off on a run, which locks its dates; a later fetch
that changes one of its orders lapses the sign-off; an approver can reopen it with a reason.

Nothing here is ever updated or deleted: a sign-off is a row, and what befell it afterwards
(a lapse, a reopen) is another row beside it. Signing off again makes a new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from rekon.access import Actor, Role
from rekon.classes import EXCEPTIONS
from rekon.errors import RekonError
from rekon.locks import ACTIVE_SQL, period_name, refuse_range_if_locked
from rekon.money import format_count
from rekon.periods import day_range
from rekon.reviews import LATEST_SQL
from rekon.store import Store, business_date_sql, next_id, utc_now

# What a sign-off fingerprints, per order of the period: a later change to any of these is a
# change to the signed numbers, and the sign-off lapses exactly when the fingerprint would move.
FINGERPRINT_SQL = """
    SELECT count(*), sha256(coalesce(string_agg(
               concat_ws('|', provider, order_id, amount, status, updated_at), chr(10)
               ORDER BY provider, order_id), ''))
    FROM orders WHERE business_date BETWEEN $start AND $end
"""


class ClosingError(RekonError):
    """A sign-off or reopen that cannot be made as asked."""


class OpenExceptions(ClosingError):
    """Exceptions are still open: signing off needs a confirmation and a note."""

    def __init__(self, message: str, open_count: int) -> None:
        super().__init__(message)
        self.open_count = open_count


@dataclass(frozen=True)
class SignOff:
    id: int
    period_from: date
    period_to: date
    version: int
    run_id: int
    signed_by: str
    signed_at: datetime
    note: str | None
    open_exceptions: int
    classes: dict[str, dict[str, Any]]
    ledgers: list[dict[str, Any]]
    orders: int
    fingerprint: str
    lapsed: bool = False
    reopened: bool = False

    @property
    def period(self) -> str:
        return period_name(self.period_from, self.period_to)

    def line(self) -> str:
        text = (
            f"{self.period} signed off by {self.signed_by} at {self.signed_at:%Y-%m-%d %H:%M} "
            f"UTC on run {self.run_id} (version {self.version})"
        )
        if self.open_exceptions:
            text += f", with {format_count(self.open_exceptions)} exception(s) still open"
        return text

    def sidecar_json(self) -> str:
        """The `…-signoff.json` written beside a CSV export of the run."""
        return json.dumps(self.sidecar(), indent=2, ensure_ascii=False) + "\n"

    def sidecar(self) -> dict[str, Any]:
        """The sign-off as an export's `…-signoff.json` carries it."""
        return {
            "period_from": self.period_from.isoformat(),
            "period_to": self.period_to.isoformat(),
            "version": self.version,
            "run_id": self.run_id,
            "signed_by": self.signed_by,
            "signed_at_utc": self.signed_at.isoformat(timespec="seconds"),
            "note": self.note,
            "open_exceptions": self.open_exceptions,
            "lapsed": self.lapsed,
            "classes": self.classes,
            "ledgers": self.ledgers,
            "orders": self.orders,
            "orders_fingerprint_sha256": self.fingerprint,
        }


@dataclass(frozen=True)
class PeriodStatus:
    """A period's state and its whole history, newest first."""

    period_from: date
    period_to: date
    state: str  # open | signed off | lapsed | reopened
    current: SignOff | None  # the sign-off that locks it, when one does
    history: pl.DataFrame  # every sign-off, lapse and reopen: happened_at, event, actor…
    changes: pl.DataFrame = field(default_factory=pl.DataFrame)  # a lapse's orders, old and new

    @property
    def period(self) -> str:
        return period_name(self.period_from, self.period_to)

    def lines(self) -> list[str]:
        if self.current is None:
            latest = self.history.row(0, named=True) if self.history.height else None
            if latest and latest["event"] == "reopened":
                return [
                    f"{self.period}: reopened by {latest['actor']} at "
                    f"{latest['happened_at']:%Y-%m-%d %H:%M} UTC: {latest['detail']}"
                ]
            return [f"{self.period}: open (not signed off)"]
        out = [f"{self.current.line()}; locked."]
        if self.state == "lapsed":
            out.append(
                f"LAPSED: {self.changes.height} order(s) changed at the provider after sign-off:"
            )
            for r in self.changes.iter_rows(named=True):
                out.append(
                    f"  {r['provider']} {r['order_id']}: "
                    f"{_side(r['old_amount'], r['old_status'])} -> "
                    f"{_side(r['new_amount'], r['new_status'])} (fetch {r['fetch_run']})"
                )
        return out


def _side(amount: object, status: object) -> str:
    return "(not there)" if amount is None else f"{amount} {status}"


# ---------------------------------------------------------------------------- sign-off


def signoff(
    store: Store,
    start: date,
    end: date,
    run_id: int,
    by: Actor,
    note: str | None = None,
    *,
    confirm_open: bool = False,
    four_eyes: bool = True,
) -> SignOff:
    """Sign off [start, end] on a run that covered exactly that period, and lock it.

    With exceptions still open (not accepted, resolved or manually matched) it needs
    `confirm_open` and a note, and records how many were open. Under four eyes the approver
    may not be anyone who made one of the run's decisions. Raises ClosingError.
    """
    by.require(Role.APPROVER, "sign off a period")
    note = (note or "").strip() or None
    with store.write() as cur:
        run = cur.execute(
            "SELECT period_from, period_to, finished_at, ledger_ids FROM recon_runs WHERE id = ?",
            [run_id],
        ).fetchone()
        if run is None or run[2] is None:
            raise ClosingError(f"there is no finished reconciliation run {run_id}")
        if (run[0], run[1]) != (start, end):
            raise ClosingError(
                f"run {run_id} covered {day_range(run[0], run[1])}, not "
                f"{period_name(start, end)}: sign off on a run of the period itself"
            )
        refuse_range_if_locked(cur, start, end, "signing off again")
        open_count = _open_exceptions(cur, run_id)
        if open_count and not (confirm_open and note):
            raise OpenExceptions(
                f"{open_count} exception(s) of run {run_id} are still open (not accepted, "
                "resolved or manually matched): decide them, or confirm and give a note saying "
                "why the period closes with them",
                open_count,
            )
        if four_eyes and by.name.strip().lower() in _deciders(cur, run_id):
            raise ClosingError(
                f"four eyes: {by.name} made decisions on run {run_id}, so another approver "
                "must sign it off (REKON_FOUR_EYES=0 turns this off for a one-person team)"
            )
        prints = cur.execute(FINGERPRINT_SQL, {"start": start, "end": end}).fetchone()
        n_orders, fingerprint = prints if prints else (0, "")
        version = cur.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM signoffs"
            " WHERE period_from = ? AND period_to = ?",
            [start, end],
        ).fetchone()
        signoff_id = next_id(cur, "signoff_id")
        cur.execute(
            """
            INSERT INTO signoffs (id, period_from, period_to, version, run_id, signed_by, signed_at,
                                  note, open_exceptions, classes, ledgers, orders, fingerprint)
            VALUES ($id, $start, $end, $version, $run, $by, $at, $note, $open, $classes,
                    $ledgers, $orders, $fingerprint)
            """,
            {
                "id": signoff_id,
                "start": start,
                "end": end,
                "version": version[0] if version else 1,
                "run": run_id,
                "by": by.name,
                "at": utc_now(),
                "note": note,
                "open": open_count,
                "classes": json.dumps(_classes(cur, run_id)),
                "ledgers": json.dumps(_ledgers(cur, run_id, list(run[3]))),
                "orders": n_orders,
                "fingerprint": fingerprint,
            },
        )
        made = _get(cur, signoff_id)
        store.audit(cur, by.name, "period.signoff", _subject(start, end), json.dumps(
            {"run": run_id, "version": made.version, "open_exceptions": open_count,
             "note": note}))  # fmt: skip
    return made


def reopen(store: Store, start: date, end: date, by: Actor, reason: str) -> SignOff:
    """Reopen a signed-off period: its sign-off stays in the history, its dates unlock."""
    by.require(Role.APPROVER, "reopen a period")
    reason = (reason or "").strip()
    if not reason:
        raise ClosingError("reopening a period needs a reason")
    with store.write() as cur:
        found = cur.execute(
            f"SELECT id FROM ({ACTIVE_SQL}) WHERE period_from = ? AND period_to = ?",
            [start, end],
        ).fetchone()
        if found is None:
            raise ClosingError(f"{period_name(start, end)} is not signed off: nothing to reopen")
        cur.execute(
            "INSERT INTO signoff_events VALUES (?, 'reopened', ?, ?, ?, NULL)",
            [found[0], utc_now(), by.name, reason],
        )
        store.audit(cur, by.name, "period.reopen", _subject(start, end),
                    json.dumps({"signoff": int(found[0]), "reason": reason}))  # fmt: skip
        return _get(cur, int(found[0]))


def _subject(start: date, end: date) -> str:
    return f"period:{start.isoformat()}..{end.isoformat()}"


def _open_exceptions(cur: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """The run's exceptions not accepted or resolved, and not paired by a manual match made
    since the run."""
    row = cur.execute(
        f"""
        SELECT count(*) FROM recon_results r
        LEFT JOIN ({LATEST_SQL}) v USING (result_key)
        WHERE r.run_id = $run AND r.result IN {EXCEPTIONS}
          AND coalesce(v.review_status, 'open') = 'open'
          AND NOT EXISTS (
              SELECT 1 FROM manual_matches m
              WHERE m.kind = 'match'
                AND NOT EXISTS (SELECT 1 FROM manual_match_removals x WHERE x.match_id = m.id)
                AND (list_contains(m.order_keys, r.result_key)
                     OR list_contains(m.line_keys, 'L:' || r.ledger_id || ':' || r.line_no)))
        """,
        {"run": run_id},
    ).fetchone()
    return int(row[0]) if row else 0


def _deciders(cur: duckdb.DuckDBPyConnection, run_id: int) -> set[str]:
    """Everyone who decided on one of the run's results, or paired one by hand (lower case)."""
    rows = cur.execute(
        """
        SELECT DISTINCT v.reviewer FROM reviews v
        WHERE v.result_key IN (SELECT result_key FROM recon_results WHERE run_id = $run)
        UNION
        SELECT DISTINCT m.made_by FROM manual_matches m
        WHERE m.id IN (SELECT group_id FROM recon_results
                       WHERE run_id = $run AND rule = 'manual')
        """,
        {"run": run_id},
    ).fetchall()
    return {str(r[0]).strip().lower() for r in rows if r[0]}


def _classes(cur: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, dict[str, Any]]:
    rows = cur.execute(
        "SELECT result::VARCHAR, count(*), coalesce(sum(order_amount), 0),"
        " coalesce(sum(ledger_amount), 0) FROM recon_results WHERE run_id = ?"
        " GROUP BY ALL ORDER BY 1",
        [run_id],
    ).fetchall()
    return {
        r[0]: {"count": int(r[1]), "order_amount": str(r[2]), "ledger_amount": str(r[3])}
        for r in rows
    }


def _ledgers(
    cur: duckdb.DuckDBPyConnection, run_id: int, chosen: list[int]
) -> list[dict[str, Any]]:
    """The ledgers the run read: those chosen, or (all chosen) those its results hold."""
    rows = cur.execute(
        "SELECT id, name, content_hash FROM ledgers WHERE list_contains($chosen, id)"
        " OR id IN (SELECT DISTINCT ledger_id FROM recon_results WHERE run_id = $run)"
        " ORDER BY id",
        {"chosen": chosen, "run": run_id},
    ).fetchall()
    return [{"id": int(r[0]), "name": r[1], "sha256": r[2]} for r in rows]


def _get(cur: duckdb.DuckDBPyConnection, signoff_id: int) -> SignOff:
    rel = cur.execute(
        """
        SELECT s.*,
               EXISTS (SELECT 1 FROM signoff_events e
                       WHERE e.signoff_id = s.id AND e.event = 'lapsed') AS lapsed,
               EXISTS (SELECT 1 FROM signoff_events e
                       WHERE e.signoff_id = s.id AND e.event = 'reopened') AS reopened
        FROM signoffs s WHERE id = ?
        """,
        [signoff_id],
    )
    names = [d[0] for d in rel.description or ()]
    found = rel.fetchone()
    if found is None:
        raise ClosingError(f"there is no sign-off {signoff_id}")
    r = dict(zip(names, found, strict=True))
    r["classes"] = json.loads(r["classes"])
    r["ledgers"] = json.loads(r["ledgers"])
    return SignOff(**r)


# ---------------------------------------------------------------------------- reading


def current(store: Store, start: date, end: date) -> SignOff | None:
    """The sign-off locking exactly this period, if one does."""
    with store.read() as cur:
        found = cur.execute(
            f"SELECT id FROM ({ACTIVE_SQL}) WHERE period_from = ? AND period_to = ?",
            [start, end],
        ).fetchone()
        return _get(cur, int(found[0])) if found else None


def open_exceptions(store: Store, run_id: int) -> int:
    """How many of the run's exceptions a sign-off would record as still open."""
    with store.read() as cur:
        return _open_exceptions(cur, run_id)


def for_run(store: Store, run_id: int) -> SignOff | None:
    """The sign-off standing on this run, if the run's period is signed off on it."""
    with store.read() as cur:
        found = cur.execute(
            f"SELECT id FROM ({ACTIVE_SQL}) WHERE run_id = ? ORDER BY id DESC LIMIT 1", [run_id]
        ).fetchone()
        return _get(cur, int(found[0])) if found else None


def status(store: Store, start: date, end: date) -> PeriodStatus:
    """The state of a period, with every sign-off, lapse and reopen of it, newest first."""
    sign = current(store, start, end)
    history = store.query(
        """
        SELECT signed_at AS happened_at, 'signed off' AS event, signed_by AS actor, version,
               'run ' || run_id || coalesce(': ' || note, '') AS detail
        FROM signoffs WHERE period_from = $start AND period_to = $end
        UNION ALL
        SELECT e.happened_at, e.event, e.actor, s.version,
               coalesce(e.reason, '') || coalesce('fetch ' || e.fetch_run, '')
        FROM signoff_events e JOIN signoffs s ON s.id = e.signoff_id
        WHERE s.period_from = $start AND s.period_to = $end
        ORDER BY happened_at DESC, event
        """,
        {"start": start, "end": end},
    )
    if sign is None:
        reopened = history.height > 0 and history["event"][0] == "reopened"
        return PeriodStatus(start, end, "reopened" if reopened else "open", None, history)
    changes = store.query(
        "SELECT provider, order_id, old_amount, new_amount, old_status, new_status,"
        " old_updated_at, new_updated_at, fetch_run FROM lapsed_orders WHERE signoff_id = ?"
        " ORDER BY fetch_run, provider, order_id",
        [sign.id],
    )
    return PeriodStatus(
        start, end, "lapsed" if sign.lapsed else "signed off", sign, history, changes
    )


def signed_periods(store: Store) -> pl.DataFrame:
    """Every period that has been signed off, with its latest state."""
    return store.query(
        """
        SELECT s.period_from, s.period_to, max(s.version) AS versions,
               bool_or(a.id IS NOT NULL) AS locked, bool_or(coalesce(a.lapsed, false)) AS lapsed
        FROM signoffs s LEFT JOIN ("""
        + ACTIVE_SQL
        + """) a ON a.id = s.id
        GROUP BY ALL ORDER BY s.period_from DESC
        """
    )


# ---------------------------------------------------------------------------- lapses


def capture_changes(
    cur: duckdb.DuckDBPyConnection, source: str, provider: str | None, tz: str
) -> None:
    """Before a landing: note which incoming orders change a fingerprinted field (amount,
    status, updated_at) of a stored one, anywhere, and which are new in a signed-off period.
    Read by `record_changes` in the same transaction."""
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fetched_changes AS
        SELECT s.provider, s.order_id, o.business_date AS old_date,
               {business_date_sql("s.created_at")} AS new_date,
               o.amount AS old_amount, s.amount AS new_amount, o.status AS old_status,
               s.status AS new_status, o.updated_at AS old_updated_at,
               s.updated_at AS new_updated_at
        FROM (SELECT * FROM {source} WHERE provider = coalesce($provider, provider)) s
        LEFT JOIN orders o USING (provider, order_id)
        WHERE CASE WHEN o.order_id IS NULL
                   THEN EXISTS (SELECT 1 FROM ({ACTIVE_SQL}) a
                                WHERE {business_date_sql("s.created_at")}
                                      BETWEEN a.period_from AND a.period_to)
                   ELSE s.raw <> o.raw AND coalesce(s.updated_at >= o.updated_at, true)
                        AND (s.amount <> o.amount OR s.status <> o.status
                             OR s.updated_at IS DISTINCT FROM o.updated_at) END
        """,
        {"provider": provider, "tz": tz},
    )


def record_changes(cur: duckdb.DuckDBPyConnection, store: Store, fetch_run: int, actor: str) -> int:
    """After a landing: audit each stored order the provider changed, and lapse every sign-off
    whose period held (or now holds) one of the changed or new orders. Returns the number of
    sign-offs lapsed."""
    cur.execute(
        """
        INSERT INTO audit_log
        SELECT now()::TIMESTAMP, $actor, 'order.changed', provider || ':' || order_id,
               json_object('fetch', $run, 'amount', [old_amount::VARCHAR, new_amount::VARCHAR],
                           'status', [old_status, new_status],
                           'updated_at', [old_updated_at::VARCHAR, new_updated_at::VARCHAR])
        FROM fetched_changes WHERE old_amount IS NOT NULL
        ORDER BY provider, order_id
        """,
        {"actor": actor, "run": fetch_run},
    )
    cur.execute(
        f"""
        INSERT INTO lapsed_orders
        SELECT a.id, $run, c.provider, c.order_id, c.old_amount, c.new_amount, c.old_status,
               c.new_status, c.old_updated_at, c.new_updated_at
        FROM fetched_changes c JOIN ({ACTIVE_SQL}) a
          ON c.old_date BETWEEN a.period_from AND a.period_to
          OR c.new_date BETWEEN a.period_from AND a.period_to
        """,
        {"run": fetch_run},
    )
    lapsed = cur.execute(
        "SELECT DISTINCT signoff_id FROM lapsed_orders WHERE fetch_run = ? ORDER BY 1",
        [fetch_run],
    ).fetchall()
    cur.execute(
        """
        INSERT INTO signoff_events
        SELECT DISTINCT signoff_id, 'lapsed', now()::TIMESTAMP, $actor,
               count(*) OVER (PARTITION BY signoff_id) || ' order(s) changed at the provider',
               $run
        FROM lapsed_orders WHERE fetch_run = $run
        """,
        {"actor": actor, "run": fetch_run},
    )
    for (signoff_id,) in lapsed:
        store.audit(cur, actor, "period.lapse", f"signoff:{signoff_id}",
                    json.dumps({"fetch": fetch_run}))  # fmt: skip
    cur.execute("DROP TABLE fetched_changes")
    return len(lapsed)
