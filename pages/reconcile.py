"""Reconcile: run a period, see every class, work the exceptions (single and in bulk)."""

from decimal import Decimal

import polars as pl
import streamlit as st

from pages.ui.display import as_read, attempt, count, ledger_labels, table
from pages.ui.item import decisions_made, work_one_item
from pages.ui.period import period, period_label, period_warnings, run_label
from pages.ui.run import run_summary
from pages.ui.workspace import query, workspace
from rekon import results
from rekon.ledger import list_ledgers
from rekon.matching import EXCEPTIONS, RESULTS, ReconcileParams, class_name, reconcile
from rekon.providers.base import PROVIDER_TITLES, provider_title
from rekon.results import ResultFilter, results_page

PAGE_SIZE = 100
ws = workspace()
start, end = period()
st.title(f"Reconcile · {period_label(start, end)}")
period_warnings(ws, start, end)

ledgers = query(ws, list_ledgers)
earlier_runs = query(ws, results.runs_for_period, start, end)
# The form starts from this period, never from the last one's choices: the ledgers dated
# within it, and the tolerance and window of its latest run (else the defaults). Its widgets
# are keyed by the period, so switching periods starts afresh.
dated_here = ledgers.filter((pl.col("date_from") <= end) & (pl.col("date_to") >= start))
last = earlier_runs.row(0, named=True) if earlier_runs.height else None
with (
    st.expander("Run a reconciliation", expanded=ledgers.height > 0 and earlier_runs.is_empty()),
    st.form(f"run_{start}_{end}"),
):
    st.caption(
        "Starts from the ledgers dated within this period and "
        + (
            f"the tolerance and window of run {last['id']}."
            if last
            else "the default tolerance and window."
        )
    )
    names = ledger_labels(ledgers)
    chosen = st.multiselect(
        "Ledgers", list(names), dated_here["id"].to_list(), format_func=names.__getitem__,
        key=f"run_ledgers_{start}_{end}",
    )  # fmt: skip
    left, right = st.columns(2)
    tolerance = left.number_input(
        "Amount tolerance (Rp)", 0, 1_000_000, int(last["amount_tolerance"]) if last else 0,
        step=100, key=f"run_tolerance_{start}_{end}",
    )  # fmt: skip
    window = right.number_input(
        "Date window (days)", 0, 31, int(last["date_window"]) if last else 3,
        key=f"run_window_{start}_{end}",
    )  # fmt: skip
    if st.form_submit_button("Run reconciliation", type="primary"):
        params = ReconcileParams(start, end, tuple(chosen), Decimal(int(tolerance)), int(window))
        summary = None
        if chosen or ledgers.is_empty():
            summary = attempt(lambda: reconcile(ws.store, params, ws.settings.reviewer))
        else:  # no ids means every ledger to the library: not what clearing the box says
            st.error("Choose at least one ledger to reconcile against.")
        if summary:
            st.success(
                f"Run {summary.run_id}: {count(summary.exceptions)} exceptions "
                f"({summary.seconds:.1f} s)",
                icon=":material/check_circle:",
            )

runs = query(ws, results.runs_for_period, start, end)
if runs.is_empty():
    st.info(
        "No reconciliation for this period yet."
        + ("" if ledgers.height else " Import a ledger on the **Ledger** page first.")
    )
    st.stop()


run_id = st.selectbox("Run", runs["id"].to_list(), format_func=lambda i: run_label(runs, i))

run_summary(ws, runs, run_id)

st.subheader("Results")
# The classes get the whole width: in a narrow column their chips were cut unreadable.
classes = st.multiselect("Result", RESULTS, default=list(EXCEPTIONS), format_func=class_name)
f2, f3, f4 = st.columns([2, 2, 3])
providers = f2.multiselect("Provider", list(PROVIDER_TITLES), format_func=provider_title)
review = f3.multiselect("Review", ["open", "accepted", "resolved"])
search = f4.text_input("Search id, reference, description, customer or amount")
flt = ResultFilter(tuple(classes), tuple(providers), tuple(review), search)
total = results_page(ws.store, run_id, flt, 0, 1)[1]  # the count decides the pages
page_count = max(1, -(-total // PAGE_SIZE))
page_no = st.number_input(f"Page (of {page_count}; {count(total)} results)", 1, page_count, 1)
page, _ = results_page(ws.store, run_id, flt, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
# What a reviewer decides on comes first, within 1024 px: the class, the review, which item
# (an order, or a ledger line by its reference), and the amounts; the rest after.
COLUMNS = {
    "result": "Result",
    "review_status": st.column_config.TextColumn("Review", width=96),  # fits "accepted"
    "item": "Order or ledger line",
    "order_amount": "Order amount",
    "ledger_amount": "Ledger amount",
    "difference": "Difference",
    "order_date": "Order date",
    "ledger_date": "Ledger date",
    "merchant_ref": "Merchant ref",
    "ledger_reference": "Ledger reference",
    "rule": "Matched on",
    "review_note": "Note",
    "result_key": "Key",
}
if page.is_empty():
    st.info("No result matches these filters.", icon=":material/filter_alt_off:")
    st.stop()
item = (
    pl.when(pl.col("order_id").is_not_null())
    .then(pl.format("{} {}", "provider", "order_id"))
    .otherwise(
        pl.format(
            "Ledger {} line {} · {}",
            "ledger_id",
            "ledger_line",
            pl.col("ledger_reference").fill_null("(no reference)"),
        )
    )
)
grid = table(
    as_read(page).with_columns(item.alias("item")).select(list(COLUMNS)),
    "order_amount",
    "ledger_amount",
    "difference",
    column_config=COLUMNS,
    height=min(420, 38 + 35 * page.height),
    # A key per view: a selection belongs to the rows it was made on, not to the next page.
    key=f"results_{run_id}_{page_no}_{abs(hash(flt))}_{decisions_made()}",
    on_select="rerun",
    selection_mode="multi-row",
)
st.caption("Select rows to look at them and to decide on several at once.")

st.subheader("Item")
work_one_item(ws, run_id, page, [page["result_key"][i] for i in grid.selection.rows])
