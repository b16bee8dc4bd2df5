"""Reconcile benchmark: import a ledger CSV, reconcile, export — against an analyst's pandas
script, the polars script a user would write instead, and a bare DuckDB join on the reference,
side by side at 100k and 1M orders.

Run: `.venv/bin/python -m bench.reconcile` (or `make bench`). Data is generated in SQL
(about 95 % clean matches, the rest spread over every class). Each contender runs in its own
child process so peak RSS is its own. Writes its table into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import machine, peak_rss_mb, report_option, run_child, write_section
from tests.factories import OPERATOR

# Buckets of hash(i) % 100 decide each order's fate in the ledger.
ORDERS_SQL = """
CREATE TABLE bench_orders AS
SELECT CASE WHEN i % 2 = 0 THEN 'xepeng' ELSE 'durianpay' END AS provider,
       'ord_' || i AS order_id,
       -- bucket 99 shares merchant references (about two orders each): ambiguous lines
       CASE WHEN hash(i) % 100 = 99 THEN 'INV-S' || hash(i * 31) % greatest($n // 200, 1)
            ELSE 'INV-' || i END AS merchant_ref,
       'pay_' || i AS payment_id,
       CAST((1 + hash(i * 7) % 4000) * 1000 AS DECIMAL(18, 2)) AS amount,
       CASE WHEN hash(i) % 100 < 3 THEN 'expired' ELSE 'paid' END AS status,
       TIMESTAMP '2026-09-30 17:00:00' + INTERVAL (hash(i * 13) % 2678400) SECOND AS created_at,
       hash(i) % 100 AS bucket, i
FROM range(1, $n + 1) t(i)
"""
LEDGER_SQL = """
SELECT strftime(CAST(timezone('Asia/Jakarta', created_at AT TIME ZONE 'UTC') AS DATE)
                + CAST(hash(i * 3) % 2 AS INTEGER), '%d/%m/%Y') AS "Tanggal",
       CASE WHEN bucket BETWEEN 3 AND 87 THEN order_id
            WHEN bucket BETWEEN 88 AND 91 THEN lower(merchant_ref)
            WHEN bucket BETWEEN 92 AND 93 THEN payment_id
            WHEN bucket = 94 THEN ''
            WHEN bucket IN (95, 96) THEN order_id
            WHEN bucket = 98 THEN 'MANUAL-' || i
            WHEN bucket = 99 THEN lower(merchant_ref)
            ELSE order_id END AS "No. Referensi",
       'Penjualan ' || merchant_ref AS "Keterangan",
       translate(format('{:,.2f}', CASE WHEN bucket = 95 THEN amount - 2500
                                        WHEN bucket = 94 THEN amount + (i % 997) + 1
                                        WHEN bucket = 98 THEN amount + 500
                                        ELSE amount END), ',.', '.,') AS "Jumlah"
FROM bench_orders WHERE bucket <> 97 AND NOT (bucket < 3 AND bucket <> 0)
UNION ALL  -- a booked-twice line for 1 % of orders
SELECT strftime(CAST(timezone('Asia/Jakarta', created_at AT TIME ZONE 'UTC') AS DATE)
                + 1, '%d/%m/%Y'), order_id, 'Penjualan ' || merchant_ref,
       translate(format('{:,.2f}', amount), ',.', '.,')
FROM bench_orders WHERE bucket = 96
"""


def prepare(n: int, folder: Path) -> tuple[Path, Path]:
    """A Rekon database holding n orders, and the ledger CSV (Indonesian style) for them."""
    import duckdb

    from rekon.store import Store

    db = folder / "bench.duckdb"
    store = Store(db)
    store.close()
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(ORDERS_SQL, {"n": n})
    con.execute(
        """
        INSERT INTO orders (provider, order_id, merchant_ref, payment_id, amount, currency,
            status, provider_status, created_at, updated_at, paid_at, business_date, raw)
        SELECT provider, order_id, merchant_ref, payment_id, amount, 'IDR', status, status,
               created_at, created_at, created_at,
               CAST(timezone('Asia/Jakarta', created_at AT TIME ZONE 'UTC') AS DATE),
               '{"id":"' || order_id || '"}'
        FROM bench_orders
        """
    )
    csv = folder / "ledger.csv"
    con.execute(f"COPY ({LEDGER_SQL}) TO '{csv}' (HEADER, DELIMITER ';', QUOTE '\"')")
    con.execute(
        f"COPY (SELECT provider, order_id, merchant_ref, payment_id, amount::VARCHAR "
        f"AS amount, status FROM bench_orders) TO '{folder / 'orders.parquet'}'"
    )
    con.execute("DROP TABLE bench_orders")
    con.close()
    return db, csv


def child_rekon(folder: Path) -> dict[str, Any]:
    from datetime import date

    from rekon.ledger import import_ledger
    from rekon.matching import ReconcileParams, reconcile
    from rekon.reports import write_export
    from rekon.store import Store
    from rekon.suggestions import suggest

    store = Store(folder / "bench.duckdb", memory_limit="1500MB")
    t0 = time.perf_counter()
    imported = import_ledger(store, folder / "ledger.csv", by=OPERATOR)
    t1 = time.perf_counter()
    run = reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 31)), by=OPERATOR)
    t2 = time.perf_counter()
    rows = write_export(store, run.run_id, "all", folder / "all.csv")
    t3 = time.perf_counter()
    found = suggest(store, run.run_id, limit=1_000)
    t4 = time.perf_counter()
    leftovers = store.scalar(
        "SELECT count(*) FROM recon_results WHERE run_id = ? AND result IN"
        " ('missing_in_ledger', 'missing_in_provider', 'ambiguous')",
        [run.run_id],
    )
    return {
        "import": t1 - t0,
        "reconcile": t2 - t1,
        "export": t3 - t2,
        "suggest": t4 - t3,
        "suggestions": len(found),
        "leftovers": leftovers,
        "lines": imported.lines_imported,
        "rows": rows,
        "rss_mb": peak_rss_mb(),
        "counts": run.counts,
    }


def child_floor(folder: Path) -> dict[str, Any]:
    """The machine's floor: DuckDB joining the stored lines to orders on the reference, kept in
    memory (the target's baseline) and, for context, written to the file as a run's are."""
    import duckdb

    con = duckdb.connect(str(folder / "bench.duckdb"))
    join = (
        "SELECT l.ledger_id, l.line_no, o.provider, o.order_id, l.amount - o.amount AS difference"
        " FROM ledger_lines l JOIN orders o ON l.reference = o.order_id"
    )
    csv = f"read_csv('{folder / 'ledger.csv'}', all_varchar = true)"
    t0 = time.perf_counter()
    con.execute(f"SELECT count(*) FROM {csv}").fetchall()
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE csv_stored AS SELECT * FROM {csv}")
    con.execute("CHECKPOINT")
    stored = time.perf_counter() - t0
    con.execute("DROP TABLE csv_stored")
    t0 = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE j AS {join}")
    n = con.execute("SELECT count(*) FROM j").fetchall()[0][0]
    t1 = time.perf_counter()
    con.execute(f"CREATE TABLE j_stored AS {join}")
    t2 = time.perf_counter()
    con.execute("DROP TABLE j_stored")
    return {"join": t1 - t0, "stored_join": t2 - t1, "pairs": n, "rss_mb": peak_rss_mb(),
            "read_csv": read, "read_csv_stored": stored}  # fmt: skip


def child_pandas(folder: Path) -> dict[str, Any]:
    """What an analyst would write: read both, merge on the reference, classify."""
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    orders = pd.read_parquet(folder / "orders.parquet")
    ledger = pd.read_csv(folder / "ledger.csv", sep=";", dtype=str, keep_default_na=False)
    ledger["amount"] = (
        ledger["Jumlah"]
        .str.replace(".", "", regex=False)
        .str.replace(",", ".", regex=False)
        .astype(float)
    )
    ledger["date"] = pd.to_datetime(ledger["Tanggal"], format="%d/%m/%Y")
    orders["amount"] = orders["amount"].astype(float)
    t1 = time.perf_counter()
    by_id = ledger.merge(
        orders, left_on="No. Referensi", right_on="order_id", how="left", suffixes=("_l", "_o")
    )
    by_id["dup"] = by_id.duplicated(subset=["order_id"]) & by_id["order_id"].notna()
    merged = by_id.merge(orders[["order_id"]], on="order_id", how="outer", indicator=True)
    merged["dup"] = merged["dup"].fillna(False).astype(bool)
    merged["result"] = np.select(
        [
            merged["_merge"] == "right_only",
            merged["order_id"].isna(),
            merged["dup"],
            merged["status"] != "paid",
            (merged["amount_l"] - merged["amount_o"]).abs() > 0,
        ],
        [
            "missing_in_ledger",
            "missing_in_provider",
            "duplicate_in_ledger",
            "status_mismatch",
            "amount_mismatch",
        ],
        default="matched",
    )
    counts = merged["result"].value_counts().to_dict()
    t2 = time.perf_counter()
    return {
        "read": t1 - t0,
        "match": t2 - t1,
        "total": t2 - t0,
        "rss_mb": peak_rss_mb(),
        "rows": len(merged),
        "counts": counts,
    }


CONTENDERS = Path(__file__).parent / "contenders"
DATACOMPY_ENV = Path.home() / ".cache" / "rekon-bench" / "datacompy"


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[str, float, float]:
    """Run a program as a user would: its output, its wall time (start-up included) and its own
    peak RSS in MB (from wait4, so no other child counts)."""
    import os
    import subprocess

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {err.read()[-2000:]}")
        return out.read(), wall, usage.ru_maxrss / 1024


def rekon_cli(folder: Path) -> dict[str, Any]:
    """Rekon's commands as a user runs them, on a copy of the prepared database (1 GB DuckDB
    budget, as a user on a small machine would set): import and reconcile, then the export of
    every result and the suggestions, each with its own wall time and peak RSS."""
    db = folder / "cli.duckdb"
    rekon = str(Path(sys.executable).parent / "rekon")
    env = {"REKON_DB": str(db), "REKON_MEMORY_LIMIT": "1GB"}
    commands = {
        "import": ["ledger", "import", str(folder / "ledger.csv")],
        "reconcile": ["reconcile", "--from", "2026-10-01", "--to", "2026-10-31"],
        "export": ["export", "--kind", "all", "--out", str(folder / "cli-all.csv")],
        "suggest": ["suggest", "--limit", "100"],
    }
    found: dict[str, Any] = {}
    for name, args in commands.items():
        _, found[name], found[f"{name}_rss"] = timed([rekon, *args], env)
    db.unlink()
    (folder / "cli.duckdb.wal").unlink(missing_ok=True)
    (folder / "cli-all.csv").unlink()
    return found


def polars_script(folder: Path) -> dict[str, Any]:
    script = str(CONTENDERS / "polars_script.py")
    out, wall, _ = timed([sys.executable, script, str(folder)])
    found: dict[str, Any] = json.loads(out)
    return found | {"wall": wall}


def datacompy_python() -> str | None:
    """A throwaway environment with datacompy (it pins polars below the project's), made once
    with uv (as `make` installs it) and kept in the user's cache; None where it cannot be
    made (offline)."""
    import shutil
    import subprocess

    python = DATACOMPY_ENV / "bin" / "python"
    if python.exists():
        return str(python)
    found = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    uv = [found] if found else ["python3", "-m", "uv"]
    for step in (
        [*uv, "venv", "-q", str(DATACOMPY_ENV), "-p", sys.executable],
        [*uv, "pip", "install", "-q", "--python", str(python), "datacompy"],
    ):
        made = subprocess.run(step, capture_output=True, text=True, check=False)
        if made.returncode != 0:
            print(f"datacompy environment not made: {made.stderr[-500:]}", file=sys.stderr)
            return None
    return str(python)


def datacompy_script(folder: Path) -> dict[str, Any] | None:
    python = datacompy_python()
    if python is None:
        return None
    out, wall, _ = timed([python, str(CONTENDERS / "datacompy_script.py"), str(folder)])
    found: dict[str, Any] = json.loads(out)
    return found | {"wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["prepare", "rekon", "floor", "pandas"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--n", type=int)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument(
        "--no-datacompy", action="store_true", help="skip datacompy (its environment needs pip)"
    )
    report_option(parser)
    args = parser.parse_args()
    if args.child:
        if args.child == "prepare":
            prepare(args.n, args.folder)
            result: dict[str, Any] = {"ok": 1}
        else:
            result = {
                "rekon": child_rekon,
                "floor": child_floor,
                "pandas": child_pandas,
            }[args.child](args.folder)
        print(json.dumps(result, default=str))
        return
    table = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            run_child("reconcile", "--child", "prepare", "--n", str(n), "--folder", tmp)
            shutil.copy(folder / "bench.duckdb", folder / "cli.duckdb")
            cli = rekon_cli(folder)
            rekon = run_child("reconcile", "--child", "rekon", "--folder", tmp)
            floor = run_child("reconcile", "--child", "floor", "--folder", tmp)
            pandas = run_child("reconcile", "--child", "pandas", "--folder", tmp)
            polars = polars_script(folder)
            datacompy = None if args.no_datacompy else datacompy_script(folder)
            size_mb = (folder / "ledger.csv").stat().st_size / 1e6
        print(n, cli, rekon, floor, pandas, polars, datacompy, file=sys.stderr)
        table.append((n, size_mb, cli, rekon, floor, pandas, polars, datacompy))
    lines = [
        "## Reconcile (`bench/reconcile.py`)",
        "",
        f"Machine: {machine()}. Orders generated in SQL (one month, both providers), a ledger "
        "CSV of the same size in Indonesian format (`;`, `DD/MM/YYYY`, `1.500.000,00`): about "
        "95 % clean matches, the rest spread over every class. Every contender in its own "
        "process, on the same files, in the same run.",
        "",
        "As a user runs them (wall, start-up included): Rekon's commands `rekon ledger import` "
        "and `rekon reconcile` (`REKON_MEMORY_LIMIT=1GB`); the polars script a user would "
        "write instead (`bench/contenders/polars_script.py`: read both, parse, join on the "
        "order id, classify — fewer matches than Rekon's tiers); datacompy's `PolarsCompare` "
        "(`bench/contenders/datacompy_script.py`, in its own environment, as datacompy pins "
        "an older polars); the pandas script in `bench/reconcile.py` (read + match, "
        "in-process).",
        "",
        "| orders | ledger CSV | `ledger import` | `reconcile` | Rekon, both | polars script "
        "| datacompy | pandas script | Rekon ÷ polars | Rekon ÷ datacompy "
        "| peak RSS: import / reconcile / polars / datacompy |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, size_mb, c, _, _, p, q, d in table:
        both = c["import"] + c["reconcile"]
        dc = f"{d['wall']:.2f} s" if d else "not run"
        dc_ratio = f"{both / d['wall']:.1f}×" if d else "–"
        dc_rss = f"{d['rss_mb']:.0f}" if d else "–"
        lines.append(
            f"| {n:,} | {size_mb:.0f} MB | {c['import']:.2f} s | {c['reconcile']:.2f} s | "
            f"{both:.2f} s | {q['wall']:.2f} s | {dc} | {p['total']:.2f} s | "
            f"{both / q['wall']:.1f}× | {dc_ratio} | {c['import_rss']:.0f} / "
            f"{c['reconcile_rss']:.0f} / {q['rss_mb']:.0f} / {dc_rss} MB |"
        )
    lines += [
        "",
        "The other commands on the same database: `rekon export --kind all` and "
        "`rekon suggest` (wall / peak RSS): "
        + "; ".join(
            f"{n:,} orders: export {c['export']:.2f} s / {c['export_rss']:.0f} MB, suggest "
            f"{c['suggest']:.2f} s / {c['suggest_rss']:.0f} MB"
            for n, _, c, *_ in table
        )
        + ".",
    ]
    lines += [
        "",
        "Inside Rekon (in-process, the same steps as functions): the import against DuckDB "
        "reading the same CSV as text (`read_csv`, all columns text) and storing it in the "
        "database file (`CREATE TABLE … AS SELECT * FROM read_csv(…)`, the floor of any import "
        "that keeps its lines); the reconcile against the bare inner join on the reference.",
        "",
        "| orders | import | `read_csv` as text | `read_csv` stored | import ÷ `read_csv` "
        "| import ÷ stored | reconcile | bare join | reconcile ÷ join | export `all` "
        "| peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, _, _, r, f, _, _, _ in table:
        lines.append(
            f"| {n:,} | {r['import']:.2f} s | {f['read_csv']:.2f} s | {f['read_csv_stored']:.2f} s"
            f" | {r['import'] / f['read_csv']:.1f}× | {r['import'] / f['read_csv_stored']:.1f}× | "
            f"{r['reconcile']:.2f} s | {f['join']:.2f} s | {r['reconcile'] / f['join']:.1f}× | "
            f"{r['export']:.2f} s | {r['rss_mb']:.0f} MB |"
        )
    if len(table) > 1:
        (n0, r0), (n1, r1) = (table[0][0], table[0][3]), (table[-1][0], table[-1][3])
        lines += [
            "",
            f"Growth from {n0:,} to {n1:,} orders ({n1 / n0:.0f}×): import "
            f"{r1['import'] / r0['import']:.1f}×, "
            f"reconcile {r1['reconcile'] / r0['reconcile']:.1f}×.",
        ]
    last = table[-1][3]["counts"]
    lines += [
        "",
        "Result classes at the largest size: "
        + ", ".join(f"{k} {v:,}" for k, v in last.items())
        + ".",
        "",
        "Suggested matches for the run's leftovers (`suggestions.suggest`, best 1.000 kept): "
        + "; ".join(
            f"{n:,} orders, {r['leftovers']:,} leftovers: {r['suggest']:.2f} s, "
            f"{r['suggestions']:,} suggestions"
            for n, _, _, r, *_ in table
        )
        + ".",
    ]
    write_section("reconcile", "\n".join(lines), args.report)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
