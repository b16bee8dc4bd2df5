"""Signed-off periods as locks: the one check every write that touches a period's dates makes
(a run, a decision, a manual match, a ledger import, deletion or correction, an order update).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from rekon.errors import RekonError
from rekon.periods import day_range, is_whole_month

if TYPE_CHECKING:
    import duckdb

# The sign-offs that lock their dates: every one not reopened, lapsed or not.
ACTIVE_SQL = """
    SELECT s.*, EXISTS (SELECT 1 FROM signoff_events e
                        WHERE e.signoff_id = s.id AND e.event = 'lapsed') AS lapsed
    FROM signoffs s
    WHERE NOT EXISTS (SELECT 1 FROM signoff_events e
                      WHERE e.signoff_id = s.id AND e.event = 'reopened')
"""


class PeriodLocked(RekonError):
    """A write that would change a signed-off period."""


def period_name(start: date, end: date) -> str:
    """'October 2026' for a whole month, else the range."""
    return f"{start:%B %Y}" if is_whole_month(start, end) else day_range(start, end)


def refuse_if_locked(
    cur: duckdb.DuckDBPyConnection, dates_sql: str, params: dict[str, Any], doing: str
) -> None:
    """Raise PeriodLocked when any date `dates_sql` yields (its one column) falls in a
    signed-off period; `doing` says what was refused ('recording decisions')."""
    found = cur.execute(
        f"""
        SELECT period_from, period_to, signed_by, signed_at, version FROM ({ACTIVE_SQL}) s
        WHERE EXISTS (SELECT 1 FROM ({dates_sql}) AS d(d) WHERE d.d BETWEEN s.period_from
                      AND s.period_to)
        ORDER BY period_from LIMIT 1
        """,
        params,
    ).fetchone()
    if found:
        raise PeriodLocked(_locked_message(tuple(found), doing))


def refuse_range_if_locked(
    cur: duckdb.DuckDBPyConnection, start: date, end: date, doing: str
) -> None:
    """Raise PeriodLocked when [start, end] overlaps a signed-off period."""
    found = cur.execute(
        f"SELECT period_from, period_to, signed_by, signed_at, version FROM ({ACTIVE_SQL})"
        " WHERE period_from <= $end AND period_to >= $start ORDER BY period_from LIMIT 1",
        {"start": start, "end": end},
    ).fetchone()
    if found:
        raise PeriodLocked(_locked_message(tuple(found), doing))


def _locked_message(found: tuple[Any, ...], doing: str) -> str:
    start, end, by, at, version = found
    return (
        f"{period_name(start, end)} is signed off (by {by} at {at:%Y-%m-%d %H:%M} UTC, "
        f"version {version}) and locked: {doing} there is refused. An approver can reopen it "
        "with a reason"
    )
