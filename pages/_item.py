"""The reconcile page's item panel: one result beside its order and ledger line, its review
history, and the form that records a decision on it, on the rows selected in the table, or on
the whole page of results."""

import json
from typing import Any

import polars as pl
import streamlit as st

from pages._display import attempt, day, flash_and_rerun, idr, show_flash, table
from pages._text import plain
from rekon import reviews
from rekon.matching import EXCEPTIONS, class_name
from rekon.providers.base import provider_title
from rekon.results import result_detail
from rekon.workspace import Workspace


def describe(row: dict[str, Any]) -> str:
    """One result as a reviewer names it: what it is, whose, and the amounts on each side."""
    if row["order_id"]:
        who = f"{provider_title(row['provider'])} {row['order_id']}"
    else:
        who = f"ledger {row['ledger_id']}, line {row['ledger_line']}"
    amounts = " vs ".join(
        idr(row[c]) for c in ("order_amount", "ledger_amount") if row[c] is not None
    )
    return f"{class_name(row['result'])} · {who} · {amounts}"


def work_one_item(ws: Workspace, run_id: int, page: pl.DataFrame, selected: list[str]) -> None:
    keys = page["result_key"].to_list()
    key = st.selectbox(
        "Look at",
        keys,
        index=keys.index(selected[0]) if selected else 0,
        format_func=lambda k: describe(page.row(keys.index(k), named=True)),
        key=f"look_at_{selected[0] if selected else ''}",  # a new selection shows its first row
    )
    detail = result_detail(ws.store, run_id, key)
    left, right = st.columns(2)
    with left:
        st.markdown("**Order**")
        if order := detail["order"]:
            st.write(
                plain(
                    f"{provider_title(order['provider'])} {order['order_id']} · "
                    f"{order['status']} · {day(order['business_date'])} · {idr(order['amount'])}"
                )
            )
            st.caption(plain(order["merchant_ref"] or ""))
            with st.expander("As the provider sent it"):
                st.json(json.loads(order["raw"]))
        else:
            st.caption("No order.")
    with right:
        st.markdown("**Ledger line**")
        line = detail["line"]
        if line:
            st.write(
                plain(
                    f"Ledger {line['ledger_id']}, line {line['line_no']} · "
                    f"{day(line['entry_date'])} · {line['reference'] or '(no reference)'} · "
                    f"{idr(line['amount'])}"
                )
            )
            st.caption(plain(line["description"] or ""))
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
    # Outside the form, which clears on submit: the name holds for the whole session.
    reviewer = st.text_input("Reviewer", value=ws.settings.reviewer, key="reviewer")
    # Cleared once submitted: a note or a wide scope left in place would ride along with the
    # next decision (deleting the values from session state does not reach the browser).
    with st.form("review", clear_on_submit=True):
        decision = st.radio("Decision", ["accept", "resolve", "reopen"], horizontal=True)
        note = st.text_area("Note (required to resolve)")
        scopes = {"this result": [key]}
        if len(selected) > 1:
            scopes[f"the {len(selected)} selected results"] = selected
        scopes[f"all {page.height} results on this page"] = keys
        scope = st.radio("Apply to", list(scopes), horizontal=True)
        if st.form_submit_button("Record decision", type="primary"):
            chosen = scopes.get(scope or "", [key])
            # A page or a selection may mix in results that need no decision: only exceptions
            # take one (with none among them, the refusal below says why).
            exceptions = set(page.filter(pl.col("result").is_in(EXCEPTIONS))["result_key"])
            targets = [k for k in chosen if k in exceptions] or chosen
            skipped = len(chosen) - len(targets)
            verb = {"accept": "accepted", "resolve": "resolved", "reopen": "reopened"}[decision]
            done = attempt(lambda: reviews.record(ws.store, targets, verb, reviewer, note, run_id))
            if done:  # the table, totals and history above must show it at once
                flash_and_rerun(
                    f"Recorded {verb} for {done} item(s)."
                    + (
                        f" {skipped} matched or unpaid result(s) need no decision."
                        if skipped
                        else ""
                    )
                )
