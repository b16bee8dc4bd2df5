"""The ledger page's list of imported ledgers, and deleting one."""

import streamlit as st

from pages._shared import attempt, count, flash_and_rerun, query, show_flash, table
from rekon import ledger
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
    with st.expander("Delete a ledger"):
        target = st.selectbox(
            "Ledger",
            ledgers["id"].to_list(),
            format_func=lambda i: f"{i} · " + ledgers.filter(ledgers["id"] == i)["name"][0],
        )
        sure = st.checkbox("Yes, delete this ledger and its lines")
        if st.button("Delete", disabled=not sure):
            actor = ws.settings.reviewer
            gone = attempt(lambda: ledger.delete_ledger(ws.store, int(target), actor))
            if gone is not None:  # a refusal stays on screen
                flash_and_rerun(f"Deleted ledger {target} and its {count(gone)} lines.")
