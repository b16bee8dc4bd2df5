"""The store: schema, forward migrations, transactions, and the order upsert.

Two places keep the tables, with one SQL dialect over both, DuckDB's: an embedded DuckDB file
(one process at a time), or a PostgreSQL database that DuckDB attaches, shared by every
dashboard, schedule and command of a team. Readers take a cursor per use; every write goes
through `Store.write()`, a transaction that lands whole or not at all. Writers take turns by a
lock: a Python one within a process, and with PostgreSQL also a table lock across processes
(see `team_locks.py`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from rekon import team_locks
from rekon.config import is_postgres_url, size_in_bytes
from rekon.duck import attach_postgres, connect, sql_text
from rekon.errors import RekonError
from rekon.migrations import MIGRATIONS
from rekon.migrations_pg import PG_MIGRATIONS
from rekon.redaction import redact_url

if TYPE_CHECKING:  # polars, pyarrow and httpx load where they are used: `rekon runs` needs none
    import polars as pl

    from rekon.providers.base import Order

# Why a fetch stopped by a signal, a kill or a power cut stored nothing.
INTERRUPTED = "the fetch was stopped before it finished; nothing was stored"
# The name a PostgreSQL store is attached by: every cursor reads and writes its tables.
PG = "rekon_pg"


class StoreError(RekonError):
    """The database could not do what was asked; the message says what to do."""


@dataclass(frozen=True)
class UpsertCounts:
    seen: int
    new: int
    updated: int
    unchanged: int


class Store:
    """A DuckDB file, or a PostgreSQL database through DuckDB, shared by every session of a
    process: a cursor per read, one writer at a time."""

    def __init__(
        self, location: str | Path, timezone: str = "Asia/Jakarta", memory_limit: str = "1GB"
    ) -> None:
        # A PostgreSQL address carries a password: `where` is what messages and pages show.
        self.url = str(location).strip() if is_postgres_url(location) else None
        self.path = None if self.url else Path(location)
        self.where = redact_url(self.url, self.url) if self.url else str(location)
        self.in_memory = str(location) == ":memory:"
        self._lock = threading.RLock()
        self.timezone = timezone
        # A fixed budget instead of DuckDB's 80 % of RAM: big fetches and joins spill to disk
        # rather than growing the process with the data.
        self.memory_limit = memory_limit
        try:
            if self.path and not self.in_memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = connect(":memory:" if self.url else location, memory_limit)
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {location}: {_why_not(exc)}") from exc
        try:
            if self.url:
                attach_postgres(self._con, self.url, PG)
                self._con.execute(f"USE {PG}")
            self._require_a_file()
            self._con.execute("SET preserve_insertion_order = false")
            self.migrate()
            self._align_timezone()
            self._end_interrupted_fetches()
        except BaseException:
            self._con.close()
            raise
        if self.path and not self.in_memory:
            from rekon.staging_folders import remove_stale

            remove_stale(self.path)

    @property
    def shared(self) -> bool:
        """Whether the store is PostgreSQL, which other processes may be using at once."""
        return self.url is not None

    @property
    def scratch(self) -> Path | None:
        """Where a fetch's staging files go: beside the file, or (None) a temporary folder."""
        return None if self.in_memory else self.path

    def _require_a_file(self) -> None:
        """DuckDB opens a .csv or .json path as an empty in-memory database: every write would
        report success and vanish when the process ends. Refuse it by name."""
        if self.in_memory or self.url:
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
        if self.url:
            cur.execute(f"USE {PG}")
        return cur

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._scrubbed():
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
        with self._lock, self._scrubbed():
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                if self.url:
                    self.pg_execute(cur, team_locks.WRITE_LOCK)
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

    @contextmanager
    def _scrubbed(self) -> Iterator[None]:
        """DuckDB quotes a PostgreSQL address, password and all, when a connection it makes
        again fails (the server restarted, the network dropped): such an error is raised again
        without it."""
        try:
            yield
        except duckdb.Error as exc:
            text = str(exc)
            if self.url and redact_url(text, self.url) != text:
                reason = redact_url(text.splitlines()[0], self.url)
                raise StoreError(f"the PostgreSQL database failed: {reason}") from None
            raise

    def _raise_if_damaged(self, exc: duckdb.IOException) -> None:
        """A read the file could not serve — cut short by a failed copy, a full disk — in words
        that say what to do, instead of DuckDB's."""
        if _DAMAGE.search(str(exc)):
            raise StoreError(f"cannot read the database {self.where}: {_why_not(exc)}") from exc

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

    def records(self, sql: str) -> list[dict[str, Any]]:
        """A read as plain rows, for commands that must start quickly: no polars, and no
        parameters (binding one makes DuckDB import pandas, most of a second)."""
        with self.read() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Iterable[Any] | dict[str, Any] | None = None) -> Any:
        with self.read() as cur:
            rows = cur.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    # ------------------------------------------------------------ schema

    def migrate(self) -> None:
        if self.url:
            self._migrate_postgres()
            return
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

    def _migrate_postgres(self) -> None:
        """PostgreSQL's own DDL (see `migrations_pg.py`), each migration in a transaction under
        the write lock, so processes starting together apply each one once."""
        with self._lock:  # the write lock's table is made here, under a lock of its own
            cur = self.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                cur.execute(team_locks.lock_sql(PG, ["migrate"]))
                self.pg_execute(
                    cur,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)",
                )
                cur.execute("COMMIT")
            finally:
                cur.close()
        for version, (name, sql) in enumerate(PG_MIGRATIONS, start=1):
            with self.write() as cur:
                row = cur.execute(
                    f"SELECT * FROM postgres_query('{PG}',"
                    " 'SELECT coalesce(max(version), 0) FROM schema_version')"
                ).fetchone()
                if row and row[0] >= version:
                    continue
                self.pg_execute(cur, sql)
                self.pg_execute(
                    cur,
                    f"INSERT INTO schema_version VALUES ({version}, '{sql_text(name)}',"
                    " now() AT TIME ZONE 'UTC')",
                )
        self._con.execute("CALL pg_clear_cache()")  # DuckDB's view of the tables, refreshed

    def pg_execute(self, cur: duckdb.DuckDBPyConnection, sql: str) -> None:
        """Run PostgreSQL's own SQL in the cursor's transaction (DDL DuckDB cannot express)."""
        cur.execute(f"CALL postgres_execute('{PG}', '{sql_text(sql)}')")

    @contextmanager
    def hold(self, *names: str) -> Iterator[team_locks.Held | None]:
        """Hold named locks (waiting for them) for a block, across every process using a
        PostgreSQL store; yields None on the embedded file, which one process holds."""
        if not self.url:
            yield None
            return
        held = team_locks.Held(self.cursor(), PG)
        try:
            if names:
                held.take(*names)
            yield held
        finally:
            held.release()

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
        from rekon.staging import OrderStaging

        with OrderStaging(self.scratch) as staging:
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
        read it by."""
        with self.attached_file(path) as alias:
            yield f"{alias}.stage_orders"

    @contextmanager
    def attached_file(self, path: Path) -> Iterator[str]:
        """A DuckDB file attached read-only (a staging file, a copy's source): yields its
        alias. Attached outside any transaction, as DuckDB detaches only after a commit."""
        alias = f"staged_{abs(hash(path)):x}"
        with self._lock:
            self._con.execute(f"ATTACH '{sql_text(path)}' AS {alias} (READ_ONLY)")
        try:
            yield alias
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
        from rekon.staging import ORDER_COLUMNS

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
        """A fetch killed mid-way (SIGTERM, kill -9, a power cut) left its run `running`. One
        process holds a file, so at opening no fetch is running any more; on PostgreSQL a
        running fetch holds its run's lock, so a run whose lock is free has lost its process."""
        with self.read() as cur:
            running = cur.execute("SELECT id FROM fetch_runs WHERE status = 'running'").fetchall()
        if not running:
            return
        with self.write() as cur:
            ended = [
                run_id
                for (run_id,) in running
                if not self.url
                or cur.execute(
                    team_locks.lock_sql(PG, [f"fetch-run:{run_id}"], wait=False)
                ).fetchone()
                == (True,)
            ]
            cur.execute(
                "UPDATE fetch_runs SET status = 'interrupted', finished_at = ?, error = ?"
                " WHERE id IN (SELECT unnest(?::BIGINT[]))",
                [utc_now(), INTERRUPTED, ended],
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
            "dashboard fetch by itself (Fetch page, Schedule), keep the store in PostgreSQL so "
            "every program can share it (REKON_DB=postgresql://…, see docs/team-store.md), or "
            "stop the other program first"
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


def next_id(cur: duckdb.DuckDBPyConnection, sequence: str) -> int:
    """The next number of a sequence, for the id of a row about to be inserted: DuckDB cannot
    return the ids PostgreSQL assigns, so on both backends the id is taken first."""
    if not re.fullmatch(r"[a-z_]+", sequence):
        raise ValueError(f"{sequence!r} is not a sequence name")
    on = cur.execute("SELECT current_database()").fetchone()
    if on == (PG,):
        sql = f"SELECT * FROM postgres_query('{PG}', 'SELECT nextval(''{sequence}'')')"
    else:
        sql = f"SELECT nextval('{sequence}')"
    row = cur.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def business_date_sql(column: str) -> str:
    """SQL for a naive-UTC timestamp column's calendar date in the `$tz` timezone."""
    return f"CAST(timezone($tz, {column} AT TIME ZONE 'UTC') AS DATE)"


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp every table stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
