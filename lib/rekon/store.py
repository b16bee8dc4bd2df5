"""The DuckDB file: schema, forward migrations, transactions, and the order upsert.

One process holds the file. Readers take a cursor per use; every write goes through
`Store.write()`, which serialises writers with one lock and wraps them in a transaction, so a
fetch or an import lands whole or not at all.
"""

from __future__ import annotations

import operator
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from rekon.config import size_in_bytes
from rekon.errors import RekonError
from rekon.migrations import MIGRATIONS
from rekon.providers.base import Order

ORDER_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("order_id", pa.string()),
        ("merchant_ref", pa.string()),
        ("payment_id", pa.string()),
        # Exact decimal text, cast to DECIMAL by DuckDB: pyarrow's Decimal conversion is ~100×
        # slower than the rest of the batch put together.
        ("amount", pa.string()),
        ("currency", pa.string()),
        ("status", pa.string()),
        ("provider_status", pa.string()),
        ("created_at", pa.timestamp("us")),
        ("updated_at", pa.timestamp("us")),
        ("paid_at", pa.timestamp("us")),
        ("customer_name", pa.string()),
        ("customer_email", pa.string()),
        ("customer_phone", pa.string()),
        ("description", pa.string()),
        ("raw", pa.string()),
    ]
)
ORDER_COLUMNS = ORDER_SCHEMA.names
_ORDER_ROW = operator.attrgetter(*ORDER_COLUMNS)
_AMOUNT = ORDER_COLUMNS.index("amount")


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
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(path))
        except (duckdb.IOException, OSError) as exc:
            raise StoreError(f"cannot open the database {path}: {_why_not(exc)}") from exc
        self._lock = threading.RLock()
        self.timezone = timezone
        self._con.execute("SET TimeZone = 'UTC'")
        # A fixed budget instead of DuckDB's 80 % of RAM: big fetches and joins spill to disk
        # rather than growing the process with the data.
        self.memory_limit = memory_limit
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._con.execute("SET preserve_insertion_order = false")
        self.migrate()
        self._align_timezone()

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
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

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

    def stage_orders(
        self,
        cur: duckdb.DuckDBPyConnection,
        orders: Iterable[Order],
        batch_size: int = 5_000,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Write orders to the transaction's staging table in Arrow batches; return the count."""
        # A regular table, created and dropped inside the caller's transaction: unlike a
        # TEMP table, DuckDB can write its row groups out to the file as they fill.
        cur.execute(
            "CREATE OR REPLACE TABLE stage_orders AS SELECT * EXCLUDE "
            "(business_date, first_fetch_run, last_fetch_run) FROM orders LIMIT 0"
        )
        total = 0
        batch: list[Order] = []
        for order in orders:
            batch.append(order)
            if len(batch) >= batch_size:
                total += self._append(cur, batch)
                batch = []
                if on_batch:
                    on_batch(total)
        if batch:
            total += self._append(cur, batch)
        return total

    @staticmethod
    def _append(cur: duckdb.DuckDBPyConnection, batch: list[Order]) -> int:
        columns = [list(col) for col in zip(*map(_ORDER_ROW, batch), strict=True)]
        columns[_AMOUNT] = [str(a) for a in columns[_AMOUNT]]
        # Not cur.register(): a registered Arrow table stays referenced until the transaction
        # ends, which made a fetch's memory grow with every batch.
        cur.from_arrow(pa.Table.from_arrays(columns, schema=ORDER_SCHEMA)).insert_into(
            "stage_orders"
        )
        return len(batch)

    def merge_staged_orders(self, cur: duckdb.DuckDBPyConnection, run_id: int) -> UpsertCounts:
        """Upsert the staged orders; the latest updated_at wins, an older copy never does.

        Memory must not grow with the fetch, so there is no INSERT … ON CONFLICT DO UPDATE
        (DuckDB holds every key of such a statement in memory): duplicates are dropped on
        keys and timestamps alone, and new and changed orders are appended.
        """
        cur.execute(
            """
            DELETE FROM stage_orders WHERE rowid IN (
                SELECT rowid FROM stage_orders
                QUALIFY row_number() OVER (
                    PARTITION BY provider, order_id ORDER BY updated_at DESC NULLS LAST) > 1)
            """
        )
        seen = cur.execute("SELECT count(*) FROM stage_orders").fetchone()
        # A changed order is deleted and appended again: an UPDATE of wide rows keeps every
        # old value in memory until the commit.
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE changed_orders AS
            SELECT provider, order_id, o.first_fetch_run
            FROM stage_orders s JOIN orders o USING (provider, order_id)
            WHERE s.raw <> o.raw AND coalesce(s.updated_at >= o.updated_at, true)
            """
        )
        updated = cur.execute(
            "DELETE FROM orders USING changed_orders c"
            " WHERE orders.provider = c.provider AND orders.order_id = c.order_id"
        ).fetchone()
        cols = ", ".join(ORDER_COLUMNS)
        written = cur.execute(  # column names are constants; values are parameters
            f"""
            INSERT INTO orders ({cols}, business_date, first_fetch_run, last_fetch_run)
            SELECT {", ".join(f"s.{c}" for c in ORDER_COLUMNS)},
                   {business_date_sql("s.created_at")}, coalesce(c.first_fetch_run, $run), $run
            FROM stage_orders s
            ANTI JOIN (SELECT provider, order_id FROM orders) o USING (provider, order_id)
            LEFT JOIN changed_orders c USING (provider, order_id)
            """,
            {"tz": self.timezone, "run": run_id},
        ).fetchone()
        cur.execute("DROP TABLE stage_orders")
        cur.execute("DROP TABLE changed_orders")
        n_seen, n_written, n_updated = (int(r[0]) if r else 0 for r in (seen, written, updated))
        n_new = n_written - n_updated
        return UpsertCounts(n_seen, n_new, n_updated, n_seen - n_new - n_updated)

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


def _why_not(exc: Exception) -> str:
    """Why DuckDB could not open a database file, in words that say what to do."""
    text = str(exc)
    if "lock" in text.lower():
        holder = re.search(r"\(PID (\d+)\)", text)
        return (
            f"another program{f' (process {holder[1]})' if holder else ''} has it open: "
            "close the other Rekon (a dashboard or a `rekon` command) first"
        )
    if "not a valid DuckDB database" in text:
        return "it is not a DuckDB database: point REKON_DB or --db at a new path or a Rekon file"
    if "Is a directory" in text or isinstance(exc, IsADirectoryError):
        return "that is a folder: give a file path, such as data/rekon.duckdb"
    if isinstance(exc, OSError):
        return exc.strerror or text
    return text.removeprefix("IO Error: ")


def business_date_sql(column: str) -> str:
    """SQL for a naive-UTC timestamp column's calendar date in the `$tz` timezone."""
    return f"CAST(timezone($tz, {column} AT TIME ZONE 'UTC') AS DATE)"


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp every table stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
