"""The reconcile page's item panel: one result beside its order and ledger line, its review
history, and the form that records a decision on it, on the rows selected in the table, or on
the whole page of results."""

import json
from typing import Any

import polars as pl
import streamlit as st

from pages.ui.display import (
    attempt,
    clear_selection,
    decisions_made,
    flash_and_rerun,
    idr,
    show_flash,
    table,
)
from pages.ui.pairing_panel import manual_panel
from pages.ui.people import can, me, role_note
from pages.ui.text import plain
from rekon import reviews
from rekon.access import Role
from rekon.classes import EXCEPTIONS, class_name
from rekon.periods import day
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
    open_keys = page.filter(pl.col("review_status") == "open")["result_key"].to_list()
    # What the panel shows is what "this result" decides on: the first selected row, else the
    # first open item (after a decision the selection is cleared, so this moves on).
    shown = selected[0] if selected else (open_keys[0] if open_keys else keys[0])
    key = st.selectbox(
        "Look at",
        keys,
        index=keys.index(shown),
        format_func=lambda k: describe(page.row(keys.index(k), named=True)),
        # A new selection or decision shows its row; otherwise the item stays the one on
        # screen, even when a rerun finds it decided meanwhile (from another tab).
        key=f"look_at_{selected[0] if selected else ''}_{decisions_made()}",
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
    manual_panel(ws, detail["result"])
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
    review_form(ws, run_id, page, key, selected)


# A decision on more items than this asks the reviewer to confirm the count first.
CONFIRM_ABOVE = 20


def review_form(
    ws: Workspace, run_id: int, page: pl.DataFrame, key: str, selected: list[str]
) -> None:
    keys = page["result_key"].to_list()
    # Each item's latest review as the reviewer's screen showed it, from the run before this
    # one: a decision made from a stale tab is refused rather than overwriting a newer one.
    now = dict(zip(keys, page["review_seq"], strict=True))
    drawn = st.session_state.get("reviews_drawn", {}) | {}
    st.session_state["reviews_drawn"] = now
    reviewer = me()  # the sidebar's name, the same on every page of this session
    # The scope sits outside the form, so the form knows how many items it decides on; it
    # starts again at "this result" after each decision.
    scopes = {"this result": [key]}
    if len(selected) > 1:
        scopes[f"the {len(selected)} selected results"] = selected
    scopes[f"all {page.height} results on this page"] = keys
    scope = st.radio("Apply to", list(scopes), horizontal=True, key=f"scope_{decisions_made()}")
    chosen = scopes.get(scope or "", [key])
    # Cleared once submitted: a note left in place would ride along with the next decision
    # (deleting the values from session state does not reach the browser).
    with st.form("review", clear_on_submit=True):
        decision = st.radio("Decision", ["accept", "resolve", "reopen"], horizontal=True)
        note = st.text_area("Note (required to resolve, and for several items at once)")
        include_decided = len(chosen) > 1 and st.checkbox(
            "Also replace earlier accept or resolve decisions (otherwise they are left as they are)"
        )
        confirmed = len(chosen) <= CONFIRM_ABOVE or st.checkbox(
            f"Yes, record this decision for all {len(chosen)} items"
        )
        role_note(Role.REVIEWER, "record decisions")
        if st.form_submit_button(
            "Record decision", type="primary", disabled=not can(Role.REVIEWER)
        ):
            # A page or a selection may mix in results that need no decision: only exceptions
            # take one (with none among them, the refusal below says why).
            exceptions = set(page.filter(pl.col("result").is_in(EXCEPTIONS))["result_key"])
            targets = [k for k in chosen if k in exceptions] or chosen
            skipped = len(chosen) - len(targets)
            if not confirmed:
                st.error(
                    f"This records a decision on {len(chosen)} items: tick the confirmation "
                    "above the button to go ahead."
                )
                return
            verb = {"accept": "accepted", "resolve": "resolved", "reopen": "reopened"}[decision]
            done = attempt(
                lambda: reviews.record(
                    ws.store, targets, verb, reviewer, note, run_id,
                    include_decided=include_decided or chosen == [key],
                    seen={k: drawn.get(k, now[k]) for k in targets},
                )
            )  # fmt: skip
            if done:  # the table, totals and history above must show it at once
                clear_selection()
                flash_and_rerun(
                    done.line(verb)
                    + (
                        f" {skipped} matched or unpaid result(s) need no decision."
                        if skipped
                        else ""
                    )
                )
