"""The ledger page's list of imported ledgers: replacing one with its corrected export, and
deleting one."""

import streamlit as st

from pages.ui.display import attempt, count, flash_and_rerun, ledger_labels, show_flash, table
from pages.ui.people import can, me
from pages.ui.workspace import query
from rekon import ledger
from rekon.access import Role
from rekon.workspace import Workspace

COLUMNS = {
    "id": "Ledger",
    "name": "Name",
    "file_name": "File",
    "imported_at": "Imported",
    "lines_imported": "Lines",
    "lines_rejected": "Set aside",
    "amount_total": "Total",
    "date_from": "From",
    "date_to": "To",
}


def imported_ledgers(ws: Workspace) -> None:
    st.subheader("Imported ledgers")
    show_flash()
    ledgers = query(ws, ledger.list_ledgers)
    if ledgers.is_empty():
        st.caption("None yet.")
        return
    table(ledgers, "amount_total", column_config=COLUMNS)
    names = ledger_labels(ledgers)
    if len(names) > 1:
        corrected_export(ws, names)
    with st.expander("Delete a ledger"):
        target = st.selectbox("Ledger", list(names), format_func=names.__getitem__)
        sure = st.checkbox("Yes, delete this ledger and its lines")
        if st.button("Delete", disabled=not (sure and can(Role.REVIEWER))):
            who = me()
            gone = attempt(lambda: ledger.delete_ledger(ws.store, int(target), who))
            if gone is not None:  # a refusal stays on screen
                flash_and_rerun(f"Deleted ledger {target} and its {count(gone)} lines.")


def corrected_export(ws: Workspace, names: dict[int, str]) -> None:
    """A corrected re-export, already imported, takes the place of the ledger it corrects."""
    label = names.__getitem__
    with st.expander("Replace a ledger with its corrected export"):
        old = st.selectbox("Ledger to replace", list(names), format_func=label, key="correct_old")
        newer = [i for i in names if i != old]
        new = st.selectbox(
            "Its corrected export", newer, len(newer) - 1, format_func=label, key="correct_new"
        )
        st.caption(
            "Decisions on the lines that did not change (same date, amount and reference) "
            "carry over to the corrected export; the replaced ledger and its lines are deleted."
        )
        if st.button("Replace", disabled=not can(Role.REVIEWER)):
            who = me()
            done = attempt(lambda: ledger.correct_ledger(ws.store, int(old), int(new), who))
            if done is not None:
                flash_and_rerun(f"{done.line()}.")
