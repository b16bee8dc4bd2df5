"""Where a fetch puts the orders while the providers answer: a private DuckDB file of its own,
so that the store's write lock is held only while the orders land, never while a slow
provider pages. It also settles what a provider sent twice before anything lands."""

from __future__ import annotations

import operator
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa

from rekon.duck import connect
from rekon.providers.base import Order, ProviderError
from rekon.staging_folders import PREFIX

ORDER_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("order_id", pa.string()),
        ("merchant_ref", pa.string()),
        ("payment_id", pa.string()),
        # Exact decimal text, cast to DECIMAL when the orders land: pyarrow's Decimal conversion
        # is ~100× slower than the rest of the batch put together.
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
_SQL_TYPES = {pa.string(): "VARCHAR", pa.timestamp("us"): "TIMESTAMP"}
# A fetch waits on the network, not on DuckDB: a small budget makes DuckDB write the staged
# pages out instead of caching them, so a month of 300k orders needs no more memory than 30k.
STAGING_MEMORY_LIMIT = "256MB"
# Folders of staged fetches sit beside the database they belong to, named after it.


class OrderStaging:
    """One fetch's staged orders. Use as a context manager: the file is gone afterwards."""

    def __init__(self, beside: Path | None) -> None:
        folder = beside.parent if beside is not None else None
        prefix = PREFIX.format(name=beside.name) if beside is not None else "rekon-fetch-"
        self.folder = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
        self.path = self.folder / "stage.duckdb"
        self._con = connect(self.path, STAGING_MEMORY_LIMIT)
        columns = ", ".join(f"{f.name} {_SQL_TYPES[f.type]}" for f in ORDER_SCHEMA)
        self._con.execute(f"CREATE TABLE stage_orders ({columns})")

    def __enter__(self) -> OrderStaging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def append(
        self,
        orders: Iterable[Order],
        batch_size: int = 5_000,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Write orders to the staging table in Arrow batches; return the count."""
        total = 0
        batch: list[Order] = []
        for order in orders:
            batch.append(order)
            if len(batch) >= batch_size:
                total += self._append(batch)
                batch = []
                if on_batch:
                    on_batch(total)
        if batch:
            total += self._append(batch)
        return total

    def _append(self, batch: list[Order]) -> int:
        columns = [list(col) for col in zip(*map(_ORDER_ROW, batch), strict=True)]
        columns[_AMOUNT] = [str(a) for a in columns[_AMOUNT]]
        # Not register(): a registered Arrow table stays referenced until the connection closes,
        # which made a fetch's memory grow with every batch.
        self._con.from_arrow(pa.Table.from_arrays(columns, schema=ORDER_SCHEMA)).insert_into(
            "stage_orders"
        )
        return len(batch)

    def settle(self) -> None:
        """Keep one copy of each order — the latest by updated_at — and refuse the fetch when
        copies disagree with nothing to say which is newer."""
        # Copies tied for the latest update (or with none) that differ: a provider sending one
        # order with two amounts, which a fetch must not settle by arrival order.
        conflicts = self._con.execute(
            """
            SELECT provider, order_id, count(*) OVER (PARTITION BY provider) AS n FROM (
                SELECT provider, order_id, raw FROM stage_orders
                QUALIFY rank() OVER (
                    PARTITION BY provider, order_id ORDER BY updated_at DESC NULLS LAST) = 1
            )
            GROUP BY provider, order_id HAVING count(DISTINCT raw) > 1
            ORDER BY provider, order_id LIMIT 5
            """
        ).fetchall()
        if conflicts:
            provider = conflicts[0][0]
            ids = [oid for p, oid, _ in conflicts if p == provider]
            more = f" and {conflicts[0][2] - len(ids)} more" if conflicts[0][2] > len(ids) else ""
            raise ProviderError(
                provider,
                f"sent order {', '.join(ids)}{more} more than once with different contents and the "
                "same update time, so Rekon cannot tell which copy is right; nothing was "
                "stored — ask the provider which is correct",
            )
        # Identical copies (an order that shifted a page while paging) and older copies go.
        self._con.execute(
            """
            DELETE FROM stage_orders WHERE rowid IN (
                SELECT rowid FROM stage_orders
                QUALIFY row_number() OVER (
                    PARTITION BY provider, order_id ORDER BY updated_at DESC NULLS LAST) > 1)
            """
        )

    def release(self) -> Path:
        """The settled file, closed, for the store to attach."""
        self._con.close()
        return self.path

    def table(self) -> pa.Table:
        """The settled orders as Arrow: for a handful, cheaper than attaching the file."""
        return self._con.sql("SELECT * FROM stage_orders").to_arrow_table()
