"""Reviewer decisions on exceptions: accept, resolve (with a note), reopen.

Decisions attach to a result's stable key (`O:provider:order_id`, `L:ledger:line`,
`D:ledger:line`), so they survive a re-run of the same period. Nothing is overwritten: every
decision is a new row, and the latest one is the item's status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rekon.access import Actor, Role
from rekon.classes import EXCEPTIONS
from rekon.errors import RekonError
from rekon.locks import refuse_if_locked
from rekon.store import Store, utc_now

if TYPE_CHECKING:
    import polars as pl

DECISIONS = ("accepted", "resolved", "reopened")

# The current status of every reviewed key: the decision of its latest review.
LATEST_SQL = """
    SELECT result_key,
           CASE decision WHEN 'reopened' THEN 'open' ELSE decision END AS review_status,
           note AS review_note, reviewer, reviewed_at, seq AS review_seq
    FROM reviews
    QUALIFY row_number() OVER (PARTITION BY result_key ORDER BY seq DESC) = 1
"""


class ReviewError(RekonError):
    """A review could not be recorded."""


@dataclass(frozen=True)
class Recorded:
    """What a decision did: how many items it was recorded on, and how many already-decided
    items it left as they were."""

    recorded: int
    skipped_decided: int = 0

    def line(self, decision: str) -> str:
        text = f"Recorded {decision} for {self.recorded} item(s)."
        if self.skipped_decided:
            text += f" {self.skipped_decided} already decided item(s) left as they were."
        return text


def record(
    store: Store,
    keys: Sequence[str],
    decision: str,
    by: Actor,
    note: str | None = None,
    run_id: int | None = None,
    *,
    include_decided: bool = False,
    seen: Mapping[str, int] | None = None,
) -> Recorded:
    """Record one decision for each key.

    Several keys at once need a note, and an accept or resolve leaves items already accepted
    or resolved as they were unless `include_decided`: a bulk accept must not replace a
    resolution and its note. `seen` is the latest review number (0: none) of each key as the
    reviewer's page showed it; a key decided since is refused, naming who decided it, so a
    stale tab never overwrites a newer decision in silence. An item of a signed-off period
    is refused. Raises ReviewError, PeriodLocked or AccessDenied.
    """
    by.require(Role.REVIEWER, "record decisions")
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}: use accept, resolve or reopen")
    note = (note or "").strip() or None
    if decision == "resolved" and not note:
        raise ReviewError("resolving needs a note saying how it was resolved")
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise ReviewError("nothing selected to review")
    if len(keys) > 1 and not note:
        raise ReviewError(f"a decision on {len(keys)} items at once needs a note saying why")
    with store.write() as cur:
        # Within the run the decision was made on, when it is named: a run's rows are
        # contiguous, so this reads one run's rows rather than every run's.
        found = dict(
            cur.execute(
                f"SELECT result_key, bool_or(result IN {EXCEPTIONS}) FROM recon_results"
                " WHERE ($run IS NULL OR run_id = $run) AND list_contains($keys, result_key)"
                " GROUP BY result_key",
                {"keys": keys, "run": run_id},
            ).fetchall()
        )
        if len(found) != len(keys):
            where = "any reconciliation run" if run_id is None else f"run {run_id}"
            unknown = [k for k in keys if k not in found]
            raise ReviewError(
                f"{len(unknown)} of the selected items are not in {where} (first: {unknown[0]})"
            )
        refuse_if_locked(
            cur,
            "SELECT anchor_date FROM recon_results"
            " WHERE ($run IS NULL OR run_id = $run) AND list_contains($keys, result_key)",
            {"keys": keys, "run": run_id},
            "recording decisions",
        )
        if settled := sorted(k for k, exception in found.items() if not exception):
            raise ReviewError(
                f"{len(settled)} of the selected items are matched or unpaid, not exceptions, "
                f"and need no decision (first: {settled[0]})"
            )
        latest = {
            row[0]: row[1:]
            for row in cur.execute(
                f"SELECT result_key, review_seq, review_status, reviewer, reviewed_at"
                f" FROM ({LATEST_SQL}) WHERE list_contains($keys, result_key)",
                {"keys": keys},
            ).fetchall()
        }
        if seen is not None:
            changed = [k for k in keys if latest.get(k, (0,))[0] != seen.get(k, 0)]
            if changed:
                _, status, who, at = latest[changed[0]]
                raise ReviewError(
                    f"{changed[0]} was {status.replace('open', 'reopened')} by {who} at "
                    f"{at:%Y-%m-%d %H:%M} UTC after this page was drawn: nothing was recorded. "
                    "Look at it again, then decide"
                )
        decided = {k for k, v in latest.items() if v[1] in ("accepted", "resolved")}
        targets = keys
        if decision != "reopened" and not include_decided:
            targets = [k for k in keys if k not in decided]
        values = {
            "keys": targets,
            "decision": decision,
            "note": note,
            "reviewer": by.name.strip(),
            "at": utc_now(),
            "run": run_id,
        }
        if targets:
            cur.execute(
                """
                INSERT INTO reviews
                SELECT k.key, coalesce(max(r.seq), 0) + 1, $decision, $note, $reviewer, $at,
                       $run
                FROM unnest($keys) AS k(key) LEFT JOIN reviews r ON r.result_key = k.key
                GROUP BY k.key
                """,
                values,
            )
            cur.execute(
                "INSERT INTO audit_log SELECT $at, $reviewer, 'decision', key,"
                " json_object('decision', $decision, 'note', $note, 'run', $run)"
                " FROM unnest($keys) AS k(key)",
                values,
            )
    return Recorded(len(targets), len(keys) - len(targets))


def history(store: Store, key: str) -> pl.DataFrame:
    """Every decision on one item, oldest first."""
    return store.query(
        "SELECT seq, decision, note, reviewer, reviewed_at, run_id FROM reviews"
        " WHERE result_key = ? ORDER BY seq",
        [key],
    )


def status(store: Store, key: str) -> str:
    value = store.scalar(f"SELECT review_status FROM ({LATEST_SQL}) WHERE result_key = ?", [key])
    return "open" if value is None else str(value)
