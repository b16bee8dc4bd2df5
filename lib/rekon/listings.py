"""The short lists both the command line and the pages show — the latest runs, the imported
ledgers — as SQL alone, so `rekon runs` and `rekon ledger list` read them without loading
polars or the ledger reader."""

from __future__ import annotations

# The latest finished runs of any period, newest first, with their counts per class.
RECENT_RUNS_SQL = (
    "SELECT id, period_from, period_to, finished_at, run_by, ledger_ids, amount_tolerance,"
    " date_window, counts FROM recon_runs WHERE finished_at IS NOT NULL"
    " ORDER BY id DESC LIMIT {limit}"
)
LEDGERS_SQL = (
    "SELECT id, name, file_name, imported_at, lines_imported, lines_rejected, amount_total,"
    " date_from, date_to FROM ledgers ORDER BY id"
)
