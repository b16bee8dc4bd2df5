"""Moving an embedded store into PostgreSQL, for a team that outgrows one laptop: every table
copied in one transaction, the sequences carried on, and the row counts checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.store import PG, Store

# The sequences and the tables whose ids they hand out.
SEQUENCES = {
    "fetch_run_id": "fetch_runs",
    "ledger_id": "ledgers",
    "recon_run_id": "recon_runs",
    "manual_match_id": "manual_matches",
    "match_rule_id": "match_rules",
    "signoff_id": "signoffs",
    "settlement_source_id": "settlement_sources",
}


class CopyError(RekonError):
    """The store could not be copied as asked; nothing was written to the target."""


@dataclass(frozen=True)
class CopySummary:
    rows: dict[str, int]  # per table, equal in source and target

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_store(source: Path, target: Store, by: Actor) -> CopySummary:
    """Copy the DuckDB file `source` into the empty PostgreSQL store `target`."""
    by.require(Role.ADMIN, "copy the store")
    if not target.shared:
        raise CopyError("the copy goes into a PostgreSQL store: give --to postgresql://…")
    if not source.is_file():
        raise CopyError(f"there is no Rekon file at {source}")
    # Opening the file brings it to the schema version the target has.
    Store(source, target.timezone, target.memory_limit).close()
    columns = _columns(target)
    with target.attached_file(source) as src, target.write() as cur:
        held = [t for t in columns if t not in ("schema_version", "meta") and _count(cur, t)]
        if held:
            raise CopyError(
                f"the PostgreSQL store is not empty ({', '.join(held)} hold rows): "
                "copy into a new database"
            )
        rows: dict[str, int] = {}
        for table, names in columns.items():
            if table == "schema_version":
                continue
            cols = ", ".join(names)
            if table == "meta":  # the target's own settings give way to the file's
                cur.execute("DELETE FROM meta")
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {src}.main.{table}")
            rows[table] = _count(cur, table)
            copied = _count(cur, f"{src}.main.{table}")
            if rows[table] != copied:
                raise CopyError(f"{table}: {copied} rows in the file, {rows[table]} copied")
        for sequence, table in SEQUENCES.items():
            top = cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
            if top and top[0]:
                target.pg_execute(cur, f"SELECT setval('{sequence}', {int(top[0])})")
        target.audit(cur, by.name, "store.copy", "store", json.dumps(
            {"from": str(source), "rows": rows}))  # fmt: skip
    # Statistics for the planner now, rather than when autovacuum next looks: the first pages
    # over a freshly copied store would otherwise check every new row's visibility.
    with target.write() as cur:
        target.pg_execute(cur, "ANALYZE")
    return CopySummary(rows)


def _columns(target: Store) -> dict[str, list[str]]:
    """The target's tables and the columns a copy writes (not those PostgreSQL computes)."""
    frame = target.query(
        f"SELECT * FROM postgres_query('{PG}', 'SELECT table_name::text, column_name::text"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND is_generated = ''NEVER'' ORDER BY table_name, ordinal_position')"
    )
    columns: dict[str, list[str]] = {}
    for table, column in frame.iter_rows():
        columns.setdefault(table, []).append(column)
    return columns


def _count(cur: duckdb.DuckDBPyConnection, relation: str) -> int:
    row = cur.execute(f"SELECT count(*) FROM {relation}").fetchone()
    return int(row[0]) if row else 0
