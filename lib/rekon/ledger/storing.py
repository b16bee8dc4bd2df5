"""Landing a read ledger in the store, in one transaction, and managing what is stored:
ledgers, their lines and saved mappings."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import polars as pl

from rekon.access import Actor, Role
from rekon.ledger.correcting import apply_correction
from rekon.ledger.model import (
    Checked,
    DuplicateLedger,
    ImportOptions,
    ImportResult,
    LedgerError,
    Parsed,
    SavedMapping,
    SharedLines,
    TooManyRejected,
)
from rekon.ledger.reading import LedgerStream, open_ledger_file, read_ledger
from rekon.listings import LEDGERS_SQL
from rekon.locks import refuse_if_locked
from rekon.money import format_count
from rekon.store import Store, next_id, utc_now


def import_ledger(
    store: Store,
    path_or_bytes: Path | bytes,
    file_name: str | None = None,
    options: ImportOptions | None = None,
    saved_mapping: str | None = None,
    *,
    by: Actor,
) -> ImportResult:
    """Read, validate and store one ledger file in one transaction. Raises LedgerError,
    PeriodLocked (a line dated in a signed-off period) or AccessDenied. A file on disk is
    read and stored a batch of lines at a time."""
    by.require(Role.REVIEWER, "import a ledger")
    options = options or ImportOptions()
    base = load_mapping(store, saved_mapping) if saved_mapping else None
    if isinstance(path_or_bytes, Path):
        stream = open_ledger_file(path_or_bytes, file_name, options, base)
    else:
        parsed = read_ledger(path_or_bytes, file_name or "ledger.csv", options, base)
        stream = LedgerStream.of(parsed)
    return _land(store, stream, options, by)


def store_ledger(store: Store, parsed: Parsed, options: ImportOptions, by: Actor) -> ImportResult:
    """Store a file read whole (a reviewer saw its preview first)."""
    by.require(Role.REVIEWER, "import a ledger")
    _refuse_rejected(parsed.checked, options)
    return _land(store, LedgerStream.of(parsed), options, by)


def _refuse_rejected(checked: Checked, options: ImportOptions) -> None:
    rows = checked.data_rows
    failed_lines = checked.rejected_lines
    if rows == 0:
        raise LedgerError(f"{checked.file_name} has a header but no ledger lines")
    if failed_lines > options.threshold * rows:
        first = checked.rejected[0]
        raise TooManyRejected(
            f"{format_count(failed_lines)} of {format_count(rows)} lines in {checked.file_name} "
            "cannot be imported "
            f"(more than {options.threshold:.0%}); nothing was imported. "
            f"First problem: line {first.line_no}, {first.column}: "
            f"{first.reason} ({first.value!r})",
            checked.rejected,
        )


COLUMNS = ("line_no", "entry_date", "reference", "description", "amount", "currency",
           "provider", "email")  # fmt: skip


def _land(store: Store, stream: LedgerStream, options: ImportOptions, by: Actor) -> ImportResult:
    """One transaction: the lines batch by batch, then the ledger with what checking them
    found. Too many rejected lines, a locked day or any error rolls all of it back."""
    with store.write() as cur:
        existing = cur.execute(
            "SELECT id, name FROM ledgers WHERE content_hash = ?", [stream.content_hash]
        ).fetchall()
        if existing and not options.replace:
            raise DuplicateLedger(
                f"{stream.file_name} was already imported as ledger {existing[0][0]} "
                f"({existing[0][1]}); use --replace to import it again"
            )
        for old_id, _ in existing:
            cur.execute("DELETE FROM ledger_lines WHERE ledger_id = ?", [old_id])
            cur.execute("DELETE FROM ledgers WHERE id = ?", [old_id])
        # The same file keeps its ledger id, so its lines keep their result keys and the reviews
        # recorded on them stay attached when the month is reconciled again.
        ledger_id = existing[0][0] if existing else next_id(cur, "ledger_id")
        for lines in stream.lines():
            # Plain Arrow strings: DuckDB reads polars' string views several times slower.
            # from_arrow rather than register() so the batch is not kept alive until the commit.
            batch = lines.select(pl.lit(ledger_id, pl.Int64).alias("ledger_id"), *COLUMNS)
            cur.from_arrow(batch.to_arrow(compat_level=pl.CompatLevel.oldest())).insert_into(
                "ledger_lines"
            )
            del lines, batch
        checked = stream.checked()
        _refuse_rejected(checked, options)
        name = options.name or checked.file_name
        cur.execute(
            "INSERT INTO ledgers (id, name, file_name, content_hash, imported_at, imported_by,"
            " mapping, format, lines_total, lines_imported, lines_rejected, amount_total,"
            " date_from, date_to, rejected)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                ledger_id,
                name,
                checked.file_name,
                checked.content_hash,
                utc_now(),
                by.name,
                checked.mapping.to_json(),
                json.dumps(asdict(checked.format)),
                checked.data_rows,
                checked.lines,
                checked.rejected_lines,
                checked.total,
                checked.first_day,
                checked.last_day,
                json.dumps([asdict(r) for r in checked.rejected[:1000]]),
            ],
        )
        refuse_if_locked(
            cur,
            "SELECT DISTINCT entry_date FROM ledger_lines WHERE ledger_id = $id",
            {"id": ledger_id},
            "importing ledger lines",
        )
        actor = by.name
        correction = (
            None
            if options.corrects is None
            else apply_correction(store, cur, options.corrects, ledger_id, actor)
        )
        overlapping = cur.execute(
            "SELECT list(id) FROM ledgers WHERE id <> ? AND date_from <= ? AND date_to >= ?",
            [ledger_id, checked.last_day, checked.first_day],
        ).fetchall()[0][0]
        shared = (
            [
                SharedLines(*r)
                for r in cur.execute(SHARED_LINES_SQL, [ledger_id, overlapping]).fetchall()
            ]
            if overlapping
            else []
        )
        store.audit(
            cur,
            actor,
            "ledger.import",
            f"ledger:{ledger_id}",
            json.dumps(
                {
                    "file": checked.file_name,
                    "lines": checked.lines,
                    "rejected": checked.rejected_lines,
                    "replaced": [e[0] for e in existing],
                }
            ),
        )
    return ImportResult(
        ledger_id,
        name,
        checked.lines,
        checked.rejected,
        checked.skipped,
        checked.total,
        checked.first_day,
        checked.last_day,
        checked.format,
        checked.mapping,
        shared,
        correction,
        checked.cleaned,
        checked.warnings,
    )


# How many lines of the new ledger ($1) each earlier ledger whose dates overlap ($2) holds too.
SHARED_LINES_SQL = """
    SELECT e.ledger_id, g.name, count(DISTINCT n.line_no) AS lines
    FROM ledger_lines n
    JOIN ledger_lines e ON e.entry_date = n.entry_date AND e.amount = n.amount
                       AND e.reference IS NOT DISTINCT FROM n.reference
    JOIN ledgers g ON g.id = e.ledger_id
    WHERE n.ledger_id = $1 AND list_contains($2, e.ledger_id)
    GROUP BY e.ledger_id, g.name ORDER BY e.ledger_id
"""


def delete_ledger(store: Store, ledger_id: int, by: Actor) -> int:
    """Delete a ledger and its lines in one transaction (audited); returns how many lines went.
    Runs that used it keep their results, which hold the lines' dates and amounts."""
    by.require(Role.REVIEWER, "delete a ledger")
    with store.write() as cur:
        found = cur.execute("SELECT name FROM ledgers WHERE id = ?", [ledger_id]).fetchall()
        if not found:
            raise LedgerError(f"there is no ledger {ledger_id}")
        refuse_if_locked(
            cur,
            "SELECT DISTINCT entry_date FROM ledger_lines WHERE ledger_id = $id",
            {"id": ledger_id},
            "deleting a ledger",
        )
        lines = cur.execute("DELETE FROM ledger_lines WHERE ledger_id = ?", [ledger_id])
        deleted = int(lines.fetchall()[0][0])
        cur.execute("DELETE FROM ledgers WHERE id = ?", [ledger_id])
        detail = json.dumps({"name": found[0][0], "lines": deleted})
        store.audit(cur, by.name, "ledger.delete", f"ledger:{ledger_id}", detail)
    return deleted


def list_ledgers(store: Store) -> pl.DataFrame:
    return store.query(LEDGERS_SQL)


def save_mapping(store: Store, name: str, saved: SavedMapping, by: Actor) -> str:
    """Save (or overwrite) a mapping; returns the name it is saved under (audited)."""
    by.require(Role.REVIEWER, "save a column mapping")
    name = name.strip()
    if not name:
        raise LedgerError("a saved mapping needs a name")
    with store.write() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO ledger_mappings VALUES (?, ?, ?)",
            [name, saved.to_json(), utc_now()],
        )
        store.audit(cur, by.name, "mapping.save", f"mapping:{name}", saved.to_json())
    return name


def load_mapping(store: Store, name: str) -> SavedMapping:
    found = store.scalar("SELECT mapping FROM ledger_mappings WHERE name = ?", [name])
    if found is None:
        raise LedgerError(f"there is no saved mapping called {name!r}")
    return SavedMapping.from_json(found)


def list_mappings(store: Store) -> list[str]:
    return list(store.query("SELECT name FROM ledger_mappings ORDER BY name")["name"])
