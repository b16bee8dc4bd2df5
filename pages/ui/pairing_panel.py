"""Pairing by hand on the Reconcile page: a basket of leftovers gathered across pages and
filters, matched as one; and, beside one result, its manual match (with Remove) or, for an
automatic pair, Break pair."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from pages.ui.display import attempt, clear_selection, flash_and_rerun, idr, table
from pages.ui.people import can, me, role_note
from pages.ui.text import plain
from pages.ui.workspace import query
from rekon import pairing, suggestions
from rekon.access import Role
from rekon.classes import REASONS
from rekon.workspace import Workspace

SUGGESTIONS_SHOWN = 50
# Results a reviewer may pair by hand: orders no line paid, and lines no order explains.
LEFTOVER_ORDERS = ("missing_in_ledger", "settlement_late", "awaiting_settlement",
                   "status_mismatch", "unpaid")  # fmt: skip
LEFTOVER_LINES = ("missing_in_provider", "ambiguous", "duplicate_in_ledger")


def _picks(rows: pl.DataFrame) -> dict[str, tuple[str, Decimal]]:
    """The leftover side of each row: key → ('order' | 'line', amount)."""
    out: dict[str, tuple[str, Decimal]] = {}
    for r in rows.iter_rows(named=True):  # a page at most: the reviewer's own ticks
        if r["result"] in LEFTOVER_ORDERS and r["order_id"]:
            out[f"O:{r['provider']}:{r['order_id']}"] = ("order", r["order_amount"])
        elif r["result"] in LEFTOVER_LINES and r["ledger_id"] is not None:
            out[f"L:{r['ledger_id']}:{r['ledger_line']}"] = ("line", r["ledger_amount"])
    return out


def basket(ws: Workspace, page: pl.DataFrame, selected: list[str]) -> None:
    """Leftovers kept while paging and filtering, with the running sums, and Match."""
    held: dict[str, tuple[str, Decimal]] = st.session_state.setdefault("basket", {})
    ticked = _picks(page.filter(pl.col("result_key").is_in(selected)))
    left, right = st.columns([3, 1])
    if ticked and left.button(f"Add the {len(ticked)} ticked leftover(s) to the match"):
        held.update(ticked)
    if held and right.button("Empty the match"):
        held.clear()
    if not held:
        st.caption(
            "To pair leftovers by hand, tick them (on any page or filter) and add them here."
        )
        return
    orders = sum((a for kind, a in held.values() if kind == "order"), Decimal(0))
    lines = sum((a for kind, a in held.values() if kind == "line"), Decimal(0))
    st.write(
        f"In the match: {sum(k == 'order' for k, _ in held.values())} order(s) "
        f"{idr(orders)} · {sum(k == 'line' for k, _ in held.values())} line(s) {idr(lines)} · "
        f"difference {idr(lines - orders)}"
    )
    table(pl.DataFrame({"key": list(held), "side": [k for k, _ in held.values()]}))
    with st.form("match", clear_on_submit=True):
        reason = st.selectbox(
            "Reason, when the sums differ", [None, *REASONS],
            format_func=lambda r: "—" if r is None else r.replace("_", " "),
        )  # fmt: skip
        note = st.text_input("Note (required with 'other')")
        role_note(Role.REVIEWER, "match by hand")
        if st.form_submit_button("Match selected", type="primary", disabled=not can(Role.REVIEWER)):
            order_keys = [k for k, (kind, _) in held.items() if kind == "order"]
            line_keys = [k for k, (kind, _) in held.items() if kind == "line"]
            made = attempt(
                lambda: pairing.add_match(
                    ws.store, order_keys, line_keys, me(), reason, note,
                    tolerance=pairing.run_tolerance(ws.store, order_keys),
                )
            )  # fmt: skip
            if made:
                held.clear()
                clear_selection()  # the rows just matched are no longer ticked
                flash_and_rerun(
                    f"Matched by hand as {made.id}; the next run of the period applies it."
                )


def manual_panel(ws: Workspace, result: dict[str, Any]) -> None:
    """Beside one result: its manual match and history (with Remove), or Break pair."""
    if result["rule"] == "manual" and result["group_id"] is not None:
        made = next(m for m in pairing.list_matches(ws.store) if m.id == result["group_id"])
        why = f" · {made.reason.replace('_', ' ')}" if made.reason else ""
        st.info(
            plain(
                f"Matched by hand as {made.id} by {made.made_by}{why}: "
                f"{', '.join((*made.orders, *made.lines))}"
                + (f" — {made.note}" if made.note else "")
            )
        )
        table(pairing.history(ws.store, made.id), column_config={
            "logged_at": "When", "actor": "Who", "action": "What", "detail": "Detail"})  # fmt: skip
        with st.form(f"remove_{made.id}", clear_on_submit=True):
            note = st.text_input("Why remove it")
            removed = st.form_submit_button("Remove", disabled=not can(Role.REVIEWER)) and attempt(
                lambda: pairing.remove(ws.store, made.id, me(), note)
            )
            if removed:
                flash_and_rerun(f"Removed manual match {made.id}; its history stays.")
    elif result["order_id"] and result["ledger_id"] is not None:
        with st.expander("This line is not this order"), st.form("break", clear_on_submit=True):
            note = st.text_input("Why (recorded)")
            if st.form_submit_button("Break pair", disabled=not can(Role.REVIEWER)):
                order_key = f"O:{result['provider']}:{result['order_id']}"
                line_key = f"L:{result['ledger_id']}:{result['ledger_line']}"
                made = attempt(lambda: pairing.add_break(ws.store, order_key, line_key, me(), note))
                if made:
                    flash_and_rerun(
                        f"Broken apart as {made.id}; the next run leaves both as leftovers."
                    )


def suggestions_tab(ws: Workspace, run_id: int) -> None:
    """The run's suggested matches, with their evidence in words: Accept or Decline each, or
    accept every one at or above a score where every field agrees."""
    # On demand: the search joins every leftover line with the orders of its window.
    if not st.toggle("Find suggested matches for the leftovers", key=f"suggest_{run_id}"):
        return
    found: list[suggestions.Suggestion] = query(
        ws, suggestions.suggest, run_id, 0, SUGGESTIONS_SHOWN
    )
    if not found:
        st.caption("No suggestions: no leftover line and order look like each other.")
        return
    threshold = st.slider("Accept all at or above", 0, 100, 80, key=f"bulk_score_{run_id}")
    if st.button(
        f"Accept every suggestion scoring {threshold} or more where every field agrees",
        disabled=not can(Role.REVIEWER),
    ):
        made, waiting = suggestions.accept_at_or_above(ws.store, found, threshold, me())
        flash_and_rerun(
            f"Accepted {len(made)} suggestion(s) as manual matches; {waiting} at that score wait "
            "for a person. The next run of the period applies them."
        )
    for i, s in enumerate(found):
        text, accept_col, decline_col = st.columns([6, 1, 1])
        text.write(f"**{s.score}** · " + plain(f"{', '.join(s.orders)} ↔ {', '.join(s.lines)}"))
        text.caption(plain(s.evidence))
        if accept_col.button("Accept", key=f"accept_{run_id}_{i}", disabled=not can(Role.REVIEWER)):
            made = attempt(partial(_accept, ws, s))
            if made:
                flash_and_rerun(f"Accepted as manual match {made.id}.")
        if decline_col.button(
            "Decline", key=f"decline_{run_id}_{i}", disabled=not can(Role.REVIEWER)
        ):
            suggestions.decline(ws.store, s, me())
            flash_and_rerun("Declined: it will not be suggested again.")


def _accept(ws: Workspace, suggestion: suggestions.Suggestion) -> pairing.ManualMatch:
    # A difference the reviewer accepts as it stands is booked as "other", with the evidence.
    reason = None if suggestion.difference == 0 else "other"
    return suggestions.accept(ws.store, suggestion, me(), reason)
