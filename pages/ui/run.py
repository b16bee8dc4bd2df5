"""The reconcile page's run summary: each class's count and amount, and, when the period was
reconciled before, how the results moved since."""

from datetime import date

import polars as pl
import streamlit as st

from pages.ui.display import as_read, class_words, count, table
from pages.ui.workspace import query
from rekon import results
from rekon.classes import EXCEPTIONS
from rekon.workspace import Workspace

MOVED_SHOWN = 100
MOVED_COLUMNS = {"result_key": "Key", "provider": "Provider", "order_id": "Order",
                 "ledger_line": "Ledger line", "order_amount": "Order amount",
                 "ledger_amount": "Ledger amount"}  # fmt: skip


def run_summary(
    ws: Workspace, runs: pl.DataFrame, run_id: int, within: tuple[date, date] | None = None
) -> None:
    """Each class's count and amount (of the results dated `within`, when given), and what
    moved since the previous run of the period."""
    totals = query(ws, results.class_totals, run_id, (), within)
    # A table rather than tiles: at 1024 px a tile cut its amount and review progress short.
    is_exception = pl.col("result").is_in(EXCEPTIONS)
    summary = totals.select(
        class_words("result"),
        "count",
        "amount",
        # Review progress of the exceptions; other classes take no decision.
        pl.when(is_exception).then(pl.col("still_open")).alias("still_open"),
        pl.when(is_exception).then(pl.col("count") - pl.col("still_open")).alias("decided"),
    )
    table(
        summary,
        "amount",
        counts=("count", "still_open", "decided"),
        column_config={
            "result": "Result",
            "count": "Results",
            "amount": "Amount",
            "still_open": "Still open",
            "decided": "Decided",
        },
        key=f"classes_{run_id}",
    )
    earlier = [i for i in runs["id"].to_list() if i < run_id]
    # On demand: comparing two runs joins a million keys with a million at month-end scale.
    if earlier and st.toggle(f"What changed since run {earlier[0]}"):
        moved = query(ws, results.run_changes, earlier[0], run_id)
        if moved.is_empty():
            st.caption("No result changed class.")
            return
        shown = moved.with_columns(
            class_words("before").fill_null("(new)"),
            class_words("after").fill_null("(gone)"),
        )
        table(
            shown,
            column_config={
                "before": f"In run {earlier[0]}",
                "after": f"In run {run_id}",
                "results": "Results",
            },
        )
        # Which results moved, one pair of classes at a time.
        pick = st.selectbox(
            "Show the results that moved",
            range(moved.height),
            format_func=lambda i: f"{shown['before'][i]} → {shown['after'][i]}",
        )
        was, now, n = moved.row(pick)
        which = query(ws, results.moved_results, earlier[0], run_id, was, now, MOVED_SHOWN)
        table(
            as_read(which.drop("ledger_id")),
            "order_amount",
            "ledger_amount",
            column_config=MOVED_COLUMNS,
        )
        if n > MOVED_SHOWN:
            st.caption(
                f"The first {MOVED_SHOWN} of {count(n)}, by key; the exports of each run "
                "hold them all."
            )
