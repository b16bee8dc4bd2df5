"""Page benchmark: render every dashboard page over 1M and over 10M orders, each with a ledger
of as many lines.

Run: `.venv/bin/python -m bench.pages` (or `make bench`). Builds the data with
bench/reconcile.py's generator, imports and reconciles it, then renders each page with
Streamlit's AppTest five times, clearing st.cache_data before every run (so each render pays
for its queries), and reports the median and the app process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import ROOT, machine, peak_rss_mb, report_option, run_child, write_section
from pages.ui.workspace import PAGES as PAGE_LIST
from tests.factories import OPERATOR

PAGES = [path for path, *_ in PAGE_LIST]


TARGET = 1.5


def page_table(*results: dict[str, Any]) -> list[str]:
    """The Markdown rows of every page's median render against the target, a column pair per
    result (one store size each)."""
    rows = [
        "| page |" + " median render | ÷ target |" * len(results),
        "|---|" + "---:|---:|" * len(results),
    ]
    for page in PAGES:
        cells = "".join(
            f" {float(r[page]):.2f} s | {float(r[page]) / TARGET:.2f} |" for r in results
        )
        rows.append(f"| {page} |{cells}")
    return rows


def child(db: str, runs: int) -> dict[str, Any]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.chdir(ROOT)
    for name in list(os.environ):
        if name.startswith(("XEPENG_", "DURIANPAY_", "REKON_")):
            del os.environ[name]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.secrets["REKON_DB"] = db
    at.secrets["REKON_MEMORY_LIMIT"] = "1500MB"
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
    out: dict[str, Any] = {"open": first}
    for page in PAGES:
        times = []
        for _ in range(runs):
            st.cache_data.clear()
            t = time.perf_counter()
            at.switch_page(page).run()
            times.append(time.perf_counter() - t)
            assert not at.exception, (page, [e.value for e in at.exception])
        out[page] = statistics.median(times)
    out["rss_mb"] = peak_rss_mb()
    return out


def build(folder: Path, n: int) -> dict[str, float]:
    from bench.reconcile import prepare
    from rekon.ledger import import_ledger
    from rekon.matching import ReconcileParams, reconcile
    from rekon.store import Store

    prepare(n, folder)
    store = Store(folder / "bench.duckdb", memory_limit="1500MB")
    lines = import_ledger(store, folder / "ledger.csv", by=OPERATOR).lines_imported
    reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 31)), by=OPERATOR)
    orders = store.scalar("SELECT count(*) FROM orders")
    store.close()
    return {"orders": orders, "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["build", "render"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--db", help="the store to render over (a file or postgresql://)")
    parser.add_argument("--n", type=int, help="one size only (default: --sizes)")
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=5)
    report_option(parser)
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(build(args.folder, args.n or 1_000_000)))
        return
    if args.child == "render":
        print(json.dumps(child(args.db or str(args.folder / "bench.duckdb"), args.runs)))
        return
    built, rendered = [], []
    for n in [args.n] if args.n else [int(x) for x in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            built.append(run_child("pages", "--child", "build", "--folder", tmp, "--n", str(n)))
            rendered.append(
                run_child("pages", "--child", "render", "--folder", tmp, "--runs", str(args.runs))
            )
    print(built, rendered, file=sys.stderr)
    stores = " and ".join(
        f"{b['orders']:,} orders with a {b['lines']:,}-line ledger" for b in built
    )
    lines = [
        "## Dashboard pages (`bench/pages.py`)",
        "",
        f"Machine: {machine()}. {stores}, reconciled, each in one DuckDB file (a column pair "
        "per size). Each page rendered by Streamlit's AppTest, inside app.py as a visitor "
        f"sees it (navigation, period picker, banner), {args.runs} times with `st.cache_data` "
        "cleared before every run (so every render runs its queries; a reviewer's repeat "
        "visits are cached and faster). Baseline: the 1.5 s target.",
        "",
        *page_table(*rendered),
        "",
        *(
            f"{b['orders']:,} orders: first run of the app (opening the store) "
            f"{float(r['open']):.2f} s; peak RSS of the app process "
            f"{float(r['rss_mb']):.0f} MB."
            for b, r in zip(built, rendered, strict=True)
        ),
        "",
        "Targets: ≤ 1.5 s per page at both sizes; the app's first run ≤ 3 s at 10M.",
    ]
    write_section("pages", "\n".join(lines), args.report)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
