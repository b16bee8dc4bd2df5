"""datacompy's PolarsCompare on the same files: the ledger's reference as the order id, the
amounts compared. Runs in its own throwaway environment (datacompy pins an older polars), made
by `bench/reconcile.py`. Run: python datacompy_script.py FOLDER; prints its counts as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import datacompy
import polars as pl


def main(folder: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    orders = pl.read_parquet(folder / "orders.parquet").select(
        "order_id", pl.col("amount").cast(pl.Float64)
    )
    ledger = pl.read_csv(folder / "ledger.csv", separator=";", infer_schema=False).select(
        pl.col("No. Referensi").alias("order_id"),
        pl.col("Jumlah").str.replace_all(".", "", literal=True).str.replace(",", ".",
            literal=True).cast(pl.Float64).alias("amount"),
    )  # fmt: skip
    t1 = time.perf_counter()
    compare = datacompy.PolarsCompare(orders, ledger, join_columns="order_id", abs_tol=0.001)
    counts = {
        "missing_in_ledger": compare.df1_unq_rows.height,
        "missing_in_provider": compare.df2_unq_rows.height,
        "amount_mismatch": compare.all_mismatch().height,
        "matched": compare.count_matching_rows(),
    }
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"read": t1 - t0, "match": t2 - t1, "total": t2 - t0, "rss_mb": rss, "counts": counts,
            "version": datacompy.__version__}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
