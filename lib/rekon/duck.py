"""How Rekon opens DuckDB: every connection with the same safe settings.

DuckDB would otherwise install and load extensions behind our back — given a SQLite file as
`--db`, it tries to download `sqlite_scanner` from the internet.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SAFE_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect(path: str | Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to a DuckDB file (or ':memory:') that installs and loads nothing by itself,
    keeps times in UTC, and works within `memory_limit` when one is given."""
    config: dict[str, str | bool | int | float | list[str]] = dict(SAFE_CONFIG)
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(str(path), config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con
