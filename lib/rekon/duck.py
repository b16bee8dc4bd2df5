"""How Rekon opens DuckDB: every connection with the same safe settings.

DuckDB would otherwise install and load extensions behind our back — given a SQLite file as
`--db`, it tries to download `sqlite_scanner` from the internet.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import duckdb

from rekon.errors import RekonError
from rekon.redaction import redact_url

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


class PostgresUnavailable(RekonError):
    """DuckDB's postgres extension cannot be loaded, or the database cannot be reached."""


def postgres_extension() -> Path:
    """The `postgres` extension from the `duckdb-extension-postgres` wheel, under the file name
    DuckDB derives its entry point from (`postgres_scanner`): loaded from this file, never
    downloaded."""
    try:
        import duckdb_extension_postgres
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise PostgresUnavailable(
            "DuckDB's postgres extension is not installed: run `make setup` again"
        ) from exc
    shipped = next(
        Path(duckdb_extension_postgres.__file__).parent.glob(
            f"extensions/v{duckdb.__version__}/postgres.duckdb_extension"
        ),
        None,
    )
    if shipped is None:
        raise PostgresUnavailable(
            f"the postgres extension installed is not built for DuckDB {duckdb.__version__}: "
            "install the duckdb-extension-postgres of the same version"
        )
    # Beside the shipped file, in the environment's own folder: never a shared place such as
    # /tmp, where another user could leave a file of that name for DuckDB to load.
    named = shipped.with_name("postgres_scanner.duckdb_extension")
    if not named.exists():
        try:
            with contextlib.suppress(FileExistsError):  # another process made it first
                named.symlink_to(shipped.name)
        except OSError as exc:
            raise PostgresUnavailable(
                f"cannot name DuckDB's postgres extension in {named.parent} ({exc.strerror}): "
                "run Rekon as the user who installed it"
            ) from None
    return named


def attach_postgres(con: duckdb.DuckDBPyConnection, url: str, alias: str) -> None:
    """Attach a PostgreSQL database as `alias`. The address carries a password, so no message
    from here quotes it."""
    try:
        con.execute(f"LOAD '{sql_text(postgres_extension())}'")
        # ATTACH takes no parameters: the address is a quoted literal, the alias a name.
        con.execute(f"ATTACH '{sql_text(url)}' AS {_name(alias)} (TYPE postgres)")
    except duckdb.Error as exc:
        reason = redact_url(str(exc).splitlines()[0], url)
        raise PostgresUnavailable(f"cannot use the PostgreSQL database: {reason}") from None


def sql_text(text: Path | str) -> str:
    """Text (a path, an address, a statement) inside a SQL string literal."""
    return str(text).replace("'", "''")


def _name(alias: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", alias):
        raise ValueError(f"{alias!r} is not a name for an attached database")
    return alias
