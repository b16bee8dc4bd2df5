"""DuckDB on PostgreSQL, the building block of a shared store: the postgres extension loads
from the wheel without a download, DuckDB writes and reads a PostgreSQL table exactly and
within a transaction, PostgreSQL's advisory locks elect one holder, and a bad address or
password is said without showing it."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from rekon import duck
from rekon.duck import PostgresUnavailable


def test_duckdb_reads_and_writes_postgresql_exactly_and_in_one_transaction(
    postgres_url: str,
) -> None:
    with duck.connect(":memory:") as con:
        exact_and_transactional(con, postgres_url)


def exact_and_transactional(con: duckdb.DuckDBPyConnection, postgres_url: str) -> None:
    duck.attach_postgres(con, postgres_url, "pg")
    con.execute("DROP TABLE IF EXISTS pg.amounts")
    con.execute(
        "CREATE TABLE pg.amounts AS SELECT range AS i, (range / 100)::DECIMAL(18, 2) AS amount"
        " FROM range(100000)"
    )
    assert con.execute("SELECT count(*), sum(amount) FROM pg.amounts").fetchone() == (
        100000,
        Decimal("49999500.00"),
    )
    con.execute("BEGIN")
    con.execute("INSERT INTO pg.amounts VALUES (-1, 0.01)")
    con.execute("ROLLBACK")
    assert con.execute("SELECT count(*) FROM pg.amounts WHERE i = -1").fetchone() == (0,)
    # The extension came from the wheel: nothing was installed into DuckDB's own folder.
    loaded = con.execute(
        "SELECT install_path FROM duckdb_extensions() WHERE extension_name = 'postgres_scanner'"
    ).fetchone()
    assert (loaded is not None and "duckdb_extension_postgres" in str(loaded[0])) or loaded == ("",)


def test_an_advisory_lock_is_held_by_one_connection_at_a_time(postgres_url: str) -> None:
    take = "SELECT * FROM postgres_query('pg', 'SELECT pg_try_advisory_lock(4242)')"
    with duck.connect(":memory:") as second:
        duck.attach_postgres(second, postgres_url, "pg")
        with duck.connect(":memory:") as first:
            duck.attach_postgres(first, postgres_url, "pg")
            assert first.execute(take).fetchone() == (True,)
            assert second.execute(take).fetchone() == (False,)
        # The first connection closed: its session ended, and the lock with it.
        assert second.execute(take).fetchone() == (True,)


def test_a_wrong_password_is_named_without_showing_it(postgres_url: str) -> None:
    password = postgres_url.split(":")[2].split("@")[0]
    wrong = postgres_url.replace(password, "not-the-password-7f3a")
    with (
        duck.connect(":memory:") as con,
        pytest.raises(PostgresUnavailable, match="cannot use the PostgreSQL database") as e,
    ):
        duck.attach_postgres(con, wrong, "pg")
    assert "not-the-password-7f3a" not in str(e.value) and password not in str(e.value)
    assert "password authentication failed" in str(e.value)
