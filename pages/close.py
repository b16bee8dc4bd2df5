"""Close: a period's sign-off — its state and history, sign off on a run, reopen with a reason."""

import polars as pl
import streamlit as st

from pages.ui.display import attempt, count, flash_and_rerun, show_flash, table
from pages.ui.people import can, me, role_note
from pages.ui.period import period, period_label, run_label
from pages.ui.signoff import changed_orders
from pages.ui.text import plain
from pages.ui.workspace import query, settings, workspace
from rekon import closing, results
from rekon.access import Role

ws = workspace()
start, end = period()
st.title(f"Close · {period_label(start, end)}")
show_flash()

status = query(ws, closing.status, start, end)
signed = status.current
if signed is None:
    st.info(
        plain(status.lines()[0] + "."),
        icon=":material/lock_open:",
    )
elif status.state == "lapsed":
    st.warning(plain(f"{signed.line()}; LAPSED since."), icon=":material/history:")
    st.markdown("**Orders that changed at the provider after the sign-off**")
    changed_orders(status.changes)
else:
    st.success(plain(f"{signed.line()}; locked."), icon=":material/lock:")

if signed is None:
    st.subheader("Sign off")
    runs = query(ws, results.runs_for_period, start, end)
    if runs.is_empty():
        st.caption("Reconcile this period first: a sign-off stands on a run of the period.")
    elif not can(Role.APPROVER):
        role_note(Role.APPROVER, "sign off a period")
    else:
        run_id = st.selectbox(
            "On run", runs["id"].to_list(), format_func=lambda i: run_label(runs, i)
        )
        open_now = query(ws, closing.open_exceptions, int(run_id))
        four_eyes = settings().four_eyes
        with st.form(f"signoff_{start}_{end}"):
            if open_now:
                st.warning(
                    f"{count(open_now)} exception(s) of this run are still open. Signing off "
                    "anyway records how many, with your note.",
                    icon=":material/pending_actions:",
                )
                confirm = st.checkbox(f"Sign off with {count(open_now)} exception(s) open")
            else:
                confirm = False
            note = st.text_area("Note", placeholder="e.g. all differences booked in November")
            if four_eyes:
                st.caption("Four eyes: whoever decided on this run's items cannot sign it off.")
            if st.form_submit_button(f"Sign off {period_label(start, end)}", type="primary"):
                done = attempt(
                    lambda: closing.signoff(
                        ws.store,
                        start,
                        end,
                        int(run_id),
                        me(),
                        note,
                        confirm_open=confirm,
                        four_eyes=four_eyes,
                    )
                )
                if done is not None:
                    flash_and_rerun(f"Signed off (version {done.version}): the period is locked.")
else:
    st.subheader("Reopen")
    if not can(Role.APPROVER):
        role_note(Role.APPROVER, "reopen a period")
    else:
        with st.form(f"reopen_{start}_{end}"):
            reason = st.text_input("Reason", placeholder="e.g. late refund on 30 October")
            if st.form_submit_button(f"Reopen {period_label(start, end)}"):
                done = attempt(lambda: closing.reopen(ws.store, start, end, me(), reason))
                if done is not None:
                    flash_and_rerun(f"{signed.period} reopened: its dates are unlocked.")

st.subheader("History")
if status.history.is_empty():
    st.caption("Never signed off.")
else:
    zone = settings().timezone
    history = status.history.with_columns(
        pl.col("happened_at")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(zone)
        .dt.strftime("%d %b %Y %H:%M")
    )
    table(
        history,
        column_config={
            "happened_at": "When",
            "event": "What",
            "actor": "Who",
            "version": "Version",
            "detail": "Detail",
        },
    )
