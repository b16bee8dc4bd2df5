"""The polars script a user would write instead of Rekon: read both, parse, join on the order
id, classify (it joins on the order id only, so it finds fewer matches than Rekon's tiers).
Run: python polars_script.py FOLDER; prints its counts as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import polars as pl


def main(folder: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    orders = pl.read_parquet(folder / "orders.parquet").with_columns(
        pl.col("amount").cast(pl.Decimal(18, 2))
    )
    ledger = pl.read_csv(folder / "ledger.csv", separator=";", infer_schema=False).with_columns(
        pl.col("Jumlah").str.replace_all(".", "", literal=True).str.replace(",", ".",
            literal=True).cast(pl.Decimal(18, 2)).alias("amount_l"),
        pl.col("Tanggal").str.to_date("%d/%m/%Y").alias("date"),
    )  # fmt: skip
    t1 = time.perf_counter()
    joined = ledger.join(
        orders, left_on="No. Referensi", right_on="order_id", how="full", coalesce=True
    )
    dup = pl.col("No. Referensi").is_duplicated() & pl.col("provider").is_not_null()
    result = (
        pl.when(pl.col("amount_l").is_null()).then(pl.lit("missing_in_ledger"))
        .when(pl.col("provider").is_null()).then(pl.lit("missing_in_provider"))
        .when(dup).then(pl.lit("duplicate_in_ledger"))
        .when(pl.col("status") != "paid").then(pl.lit("status_mismatch"))
        .when(pl.col("amount_l") != pl.col("amount")).then(pl.lit("amount_mismatch"))
        .otherwise(pl.lit("matched"))
    )  # fmt: skip
    counts = dict(joined.select(result.alias("result"))["result"].value_counts().iter_rows())
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"read": t1 - t0, "match": t2 - t1, "total": t2 - t0, "rss_mb": rss, "counts": counts}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
