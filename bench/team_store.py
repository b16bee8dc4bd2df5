"""Team-store benchmark: the same work on the embedded DuckDB file and on PostgreSQL, side by
side in one run, on a throwaway PostgreSQL cluster of the run's own.

Run: `.venv/bin/python -m bench.team_store` (or `make bench`). Measures, each in its own child
process:
- reconcile 1M orders × a 1M-line ledger (import, then reconcile) on the file and on
  PostgreSQL (the same data: the file is moved in with `rekon db copy`'s code, timed too);
- a fetch of 200k orders from the sandbox into each;
- every dashboard page over the 1M-order PostgreSQL store (bench/pages.py's renderer).
Writes its table into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import machine, peak_rss_mb, report_option, run_child, write_section
from tests.factories import OPERATOR

MONTH = (date(2026, 10, 1), date(2026, 10, 31))


def child_reconcile(location: str, ledger: Path) -> dict[str, Any]:
    from rekon.ledger import import_ledger
    from rekon.matching import ReconcileParams, reconcile
    from rekon.store import Store

    store = Store(location, memory_limit="1500MB")
    t0 = time.perf_counter()
    import_ledger(store, ledger, by=OPERATOR)
    t1 = time.perf_counter()
    run = reconcile(store, ReconcileParams(*MONTH), by=OPERATOR)
    t2 = time.perf_counter()
    store.close()
    return {"import": t1 - t0, "reconcile": t2 - t1, "counts": run.counts, "rss_mb": peak_rss_mb()}


def child_copy(source: Path, target: str) -> dict[str, Any]:
    from rekon.store import Store
    from rekon.store_copy import copy_store

    store = Store(target, memory_limit="1500MB")
    t0 = time.perf_counter()
    copied = copy_store(source, store, OPERATOR)
    seconds = time.perf_counter() - t0
    store.close()
    return {"seconds": seconds, "rows": copied.total, "rss_mb": peak_rss_mb()}


def child_fetch(location: str, url: str) -> dict[str, Any]:
    from rekon.config import Settings
    from rekon.fetching import fetch_orders, make_clients
    from rekon.sandbox.data import sandbox_settings
    from rekon.store import Store

    clients = make_clients(sandbox_settings(Settings(), url))
    store = Store(location)
    t0 = time.perf_counter()
    summary = fetch_orders(store, clients, *MONTH, by=OPERATOR)
    seconds = time.perf_counter() - t0
    stored = store.scalar("SELECT count(*) FROM orders")
    store.close()
    return {"orders": summary.total.seen, "stored": stored, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["reconcile", "copy", "fetch"])
    parser.add_argument("--db")
    parser.add_argument("--source", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--fetch-per-provider", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="renders per page")
    report_option(parser)
    args = parser.parse_args()
    if args.child == "reconcile":
        print(json.dumps(child_reconcile(args.db, args.source), default=str))
        return
    if args.child == "copy":
        print(json.dumps(child_copy(args.source, args.db)))
        return
    if args.child == "fetch":
        print(json.dumps(child_fetch(args.db, args.url)))
        return

    from bench.fetch import PORT, start_sandbox
    from bench.reconcile import prepare
    from tests.postgres import Databases, throwaway_cluster

    with throwaway_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        databases = Databases(cluster)
        folder = Path(tmp)
        prepare(args.n, folder)
        # The orders alone, before any import: the copy's source, then the file contender.
        pristine = folder / "pristine.duckdb"
        pristine.write_bytes((folder / "bench.duckdb").read_bytes())
        shared = databases.new(migrated=False)
        copy = run_child("team_store", "--child", "copy", "--source", str(pristine),
                         "--db", shared)  # fmt: skip
        databases.analyze(shared)
        ledger = str(folder / "ledger.csv")
        on_file = run_child("team_store", "--child", "reconcile", "--db",
                            str(folder / "bench.duckdb"), "--source", ledger)  # fmt: skip
        on_pg = run_child("team_store", "--child", "reconcile", "--db", shared,
                          "--source", ledger)  # fmt: skip
        assert on_file["counts"] == on_pg["counts"], (on_file["counts"], on_pg["counts"])
        # Every page over the PostgreSQL store (its run and ledger are in it now).
        databases.analyze(shared)
        pages = run_child("pages", "--child", "render", "--db", shared,
                          "--runs", str(args.runs))  # fmt: skip
        sandbox = start_sandbox(args.fetch_per_provider)
        try:
            url = f"http://127.0.0.1:{PORT}"
            fetch_file = run_child("team_store", "--child", "fetch", "--db",
                                   str(folder / "fetch.duckdb"), "--url", url)  # fmt: skip
            fetch_pg = run_child("team_store", "--child", "fetch", "--db",
                                 databases.new(migrated=False), "--url", url)  # fmt: skip
        finally:
            sandbox.terminate()
            sandbox.wait()
    print(copy, on_file, on_pg, pages, fetch_file, fetch_pg, file=sys.stderr)
    report(args, copy, on_file, on_pg, pages, fetch_file, fetch_pg)


def report(
    args: argparse.Namespace,
    copy: dict[str, Any],
    on_file: dict[str, Any],
    on_pg: dict[str, Any],
    pages: dict[str, Any],
    fetch_file: dict[str, Any],
    fetch_pg: dict[str, Any],
) -> None:
    from bench.pages import PAGES, page_table

    ratio = on_pg["reconcile"] / on_file["reconcile"]
    rate_file = fetch_file["orders"] / fetch_file["seconds"]
    rate_pg = fetch_pg["orders"] / fetch_pg["seconds"]
    slowest = max(PAGES, key=lambda p: float(pages[p]))
    lines = [
        "## Team store: PostgreSQL beside the DuckDB file (`bench/team_store.py`)",
        "",
        f"Machine: {machine()}; PostgreSQL 15 on the same machine (a throwaway cluster, "
        "default settings), reached over TCP on 127.0.0.1. DuckDB runs the same SQL on both: "
        f"on PostgreSQL it reads and writes the tables through its `postgres` extension. "
        f"{args.n:,} orders and a ledger of as many lines (bench/reconcile.py's generator); the "
        "same classes on both backends are checked. After each bulk load the benchmark runs "
        "`VACUUM ANALYZE`, as PostgreSQL's autovacuum does shortly after one.",
        "",
        "| work | DuckDB file | PostgreSQL | PostgreSQL ÷ file | target |",
        "|---|---:|---:|---:|---|",
        f"| ledger import ({args.n:,} lines) | {on_file['import']:.2f} s | "
        f"{on_pg['import']:.2f} s | {on_pg['import'] / on_file['import']:.1f}× | |",
        f"| reconcile {args.n:,} × {args.n:,} | {on_file['reconcile']:.2f} s | "
        f"{on_pg['reconcile']:.2f} s | {ratio:.1f}× | ≤ 3× |",
        f"| fetch {fetch_file['orders']:,} orders from the sandbox | "
        f"{fetch_file['seconds']:.2f} s ({rate_file:,.0f}/s) | "
        f"{fetch_pg['seconds']:.2f} s ({rate_pg:,.0f}/s) | "
        f"{fetch_pg['seconds'] / fetch_file['seconds']:.1f}× | ≥ 5,000 orders/s into PostgreSQL |",
        "",
        f"Moving the {args.n:,}-order file into PostgreSQL (`rekon db copy`): "
        f"{copy['seconds']:.2f} s for {copy['rows']:,} rows, counts checked.",
        "",
        f"Dashboard pages over the {args.n:,}-order PostgreSQL store (AppTest, median of "
        f"{args.runs} renders with `st.cache_data` cleared; target ≤ 1.5 s):",
        "",
        *page_table(pages),
    ]
    lines += [
        "",
        f"First run of the app on the PostgreSQL store: {float(pages['open']):.2f} s; slowest "
        f"page {slowest} at {float(pages[slowest]):.2f} s.",
    ]
    write_section("team_store", "\n".join(lines), args.report)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
