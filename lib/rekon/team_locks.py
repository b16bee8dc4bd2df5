"""How processes sharing one PostgreSQL store take turns: a table lock for every write, and
advisory locks for named turns (a provider's fetch, a running fetch, the schedule's runner).
Each is held by a transaction or a session, so a process that dies (kill -9, a power cut) lets
go with its connection.

The embedded file needs none of this: one process holds it, and `Store.write` serialises that
process's writers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb

# Every write on a shared store takes this lock first, so the checks it makes (a locked period,
# a ledger imported twice, the next number of a review) hold until it commits, as they do on the
# embedded file. A table lock, not an advisory one: DuckDB's PostgreSQL transactions are
# REPEATABLE READ, whose snapshot the first query takes, and `SELECT pg_advisory_xact_lock()`
# is a query, so a writer that waited on it would then read the world as it was before the
# writer it waited for. LOCK TABLE is not a query: the snapshot comes after the wait. EXCLUSIVE
# lets readers (ACCESS SHARE) through.
WRITE_LOCK = "LOCK TABLE schema_version IN EXCLUSIVE MODE"


def lock_sql(alias: str, names: Iterable[str], *, wait: bool = True) -> str:
    """A statement taking the named transaction locks, in a fixed order so two holders of the
    same names never wait on each other."""
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    calls = " AND ".join(
        f"{function}(hashtextextended(''rekon:{_name(n)}'', 0)) IS NOT NULL"
        if wait
        else f"{function}(hashtextextended(''rekon:{_name(n)}'', 0))"
        for n in sorted(set(names))
    )
    return f"SELECT * FROM postgres_query('{alias}', 'SELECT {calls} AS held')"


class Held:
    """Locks held by a transaction of their own, open until `release`: a fetch holds its
    providers' locks while it reads them, the schedule its runner's for the life of a process."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, alias: str) -> None:
        self._cur = cur
        self._alias = alias
        cur.execute("BEGIN TRANSACTION")

    def take(self, *names: str) -> None:
        """Wait until every lock is free, then hold it."""
        self._cur.execute(lock_sql(self._alias, names))

    def release(self) -> None:
        try:
            self._cur.execute("ROLLBACK")
        except duckdb.Error:  # the connection is gone, and the locks with it
            pass
        finally:
            self._cur.close()


class Lease:
    """A lock held by a connection of its own for as long as a process keeps it: the schedule's
    runner, elected among every dashboard process sharing one store. A session lock rather than
    a transaction's, so no snapshot stays open for days; it ends with the connection."""

    REKON = 21358  # the first of the lock's two keys, the name's hash the second

    def __init__(self, url: str, name: str) -> None:
        from rekon.duck import attach_postgres, connect

        self._key = f"hashtext(''rekon:{_name(name)}'')"
        self._con = connect(":memory:")
        attach_postgres(self._con, url, "lease")

    def _ask(self, sql: str) -> bool:
        try:
            row = self._con.execute(f"SELECT * FROM postgres_query('lease', '{sql}')").fetchone()
        except duckdb.Error:  # the connection is gone, and the lock with it
            return False
        return bool(row and row[0])

    def try_take(self) -> bool:
        """Hold the lock unless another process does; True when this one holds it now."""
        return self.held() or self._ask(f"SELECT pg_try_advisory_lock({self.REKON}, {self._key})")

    def held(self) -> bool:
        return self._ask(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = ''advisory'' AND granted"
            f" AND pid = pg_backend_pid() AND objsubid = 2 AND classid = {self.REKON}"
            f" AND objid::text::bigint = {self._key}::bigint & 4294967295"
        )

    def release(self) -> None:
        self._con.close()  # the session ends, and its locks with it


def _name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_:.-]+", name):
        raise ValueError(f"{name!r} is not a lock name")
    return name
