"""CLI commands for ledgers, reconciliation, reviews and exports (filled in with matching)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_parsers(sub: Any, db: Callable[[argparse.ArgumentParser], None], date_type: Any) -> None:
    return None
