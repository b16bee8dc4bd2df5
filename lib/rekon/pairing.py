"""Manual matches and breaks: a reviewer says which line pays which order, and which automatic
pair is wrong.

A match pairs 1 order with 1 line, N orders with 1 line (a deposit booked as one line), or 1
order with N lines (a partial payment); N with M is refused. A break says "this line is not
this order": no tier pairs those two again. Both are kept by the stable keys results and
reviews use (`O:provider:order_id`, `L:ledger:line`), follow a ledger correction through
`ledger_line_moves`, and apply first in every later run (rule `manual`). Nothing here is
deleted: removing one records a removal beside it, and the history stays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb
import polars as pl

from rekon.access import Actor, Role
from rekon.classes import REASONS
from rekon.errors import RekonError
from rekon.locks import refuse_if_locked
from rekon.matching import ACTIVE_SQL, current_line
from rekon.money import format_plain
from rekon.store import Store, next_id, utc_now


class PairingError(RekonError):
    """A manual match or break that cannot be made as asked."""


@dataclass(frozen=True)
class Keys:
    """Order and line keys, checked and normalised (a duplicate's `D:` key is its line's)."""

    orders: tuple[str, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ManualMatch:
    id: int
    kind: str  # match | break
    orders: tuple[str, ...]
    lines: tuple[str, ...]
    reason: str | None
    note: str | None
    difference: Decimal | None
    made_by: str
    made_at: datetime
    removed: bool

    def line(self) -> str:
        """One line for `rekon match list`: the id first."""
        what = "break" if self.kind == "break" else "match"
        diff = "" if self.difference is None else f" difference {format_plain(self.difference)}"
        why = f" {self.reason}" if self.reason else ""
        gone = " (removed)" if self.removed else ""
        return (
            f"{self.id:>5}  {what}{gone}  orders {', '.join(self.orders)}  lines "
            f"{', '.join(self.lines)}{diff}{why}  by {self.made_by} {self.made_at:%Y-%m-%d}"
            + (f"  — {self.note}" if self.note else "")
        )


def normalise(orders: Sequence[str], lines: Sequence[str]) -> Keys:
    """Keys as the pages and `rekon review list` print them, checked for shape."""
    order_keys = tuple(dict.fromkeys(k.strip() for k in orders))
    line_keys = tuple(dict.fromkeys(_line_key(k) for k in lines))
    for key in order_keys:
        parts = key.split(":", 2)
        if len(parts) != 3 or parts[0] != "O" or not parts[1] or not parts[2]:
            raise PairingError(f"{key!r} is not an order key like O:xepeng:ord_123")
    if not order_keys or not line_keys:
        raise PairingError("a match pairs at least one order with at least one line")
    if len(order_keys) > 1 and len(line_keys) > 1:
        raise PairingError(
            f"{len(order_keys)} orders with {len(line_keys)} lines cannot be matched as one: "
            "match several orders to one line, or one order to several lines"
        )
    return Keys(order_keys, line_keys)


def _line_key(key: str) -> str:
    parts = key.strip().split(":")
    if len(parts) != 3 or parts[0] not in ("L", "D") or not all(p.isdigit() for p in parts[1:]):
        raise PairingError(f"{key!r} is not a line key like L:3:17")
    return f"L:{int(parts[1])}:{int(parts[2])}"


# The orders and the current ledger lines the keys name (a line of a replaced ledger is found
# where its correction moved it).
_FOUND_SQL = f"""
    WITH wanted AS (SELECT unnest($orders) AS key)
    SELECT key, o.amount FROM wanted
    JOIN orders o ON key = 'O:' || o.provider || ':' || o.order_id
    UNION ALL
    SELECT k.key, l.amount FROM (SELECT unnest($lines) AS key) k
    {current_line("k.key", "ledger_lines")}
"""


def add_match(
    store: Store,
    orders: Sequence[str],
    lines: Sequence[str],
    by: Actor,
    reason: str | None = None,
    note: str | None = None,
    tolerance: Decimal = Decimal(0),
) -> ManualMatch:
    """Pair orders with lines by hand. The sums are compared: beyond `tolerance` a reason is
    required (and `other` needs a note). Raises PairingError naming what is wrong."""
    by.require(Role.REVIEWER, "match orders and lines")
    keys = normalise(orders, lines)
    note = (note or "").strip() or None
    if reason is not None and reason not in REASONS:
        raise PairingError(f"unknown reason {reason!r}: use {', '.join(REASONS)}")
    if reason == "other" and not note:
        raise PairingError("the reason 'other' needs a note saying what the difference is")
    with store.write() as cur:
        amounts = _amounts(cur, keys)
        refuse_keys_if_locked(cur, keys, "matching by hand")
        difference = sum((amounts[k] for k in keys.lines), Decimal(0)) - sum(
            (amounts[k] for k in keys.orders), Decimal(0)
        )
        if abs(difference) > tolerance and reason is None:
            raise PairingError(
                f"the lines and orders differ by {format_plain(difference)}: give a reason "
                f"({', '.join(REASONS)})"
            )
        _refuse_overlap(cur, keys, "match")
        return _insert(cur, "match", keys, reason, note, difference, by.name)


def run_tolerance(store: Store, order_keys: Sequence[str]) -> Decimal:
    """The amount tolerance of the latest run whose period holds the first order: what "the
    sums agree" means for a match made on that run's leftovers (0 when none ran yet)."""
    value = store.scalar(
        """
        SELECT r.amount_tolerance FROM recon_runs r JOIN orders o
          ON o.business_date BETWEEN r.period_from AND r.period_to
        WHERE 'O:' || o.provider || ':' || o.order_id = ? AND r.finished_at IS NOT NULL
        ORDER BY r.id DESC LIMIT 1
        """,
        [order_keys[0] if order_keys else ""],
    )
    return Decimal(value) if value is not None else Decimal(0)


def add_break(store: Store, order: str, line: str, by: Actor, note: str) -> ManualMatch:
    """Say that a line is not an order: no later run pairs those two."""
    by.require(Role.REVIEWER, "break a pair")
    keys = normalise([order], [line])
    if not (note or "").strip():
        raise PairingError("breaking a pair needs a note saying why the line is not the order")
    with store.write() as cur:
        _amounts(cur, keys)
        refuse_keys_if_locked(cur, keys, "breaking a pair")
        _refuse_overlap(cur, keys, "break")
        return _insert(cur, "break", keys, None, note.strip(), None, by.name)


def remove(store: Store, match_id: int, by: Actor, note: str) -> ManualMatch:
    """Take a match or break back: recorded beside it, never deleted."""
    by.require(Role.REVIEWER, "remove a manual match")
    if not (note or "").strip():
        raise PairingError("removing a manual match needs a note saying why")
    with store.write() as cur:
        found = _get(cur, match_id)
        if found.removed:
            raise PairingError(f"manual match {match_id} was already removed")
        refuse_keys_if_locked(cur, Keys(found.orders, found.lines), "removing a manual match")
        cur.execute(
            "INSERT INTO manual_match_removals VALUES (?, ?, ?, ?)",
            [match_id, by.name, utc_now(), note.strip()],
        )
        store.audit(cur, by.name, "match.remove", f"match:{match_id}", json.dumps({"note": note}))
    return _get_store(store, match_id)


def list_matches(
    store: Store, start: date | None = None, end: date | None = None, stale: bool = False
) -> list[ManualMatch]:
    """Manual matches and breaks, oldest first; within start..end by their orders' business
    dates; `stale`: only the active ones that can no longer apply."""
    rows = store.query(
        f"""
        SELECT m.*, r.match_id IS NOT NULL AS removed FROM manual_matches m
        LEFT JOIN manual_match_removals r ON r.match_id = m.id
        WHERE ($start IS NULL OR EXISTS (
            SELECT 1 FROM orders o
            WHERE list_contains(m.order_keys, 'O:' || o.provider || ':' || o.order_id)
              AND o.business_date BETWEEN $start AND $end))
          AND (NOT $stale OR (r.match_id IS NULL AND m.id IN ({STALE_SQL})))
        ORDER BY m.id
        """,
        {"start": start, "end": end, "stale": stale},
    )
    return [_from_row(r) for r in rows.iter_rows(named=True)]


def stale_matches(store: Store, start: date, end: date) -> list[str]:
    """The period's manual matches that can no longer apply, each said in one line."""
    return [
        f"manual match {m.id} can no longer apply (an order or line of it is gone, or held by "
        f"another match): {', '.join((*m.orders, *m.lines))}; see `rekon match list --stale`"
        for m in list_matches(store, start, end, stale=True)
    ]


# Active matches that can no longer apply: an order gone from the store, a line whose ledger
# was deleted (and not replaced by a correction), or a key another, earlier match holds.
STALE_SQL = f"""
    WITH active AS ({ACTIVE_SQL}),
    keyed AS (
        SELECT id, unnest(order_keys) AS key, 'order' AS side FROM active
        UNION ALL SELECT id, unnest(line_keys), 'line' FROM active
    ),
    gone AS (
        SELECT k.id FROM keyed k
        ANTI JOIN orders o ON k.key = 'O:' || o.provider || ':' || o.order_id
        WHERE k.side = 'order'
        UNION
        SELECT k.id FROM keyed k {current_line("k.key", "ledger_lines", join="LEFT JOIN")}
        WHERE k.side = 'line' AND l.ledger_id IS NULL
    )
    SELECT id FROM gone
    UNION
    SELECT k.id FROM keyed k JOIN keyed e ON e.key = k.key AND e.id < k.id
      JOIN active a ON a.id = k.id JOIN active b ON b.id = e.id
     WHERE a.kind = 'match' AND b.kind = 'match'
"""


def _amounts(cur: duckdb.DuckDBPyConnection, keys: Keys) -> dict[str, Decimal]:
    found = dict(
        cur.execute(_FOUND_SQL, {"orders": list(keys.orders), "lines": list(keys.lines)}).fetchall()
    )
    if unknown := [k for k in (*keys.orders, *keys.lines) if k not in found]:
        raise PairingError(
            f"no {'order' if unknown[0].startswith('O:') else 'ledger line'} {unknown[0]}: "
            "use a key as `rekon review list` or the Reconcile page prints it"
        )
    return {k: Decimal(v) for k, v in found.items()}


def refuse_keys_if_locked(cur: duckdb.DuckDBPyConnection, keys: Keys, doing: str) -> None:
    """Raise PeriodLocked when an order's business date or a line's date is signed off."""
    refuse_if_locked(
        cur,
        f"""
        SELECT o.business_date FROM orders o
        WHERE list_contains($orders, 'O:' || o.provider || ':' || o.order_id)
        UNION ALL
        SELECT l.entry_date FROM unnest($lines) AS k(key) {current_line("k.key", "ledger_lines")}
        """,
        {"orders": list(keys.orders), "lines": list(keys.lines)},
        doing,
    )


def _refuse_overlap(cur: duckdb.DuckDBPyConnection, keys: Keys, kind: str) -> None:
    """A line or order is in one active match at a time; a broken pair is not matched again
    (remove the break first), nor broken twice."""
    rows = cur.execute(
        f"""
        SELECT id, kind, order_keys, line_keys FROM ({ACTIVE_SQL})
        WHERE list_has_any(order_keys, $orders) OR list_has_any(line_keys, $lines)
        ORDER BY id
        """,
        {"orders": list(keys.orders), "lines": list(keys.lines)},
    ).fetchall()
    for match_id, other_kind, order_keys, line_keys in rows:
        shared_orders = [k for k in keys.orders if k in order_keys]
        shared_lines = [k for k in keys.lines if k in line_keys]
        if other_kind == "match" and kind == "match" and (shared_orders or shared_lines):
            key = (shared_lines or shared_orders)[0]
            raise PairingError(f"{key} is already in manual match {match_id}: remove that first")
        if other_kind == "break" and shared_orders and shared_lines:
            raise PairingError(
                f"{shared_orders[0]} and {shared_lines[0]} were broken apart by manual match "
                f"{match_id}: remove that break first"
            )


def _insert(
    cur: duckdb.DuckDBPyConnection,
    kind: str,
    keys: Keys,
    reason: str | None,
    note: str | None,
    difference: Decimal | None,
    made_by: str,
) -> ManualMatch:
    row = (next_id(cur, "manual_match_id"), kind, list(keys.orders), list(keys.lines), reason,
           note, difference, made_by, utc_now())  # fmt: skip
    cur.execute(
        "INSERT INTO manual_matches (id, kind, order_keys, line_keys, reason, note, difference,"
        " made_by, made_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(row),
    )
    cur.execute(
        "INSERT INTO audit_log VALUES (now()::TIMESTAMP, ?, ?, ?, ?)",
        [made_by, f"{kind}.add", f"match:{row[0]}",
         json.dumps({"orders": keys.orders, "lines": keys.lines, "reason": reason,
                     "note": note})],
    )  # fmt: skip
    return ManualMatch(row[0], row[1], tuple(row[2]), tuple(row[3]), row[4], row[5], row[6],
                       row[7], row[8], False)  # fmt: skip


def _get(cur: duckdb.DuckDBPyConnection, match_id: int) -> ManualMatch:
    rows = cur.execute(
        "SELECT m.*, r.match_id IS NOT NULL FROM manual_matches m"
        " LEFT JOIN manual_match_removals r ON r.match_id = m.id WHERE m.id = ?",
        [match_id],
    ).fetchall()
    if not rows:
        raise PairingError(f"there is no manual match {match_id}: see `rekon match list`")
    r = rows[0]
    return ManualMatch(r[0], r[1], tuple(r[2]), tuple(r[3]), r[4], r[5], r[6], r[7], r[8], r[9])


def _get_store(store: Store, match_id: int) -> ManualMatch:
    with store.read() as cur:
        return _get(cur, match_id)


def _from_row(r: dict[str, object]) -> ManualMatch:
    return ManualMatch(
        int(r["id"]),  # type: ignore[call-overload]
        str(r["kind"]),
        tuple(r["order_keys"]),  # type: ignore[arg-type]
        tuple(r["line_keys"]),  # type: ignore[arg-type]
        r["reason"],  # type: ignore[arg-type]
        r["note"],  # type: ignore[arg-type]
        r["difference"],  # type: ignore[arg-type]
        str(r["made_by"]),
        r["made_at"],  # type: ignore[arg-type]
        bool(r["removed"]),
    )


def history(store: Store, match_id: int) -> pl.DataFrame:
    """A manual match's story: made, and removed when it was."""
    return store.query(
        "SELECT logged_at, actor, action, detail FROM audit_log WHERE subject = ?"
        " ORDER BY logged_at",
        [f"match:{match_id}"],
    )
