"""Reconcile: run a period, see every class, work the exceptions (single and in bulk)."""

from decimal import Decimal

import polars as pl
import streamlit as st

from pages.ui.address import seed
from pages.ui.display import attempt, count, ledger_labels
from pages.ui.item import work_one_item
from pages.ui.pairing_panel import basket, suggestions_tab
from pages.ui.people import can, me, role_note
from pages.ui.period import period, period_label, period_warnings, run_label
from pages.ui.results_table import results_table
from pages.ui.run import run_summary
from pages.ui.settlements import settlements_tab
from pages.ui.workspace import query, workspace
from rekon import results
from rekon.access import Role
from rekon.ledger import list_ledgers
from rekon.matching import ReconcileParams, reconcile
from rekon.periods import day_range

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
    role_note(Role.REVIEWER, "run a reconciliation")
    if st.form_submit_button("Run reconciliation", type="primary", disabled=not can(Role.REVIEWER)):
        params = ReconcileParams(start, end, tuple(chosen), Decimal(int(tolerance)), int(window))
        summary = None
        if chosen or ledgers.is_empty():
            summary = attempt(lambda: reconcile(ws.store, params, me()))
        else:  # no ids means every ledger to the library: not what clearing the box says
            st.error("Choose at least one ledger to reconcile against.")
        if summary:
            st.session_state["f_run"] = summary.run_id  # show the run just made
            st.success(
                f"Run {summary.run_id}: {count(summary.exceptions)} exceptions "
                f"({summary.seconds:.1f} s)",
                icon=":material/check_circle:",
            )

runs = query(ws, results.runs_for_period, start, end)
within = None
if runs.is_empty():
    # A range inside a reconciled period (15–20 Oct): that period's run, its results dated in
    # the range.
    runs = query(ws, results.covering_runs, start, end)
    within = (start, end) if runs.height else None
if runs.is_empty():
    st.info(
        "No reconciliation for this period yet."
        + ("" if ledgers.height else " Import a ledger on the **Ledger** page first.")
    )
    st.stop()

run_ids = runs["id"].to_list()
seed("f_run", "run", lambda r: int(r) if int(r) in run_ids else run_ids[0])
run_id = st.selectbox("Run", run_ids, format_func=lambda i: run_label(runs, i), key="f_run")
if within:
    r = runs.filter(pl.col("id") == run_id).row(0, named=True)
    st.info(
        f"Run {run_id} reconciled {day_range(r['period_from'], r['period_to'])}: shown here "
        f"are its results dated {day_range(start, end)}."
    )

run_summary(ws, runs, run_id, within)

results_tab, suggestions_tab_, settlements_tab_ = st.tabs(["Results", "Suggestions", "Settlements"])
with suggestions_tab_:  # drawn first: an empty filter below stops the page
    suggestions_tab(ws, run_id)
with settlements_tab_:
    settlements_tab(ws, run_id)
with results_tab:
    page, selected = results_table(ws, run_id, within)
    basket(ws, page, selected)
st.subheader("Item")
work_one_item(ws, run_id, page, selected)
