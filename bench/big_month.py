"""A big month end to end, Rekon alone: N orders and an N-line ledger (30M by default), the
commands a user runs — `ledger import`, `reconcile`, `export --kind all`, `suggest` — each
timed with its own peak RSS under a 1 GB DuckDB budget. Too big for the other contenders
(the pandas script alone would need about 20 GB), so it runs behind its own make target:
`make bench-big`. Writes its section into BENCHMARKS.md."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench._common import machine, report_option, run_child, write_section
from bench.reconcile import rekon_cli


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30_000_000)
    parser.add_argument("--folder", type=Path, help="where the data goes (default: a temp folder)")
    report_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        run_child("reconcile", "--child", "prepare", "--n", str(args.n), "--folder", tmp,
                  timeout=7200)  # fmt: skip
        prepared = time.perf_counter() - t0
        csv_mb = (folder / "ledger.csv").stat().st_size / 1e6
        shutil.copy(folder / "bench.duckdb", folder / "cli.duckdb")
        found = rekon_cli(folder)
        db_mb = (folder / "bench.duckdb").stat().st_size / 1e6
    print(found, file=sys.stderr)
    rows = "\n".join(
        f"| `rekon {label}` | {found[name]:.1f} s | {found[f'{name}_rss']:,.0f} MB |"
        for name, label in (
            ("import", "ledger import"),
            ("reconcile", "reconcile"),
            ("export", "export --kind all"),
            ("suggest", "suggest"),
        )
    )
    markdown = f"""## A big month (`bench/big_month.py`, `make bench-big`)

Machine: {machine()}. {args.n:,} orders and a {csv_mb:,.0f} MB ledger CSV of about as many
lines (98 %), generated as in the reconcile benchmark ({prepared:.0f} s; the database of
orders {db_mb:,.0f} MB before the import). Each command in its own process, as a user runs
it, `REKON_MEMORY_LIMIT=1GB`:

| command | wall | peak RSS |
|---|---:|---:|
{rows}
"""
    write_section("big_month", markdown, args.report)
    print(markdown)


if __name__ == "__main__":
    main()
