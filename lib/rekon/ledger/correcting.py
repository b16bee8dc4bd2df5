"""A corrected re-export takes the place of the ledger it corrects.

Accounting fixes a few entries and exports the month again. The new file is a new ledger, so
its lines have new result keys (`L:ledger:line`, `D:ledger:line`), and the decisions reviewers
made on the old ledger's lines would start over. Correcting ledger A with ledger B pairs their
lines by content (same date, amount and reference; the k-th copy of a line with the k-th),
records each settled decision on an A line again on its B line, and deletes A. Lines that
changed have no partner and start open, as they should: what was decided about them may no
longer hold. The old decisions stay in the history under their old keys.
"""

from __future__ import annotations

import json

import duckdb

from rekon.access import Actor, Role
from rekon.ledger.model import Correction, LedgerError
from rekon.locks import refuse_if_locked
from rekon.reviews import LATEST_SQL
from rekon.store import Store, utc_now

# Old line → new line, for lines with the same date, amount and reference. A line booked twice
# in both files pairs copy by copy, in line order.
PAIRS_SQL = """
    WITH numbered AS (
        SELECT ledger_id, line_no, entry_date, amount, coalesce(reference, '') AS ref,
               row_number() OVER (PARTITION BY ledger_id, entry_date, amount,
                                  coalesce(reference, '') ORDER BY line_no) AS copy
        FROM ledger_lines WHERE ledger_id IN ($old, $new)
    )
    SELECT o.line_no AS old_line, n.line_no AS new_line
    FROM (SELECT * FROM numbered WHERE ledger_id = $old) o
    JOIN (SELECT * FROM numbered WHERE ledger_id = $new) n
      USING (entry_date, amount, ref, copy)
"""
# The settled decision (accepted or resolved) on each old line, recorded again on its new line
# unless that line has decisions of its own. The note says where it came from.
CARRY_SQL = f"""
    INSERT INTO reviews
    SELECT kind || ':' || $new || ':' || p.new_line, 1, v.review_status,
           'From ledger ' || $old || ' line ' || p.old_line || ' (' || v.reviewer || ')'
               || coalesce(': ' || v.review_note, ''),
           $actor, $at, NULL
    FROM pairs p CROSS JOIN (VALUES ('L'), ('D')) AS k(kind)
    JOIN ({LATEST_SQL}) v ON v.result_key = kind || ':' || $old || ':' || p.old_line
    WHERE v.review_status <> 'open'
      AND NOT EXISTS (SELECT 1 FROM reviews r
                      WHERE r.result_key = kind || ':' || $new || ':' || p.new_line)
"""

# Lines that earlier corrections moved into the old ledger move on with their pair (those
# whose line changed stop there); then the old ledger's own lines are recorded as moved.
FOLLOW_MOVES_SQL = """
    UPDATE ledger_line_moves m SET to_ledger = $new, to_line = p.new_line
    FROM pairs p WHERE m.to_ledger = $old AND m.to_line = p.old_line
"""
RECORD_MOVES_SQL = "INSERT INTO ledger_line_moves SELECT $old, old_line, $new, new_line FROM pairs"


def correct_ledger(store: Store, old_id: int, new_id: int, by: Actor) -> Correction:
    """Ledger `new_id` (a corrected re-export) replaces ledger `old_id`: decisions on unchanged
    lines follow them, and the old ledger is deleted, all in one transaction (audited)."""
    by.require(Role.REVIEWER, "correct a ledger")
    with store.write() as cur:
        return apply_correction(store, cur, old_id, new_id, by.name)


def apply_correction(
    store: Store, cur: duckdb.DuckDBPyConnection, old_id: int, new_id: int, actor: str
) -> Correction:
    """`correct_ledger` inside a transaction the caller holds (an import lands with it)."""
    if old_id == new_id:
        raise LedgerError(f"ledger {old_id} cannot correct itself")
    names = dict(
        cur.execute("SELECT id, name FROM ledgers WHERE id IN (?, ?)", [old_id, new_id]).fetchall()
    )
    for wanted in (old_id, new_id):
        if wanted not in names:
            raise LedgerError(f"there is no ledger {wanted}")
    refuse_if_locked(
        cur,
        "SELECT DISTINCT entry_date FROM ledger_lines WHERE ledger_id IN ($old, $new)",
        {"old": old_id, "new": new_id},
        "correcting a ledger",
    )
    values = {"old": old_id, "new": new_id}
    cur.execute(f"CREATE OR REPLACE TEMP TABLE pairs AS {PAIRS_SQL}", values)
    kept = int(cur.execute("SELECT count(*) FROM pairs").fetchall()[0][0])
    carried = cur.execute(CARRY_SQL, values | {"actor": actor, "at": utc_now()}).fetchall()
    cur.execute(FOLLOW_MOVES_SQL, values)
    cur.execute("DELETE FROM ledger_line_moves WHERE to_ledger = ?", [old_id])
    cur.execute(RECORD_MOVES_SQL, values)
    cur.execute("DROP TABLE pairs")
    deleted = cur.execute("DELETE FROM ledger_lines WHERE ledger_id = ?", [old_id]).fetchall()
    cur.execute("DELETE FROM ledgers WHERE id = ?", [old_id])
    correction = Correction(old_id, new_id, kept, int(deleted[0][0]) - kept, int(carried[0][0]))
    detail = {"replaced": old_id, "replaced_name": names[old_id], "lines_kept": kept,
              "decisions_carried": correction.decisions_carried}  # fmt: skip
    store.audit(cur, actor, "ledger.correct", f"ledger:{new_id}", json.dumps(detail))
    return correction
