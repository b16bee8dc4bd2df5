"""Settlements benchmark: the reconcile benchmark's month, reconciled as today without payouts
(the baseline) and with every paid order's payout, a deposit line per payout and a rate card —
side by side on copies of one imported store, alternating, the median of each.

Run: `.venv/bin/python -m bench.settlements` (or `make bench`). Target (issue #20): with
settlement details the reconcile takes at most 1.5× the time it takes without them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import machine, report_option, run_child, write_section
from tests.factories import OPERATOR

TARGET = 1.5
# Every paid order's payout: a method by its number, D+0 … D+5 by method, the sandbox's rates
# (with VAT), one payout per provider, settlement day and method.
PAYMENTS_SQL = """
INSERT INTO settlement_payments (provider, settlement_id, payment_id, order_id,
    order_reference, gross, fee, net, payment_date, settled_at, method, source_id)
WITH p AS (
    SELECT provider, order_id, payment_id, merchant_ref, amount, paid_at,
           ['QRIS', 'BCA', 'MANDIRI', 'DANA', 'OVO', 'CARD'][CAST(1 + hash(order_id) % 6
                                                              AS BIGINT)] AS method,
           CAST(hash(order_id) % 6 AS INTEGER) AS delay
    FROM orders WHERE status = 'paid'
), f AS (
    SELECT *, CAST(round((amount * CASE method WHEN 'QRIS' THEN 0.7 WHEN 'CARD' THEN 2.9
                                               WHEN 'DANA' THEN 1.5 WHEN 'OVO' THEN 1.5
                                               ELSE 0 END / 100
                          + CASE method WHEN 'BCA' THEN 4000 WHEN 'MANDIRI' THEN 4000
                                        WHEN 'CARD' THEN 2000 ELSE 0 END) * 1.11, 0)
                   AS DECIMAL(18, 2)) AS fee,
           date_trunc('day', paid_at + INTERVAL 7 HOUR) + INTERVAL (delay) DAY
               + INTERVAL 3 HOUR AS settled_at
    FROM p
)
SELECT provider, 'set_' || provider || '_' || strftime(settled_at, '%Y%m%d') || '_' || method,
       payment_id, order_id, merchant_ref, amount, fee, amount - fee, paid_at, settled_at,
       method, 1
FROM f
"""
SETTLEMENTS_SQL = """
INSERT INTO settlements (provider, settlement_id, settled_at, settled_date, gross, fee, promo,
    net, status, raw, source_id)
SELECT provider, settlement_id, min(settled_at), CAST(min(settled_at) + INTERVAL 7 HOUR AS DATE),
       sum(gross), sum(fee), 0, sum(net), 'settled', NULL, 1
FROM settlement_payments GROUP BY ALL
"""
CARD = (("QRIS", "0.7", "0"), ("BCA", "0", "4000"), ("MANDIRI", "0", "4000"),
        ("DANA", "1.5", "0"), ("OVO", "1.5", "0"), ("CARD", "2.9", "2000"))  # fmt: skip


def prepare(folder: Path) -> None:
    """From the reconcile benchmark's store and ledger: `plain.duckdb` with the ledger
    imported, and `payouts.duckdb`, the same with the payouts, a deposit line for each (a
    ledger of their own) and the rate card."""
    from rekon import fee_rates
    from rekon.ledger import import_ledger
    from rekon.store import Store

    store = Store(folder / "bench.duckdb", memory_limit="1500MB")
    import_ledger(store, folder / "ledger.csv", by=OPERATOR)
    store.close()
    shutil.copy(folder / "bench.duckdb", folder / "plain.duckdb")
    store = Store(folder / "bench.duckdb", memory_limit="1500MB")
    with store.write() as cur:
        cur.execute(PAYMENTS_SQL)
        cur.execute(SETTLEMENTS_SQL)
        cur.execute(
            "INSERT INTO settlement_sources VALUES (1, 'durianpay', 'api', NULL, NULL, NULL,"
            " NULL, DATE '2026-09-25', DATE '2026-11-15', 0, 0, 'bench', now()::TIMESTAMP),"
            " (2, 'xepeng', 'report', NULL, NULL, NULL, NULL, DATE '2026-09-25',"
            " DATE '2026-11-15', 0, 0, 'bench', now()::TIMESTAMP)"
        )
        deposits = folder / "deposits.csv"
        cur.execute(
            "COPY (SELECT strftime(settled_date, '%d/%m/%Y') AS \"Tanggal\","
            ' settlement_id AS "No. Referensi", \'Setoran\' AS "Keterangan",'
            ' net::VARCHAR AS "Jumlah" FROM settlements ORDER BY settled_at)'
            f" TO '{deposits}' (HEADER, DELIMITER ';')"
        )
    for method, percent, fixed in CARD:
        for provider in ("xepeng", "durianpay"):
            fee_rates.set_rate(store, provider, method, percent=percent, fixed=fixed, by=OPERATOR)
    import_ledger(store, deposits, by=OPERATOR)
    store.close()
    shutil.move(folder / "bench.duckdb", folder / "payouts.duckdb")


def child_reconcile(db: Path) -> dict[str, Any]:
    from rekon.matching import ReconcileParams, reconcile
    from rekon.store import Store

    store = Store(db, memory_limit="1500MB")
    began = time.perf_counter()
    run = reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 31)), by=OPERATOR)
    seconds = time.perf_counter() - began
    settled = store.scalar("SELECT count(*) FROM settlement_results WHERE run_id = ?", [run.run_id])
    grouped = store.scalar(
        "SELECT count(*) FROM recon_results WHERE run_id = ? AND rule = 'settlement'",
        [run.run_id],
    )
    with_fee = store.scalar(
        "SELECT count(*) FROM recon_results WHERE run_id = ? AND fee IS NOT NULL", [run.run_id]
    )
    store.close()
    return {"seconds": seconds, "settlements": settled, "grouped": grouped, "fees": with_fee}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["prepare", "reconcile"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--runs", type=int, default=3)
    report_option(parser)
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(args.folder)
        print(json.dumps({"ok": 1}))
        return
    if args.child == "reconcile":
        print(json.dumps(child_reconcile(args.db)))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            run_child("reconcile", "--child", "prepare", "--n", str(n), "--folder", tmp)
            run_child("settlements", "--child", "prepare", "--folder", tmp)
            plain: list[dict[str, Any]] = []
            payouts: list[dict[str, Any]] = []
            for _ in range(args.runs):  # alternating, each on a fresh copy, in its own process
                for name, into in (("plain", plain), ("payouts", payouts)):
                    copy = folder / f"run-{name}.duckdb"
                    shutil.copy(folder / f"{name}.duckdb", copy)
                    into.append(run_child("settlements", "--child", "reconcile", "--db", str(copy)))
                    copy.unlink()
        base = statistics.median(r["seconds"] for r in plain)
        with_payouts = statistics.median(r["seconds"] for r in payouts)
        last = payouts[-1]
        rows.append((n, base, with_payouts, last))
    lines = [
        "## Reconcile with settlements",
        "",
        f"`make bench` on {machine()}; `python -m bench.settlements`. The reconcile benchmark's "
        "month (its ledger imported), reconciled as before (baseline) and with every paid "
        "order's payout in `settlement_payments` (one payout per provider, day and method, "
        "D+0 … D+5), a ledger of a deposit line per payout and the rate card — each run a "
        f"fresh copy in its own process, alternating, the median of {args.runs}. Target: at "
        f"most {TARGET}× the baseline.",
        "",
        "| orders | baseline reconcile | with settlements | ratio | target | payouts judged |"
        " deposit-group rows | results with a fee |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, base, with_payouts, last in rows:
        ratio = with_payouts / base
        lines.append(
            f"| {n:,} | {base:.2f} s | {with_payouts:.2f} s | {ratio:.2f}× | "
            f"{'met' if ratio <= TARGET else 'NOT met'} (≤ {TARGET}×) | {last['settlements']:,} |"
            f" {last['grouped']:,} | {last['fees']:,} |"
        )
    write_section("settlements", "\n".join(lines), args.report)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
