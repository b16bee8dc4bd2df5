"""The DuckDB file: schema, forward migrations, transactions, and the order upsert.

One process holds the file. Readers take a cursor per use; every write goes through
`Store.write()`, which serialises writers with one lock and wraps them in a transaction, so a
fetch or an import lands whole or not at all.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from rekon.config import size_in_bytes
from rekon.duck import connect
from rekon.errors import RekonError
from rekon.migrations import MIGRATIONS
from rekon.providers.base import Order
from rekon.staging import ORDER_COLUMNS, OrderStaging, remove_stale

# Why a fetch stopped by a signal, a kill or a power cut stored nothing.
INTERRUPTED = "the fetch was stopped before it finished; nothing was stored"


class StoreError(RekonError):
    """The database could not do what was asked; the message says what to do."""


@dataclass(frozen=True)
class UpsertCounts:
    seen: int
    new: int
    updated: int
    unchanged: int


class Store:
    """A DuckDB file shared by every session of a process: a cursor per read, one writer."""

    def __init__(
        self, path: str | Path, timezone: str = "Asia/Jakarta", memory_limit: str = "1GB"
    ) -> None:
        self.path = Path(path)
        self.in_memory = str(path) == ":memory:"
        self._lock = threading.RLock()
        self.timezone = timezone
        # A fixed budget instead of DuckDB's 80 % of RAM: big fetches and joins spill to disk
        # rather than growing the process with the data.
        self.memory_limit = memory_limit
        try:
            if not self.in_memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = connect(path, memory_limit)
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {path}: {_why_not(exc)}") from exc
        try:
            self._require_a_file()
            self._con.execute("SET preserve_insertion_order = false")
            self.migrate()
            self._align_timezone()
            self._end_interrupted_fetches()
        except BaseException:
            self._con.close()
            raise
        if not self.in_memory:
            remove_stale(self.path)

    def _require_a_file(self) -> None:
        """DuckDB opens a .csv or .json path as an empty in-memory database: every write would
        report success and vanish when the process ends. Refuse it by name."""
        if self.in_memory:
            return
        found = self._con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        if not found or not found[0]:
            raise StoreError(
                f"cannot open the database {self.path}: DuckDB reads that file as data, not as "
                "a database, so nothing written would be kept. Point REKON_DB or --db at a "
                "Rekon database file, such as data/rekon.duckdb"
            )

    def close(self) -> None:
        self._con.close()

    # ------------------------------------------------------------ connections

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one read; DuckDB connections are not shared across threads."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.cursor()
        try:
            yield cur
        except duckdb.IOException as exc:
            self._raise_if_damaged(exc)
            raise
        finally:
            cur.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One serialised transaction: committed on success, rolled back on any exception."""
        with self._lock:
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except duckdb.IOException as exc:
                cur.execute("ROLLBACK")
                self._raise_if_damaged(exc)
                raise
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _raise_if_damaged(self, exc: duckdb.IOException) -> None:
        """A read the file could not serve — cut short by a failed copy, a full disk — in words
        that say what to do, instead of DuckDB's."""
        if _DAMAGE.search(str(exc)):
            raise StoreError(f"cannot read the database {self.path}: {_why_not(exc)}") from exc

    @contextmanager
    def memory_budget(self, limit: str) -> Iterator[None]:
        """Run a block under a smaller DuckDB memory budget, then restore the configured one.

        A configured budget that is already smaller (or not a plain size) is left alone.
        DuckDB's budget is per database, so reads running meanwhile share the smaller budget
        and spill to disk sooner.
        """
        with self._lock:
            smaller = size_in_bytes(limit) < (size_in_bytes(self.memory_limit) or 0)
            if smaller:
                self._con.execute(f"SET memory_limit = '{limit}'")
            try:
                yield
            finally:
                if smaller:
                    self._con.execute(f"SET memory_limit = '{self.memory_limit}'")

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a read and return a polars DataFrame."""
        with self.read() as cur:
            frame: pl.DataFrame = cur.sql(sql, params=params).pl()
            return frame

    def scalar(self, sql: str, params: Iterable[Any] | dict[str, Any] | None = None) -> Any:
        with self.read() as cur:
            rows = cur.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    # ------------------------------------------------------------ schema

    def migrate(self) -> None:
        with self._lock:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
            )
            row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
            current = (row[0] if row else None) or 0
            for version, (name, sql) in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                with self.write() as cur:
                    cur.execute(sql)
                    cur.execute(
                        "INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)",
                        [version, name],
                    )

    @property
    def schema_version(self) -> int:
        return int(self.scalar("SELECT max(version) FROM schema_version") or 0)

    def _align_timezone(self) -> None:
        """Business dates follow the configured timezone; recompute them if it changed."""
        stored = self.scalar("SELECT value FROM meta WHERE key = 'timezone'")
        if stored == self.timezone:
            return
        with self.write() as cur:
            cur.execute(
                # The SQL is built from constants only; values go in as parameters.
                f"UPDATE orders SET business_date = {business_date_sql('created_at')}",
                {"tz": self.timezone},
            )
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('timezone', ?)", [self.timezone])

    # ------------------------------------------------------------ orders

    def upsert_orders(
        self, cur: duckdb.DuckDBPyConnection, orders: Iterable[Order], run_id: int
    ) -> UpsertCounts:
        """A few orders that come one by one rather than from a fetch (an update sent to a
        provider), settled and landed in the caller's transaction."""
        with OrderStaging(None if self.in_memory else self.path) as staging:
            staging.append(orders)
            staging.settle()
            cur.register("settled_orders", staging.table())
        try:
            return self.land_staged_orders(cur, "settled_orders", None, run_id)
        finally:
            with suppress(duckdb.Error):  # refused in a failed transaction, whose error is raised
                cur.unregister("settled_orders")

    @contextmanager
    def attached(self, path: Path) -> Iterator[str]:
        """A settled staging file attached read-only for a landing: yields the relation to
        read it by. Attached outside any transaction, as DuckDB detaches only after a commit."""
        alias = f"staged_{abs(hash(path)):x}"
        with self._lock:
            self._con.execute(f"ATTACH '{_sql_path(path)}' AS {alias} (READ_ONLY)")
        try:
            yield f"{alias}.stage_orders"
        finally:
            with self._lock:
                self._con.execute(f"DETACH {alias}")

    def land_staged_orders(
        self, cur: duckdb.DuckDBPyConnection, source: str, provider: str | None, run_id: int
    ) -> UpsertCounts:
        """Upsert settled staged orders (see `staging.py`; `source` names their relation) of
        one provider, or of all, in the caller's transaction; the latest updated_at wins, an
        older copy never does.

        Memory must not grow with the fetch, so there is no INSERT … ON CONFLICT DO UPDATE
        (DuckDB holds every key of such a statement in memory): new and changed orders are
        appended, and a changed order's old row deleted first.
        """
        incoming = f"(SELECT * FROM {source} WHERE provider = coalesce($provider, provider))"
        seen = cur.execute(f"SELECT count(*) FROM {incoming}", {"provider": provider}).fetchone()
        # A changed order is deleted and appended again: an UPDATE of wide rows keeps every
        # old value in memory until the commit.
        cur.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE changed_orders AS
            SELECT provider, order_id, o.first_fetch_run
            FROM {incoming} s JOIN orders o USING (provider, order_id)
            WHERE s.raw <> o.raw AND coalesce(s.updated_at >= o.updated_at, true)
            """,
            {"provider": provider},
        )
        updated = cur.execute(
            "DELETE FROM orders USING changed_orders c"
            " WHERE orders.provider = c.provider AND orders.order_id = c.order_id"
        ).fetchone()
        cols = ", ".join(ORDER_COLUMNS)
        written = cur.execute(  # names are constants; values are parameters
            f"""
            INSERT INTO orders ({cols}, business_date, first_fetch_run, last_fetch_run)
            SELECT {", ".join(f"s.{c}" for c in ORDER_COLUMNS)},
                   {business_date_sql("s.created_at")}, coalesce(c.first_fetch_run, $run), $run
            FROM {incoming} s
            ANTI JOIN (SELECT provider, order_id FROM orders) o USING (provider, order_id)
            LEFT JOIN changed_orders c USING (provider, order_id)
            """,
            {"tz": self.timezone, "run": run_id, "provider": provider},
        ).fetchone()
        cur.execute("DROP TABLE changed_orders")
        n_seen, n_written, n_updated = (int(r[0]) if r else 0 for r in (seen, written, updated))
        n_new = n_written - n_updated
        return UpsertCounts(n_seen, n_new, n_updated, n_seen - n_new - n_updated)

    def _end_interrupted_fetches(self) -> None:
        """A fetch killed mid-way (SIGTERM, kill -9, a power cut) left its run `running`; one
        process holds the file, so at opening no fetch is running any more."""
        if self.scalar("SELECT count(*) FROM fetch_runs WHERE status = 'running'"):
            with self.write() as cur:
                cur.execute(
                    "UPDATE fetch_runs SET status = 'interrupted', finished_at = ?, error = ?"
                    " WHERE status = 'running'",
                    [utc_now(), INTERRUPTED],
                )

    def counts(self) -> dict[str, int]:
        with self.read() as cur:
            rows = cur.execute(
                "SELECT 'orders', count(*) FROM orders UNION ALL "
                "SELECT 'ledger_lines', count(*) FROM ledger_lines UNION ALL "
                "SELECT 'recon_runs', count(*) FROM recon_runs"
            ).fetchall()
        return {name: int(n) for name, n in rows}

    def audit(
        self, cur: duckdb.DuckDBPyConnection, actor: str, action: str, subject: str, detail: str
    ) -> None:
        cur.execute(
            "INSERT INTO audit_log VALUES (now()::TIMESTAMP, ?, ?, ?, ?)",
            [actor, action, subject, detail],
        )


# What DuckDB says of a file that is cut short or damaged.
_DAMAGE = re.compile(r"(?i)could not read enough bytes|corrupt|checksum")


def _why_not(exc: Exception) -> str:
    """Why DuckDB could not open a database file, in words that say what to do."""
    text = str(exc)
    if "lock" in text.lower():
        holder = re.search(r"\(PID (\d+)\)", text)
        return (
            f"another program{f' (process {holder[1]})' if holder else ''} has it open, a Rekon "
            "dashboard most likely, and one program at a time can use a Rekon file: let the "
            "dashboard fetch by itself (Fetch page, Schedule), or stop the other program first"
        )
    if _DAMAGE.search(text):
        return (
            "the file is damaged or cut short (a copy that did not finish?): restore it from "
            "a backup, or point REKON_DB or --db at another file"
        )
    if "not a valid DuckDB database" in text or "extension" in text.lower():
        return "it is not a DuckDB database: point REKON_DB or --db at a new path or a Rekon file"
    if "Is a directory" in text or isinstance(exc, IsADirectoryError):
        return "that is a folder: give a file path, such as data/rekon.duckdb"
    if isinstance(exc, OSError):
        return exc.strerror or text
    return text.removeprefix("IO Error: ")


def _sql_path(path: Path) -> str:
    """A file path inside a SQL string literal."""
    return str(path).replace("'", "''")


def business_date_sql(column: str) -> str:
    """SQL for a naive-UTC timestamp column's calendar date in the `$tz` timezone."""
    return f"CAST(timezone($tz, {column} AT TIME ZONE 'UTC') AS DATE)"


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp every table stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
