"""Where a fetch's staging folders are made, and clearing the ones a killed fetch left. Apart
from `staging.py` so opening a store does not load pyarrow and the HTTP clients."""

from __future__ import annotations

import shutil
from pathlib import Path

# A fetch's folder beside the database: .rekon.duckdb.fetch-XXXX
PREFIX = ".{name}.fetch-"


def remove_stale(database: Path) -> None:
    """Staging folders a killed fetch left beside this database (one process holds it, so any
    there now are nobody's)."""
    for folder in database.parent.glob(PREFIX.format(name=database.name) + "*"):
        shutil.rmtree(folder, ignore_errors=True)
