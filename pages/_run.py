"""The reconcile page's run summary: each class's count and amount, and, when the period was
reconciled before, how the results moved since."""

import polars as pl
import streamlit as st

from pages._display import count, idr, table
from pages._workspace import query
from rekon import results
from rekon.matching import class_name
from rekon.workspace import Workspace


def run_summary(ws: Workspace, runs: pl.DataFrame, run_id: int) -> None:
    totals = query(ws, results.class_totals, run_id)
    cols = st.columns(4)
    for i, row in enumerate(totals.iter_rows(named=True)):
        cols[i % 4].metric(
            class_name(row["result"]),
            count(row["count"]),
            delta=idr(row["amount"]),  # the class's amount, not a change: no arrow
            delta_color="off",
            delta_arrow="off",
        )
    earlier = [i for i in runs["id"].to_list() if i < run_id]
    # On demand: comparing two runs joins a million keys with a million at month-end scale.
    if earlier and st.toggle(f"What changed since run {earlier[0]}"):
        moved = query(ws, results.run_changes, earlier[0], run_id)
        if moved.is_empty():
            st.caption("No result changed class.")
            return
        table(
            moved.with_columns(
                pl.col("before").str.replace_all("_", " ").fill_null("(new)"),
                pl.col("after").str.replace_all("_", " ").fill_null("(gone)"),
            ),
            column_config={
                "before": f"In run {earlier[0]}",
                "after": f"In run {run_id}",
                "results": "Results",
            },
        )
