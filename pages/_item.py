"""The reconcile page's item panel: one result beside its order and ledger line, its review
history, and the form that records a decision on it (or on the whole page of results)."""

import json

import polars as pl
import streamlit as st

from pages._shared import attempt, flash_and_rerun, idr, show_flash, table
from rekon import reviews
from rekon.providers.base import provider_title
from rekon.reports import result_detail
from rekon.workspace import Workspace


def work_one_item(ws: Workspace, run_id: int, page: pl.DataFrame) -> None:
    keys = page["result_key"].to_list()
    key = st.selectbox(
        "Look at",
        keys,
        format_func=lambda k: f"{k} · " + page.filter(page["result_key"] == k)["result"][0],
    )
    detail = result_detail(ws.store, run_id, key)
    left, right = st.columns(2)
    with left:
        st.markdown("**Order**")
        if order := detail["order"]:
            st.write(
                f"{provider_title(order['provider'])} {order['order_id']} · {order['status']} · "
                f"{order['business_date']} · {idr(order['amount'])}"
            )
            st.caption(order["merchant_ref"] or "")
            with st.expander("As the provider sent it"):
                st.json(json.loads(order["raw"]))
        else:
            st.caption("No order.")
    with right:
        st.markdown("**Ledger line**")
        line = detail["line"]
        if line:
            st.write(
                f"Ledger {line['ledger_id']}, line {line['line_no']} · {line['entry_date']} · "
                f"{line['reference'] or '(no reference)'} · {idr(line['amount'])}"
            )
            st.caption(line["description"] or "")
        else:
            st.caption("No ledger line.")
    history = reviews.history(ws.store, key)
    if history.height:
        table(
            history,
            column_config={
                "seq": "#",
                "decision": "Decision",
                "note": "Note",
                "reviewer": "Reviewer",
                "reviewed_at": "When",
                "run_id": "In run",
            },
        )

    show_flash()
    with st.form("review"):
        decision = st.radio("Decision", ["accept", "resolve", "reopen"], horizontal=True)
        note = st.text_area("Note (required to resolve)", key="review_note")
        reviewer = st.text_input("Reviewer", value=ws.settings.reviewer)
        bulk = st.checkbox(f"Apply to all {page.height} results on this page", key="review_bulk")
        if st.form_submit_button("Record decision", type="primary"):
            targets = keys if bulk else [key]
            verb = {"accept": "accepted", "resolve": "resolved", "reopen": "reopened"}[decision]
            done = attempt(lambda: reviews.record(ws.store, targets, verb, reviewer, note, run_id))
            if done:  # the table, totals and history above must show it at once
                # A note or "apply to all" left in place would ride along with the next decision.
                for left_over in ("review_note", "review_bulk"):
                    del st.session_state[left_over]
                flash_and_rerun(f"Recorded {verb} for {done} item(s).")
