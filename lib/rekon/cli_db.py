"""`rekon db copy`: the store's own housekeeping from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rekon.cli_recon import Handler
from rekon.config import Settings, is_postgres_url
from rekon.errors import RekonError
from rekon.money import format_count


def add_parsers(sub: Any, db: Callable[[argparse.ArgumentParser], None]) -> dict[str, Handler]:
    d = sub.add_parser("db", help="the store itself: copy an embedded file into PostgreSQL")
    dsub = d.add_subparsers(dest="db_command", required=True)
    cp = dsub.add_parser(
        "copy", help="copy the DuckDB file (--db) into an empty PostgreSQL database (--to)"
    )
    cp.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user@host:5432/rekon (new, empty)"
    )
    db(cp)
    return {"db": _db_command}


def _db_command(args: argparse.Namespace, settings: Settings) -> int:
    from rekon.store import Store
    from rekon.store_copy import copy_store

    if settings.db_url:
        raise RekonError("--db names a PostgreSQL store: give the DuckDB file to copy from")
    if not is_postgres_url(args.to):
        raise RekonError("--to takes a PostgreSQL address: postgresql://user@host:5432/rekon")
    source = Path(settings.db_path)
    target = Store(args.to, settings.timezone, settings.memory_limit)
    try:
        summary = copy_store(source, target, settings.operator)
    finally:
        target.close()
    print(
        f"Copied {format_count(summary.total)} rows from {source} into {target.where}; "
        "each table's count checked:"
    )
    for table, n in summary.rows.items():
        print(f"  {table:<22} {format_count(n):>11}")
    return 0
