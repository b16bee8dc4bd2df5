"""Ledger: upload a CSV, check the detected format and mapping, import, manage ledgers."""

import streamlit as st

from pages._shared import attempt, query, with_idr, workspace
from rekon import ledger

ws = workspace()
st.title("Ledger import")
limit_mb = ws.settings.max_upload_mb
upload = st.file_uploader(
    f"Ledger CSV exported from your accounting software (up to {limit_mb} MB)",
    type=["csv", "tsv", "txt"],
    key="ledger_file",
)

if upload is not None:
    raw = upload.getvalue()
    if len(raw) > limit_mb * 1024 * 1024:
        st.error(f"{upload.name} is larger than {limit_mb} MB.")
        st.stop()
    saved = ledger.list_mappings(ws.store)
    base_name = st.selectbox("Start from a saved mapping", ["(detect)", *saved])
    base = ledger.load_mapping(ws.store, base_name) if base_name != "(detect)" else None
    # Mapping changes belong to this upload; a new file starts from detection again.
    overrides = st.session_state.setdefault(f"ledger_overrides_{upload.file_id}", {})
    options = ledger.ImportOptions(
        name=upload.name, mapping=overrides, imported_by=ws.settings.reviewer
    )
    parsed = attempt(lambda: ledger.read_ledger(raw, upload.name, options, base))
    if parsed is None:
        st.caption("Adjust the column mapping below if a column was not recognised.")
    st.subheader("Column mapping")
    columns = parsed.columns if parsed else []
    current = parsed.mapping if parsed else ledger.ColumnMapping()
    cols = st.columns(3)
    for i, field in enumerate(ledger.FIELDS):
        choice = getattr(current, field)
        options_ = ["—", *columns]
        picked = cols[i % 3].selectbox(
            field.capitalize(),
            options_,
            key=f"map_{field}",
            index=options_.index(choice) if choice in options_ else 0,
        )
        if picked != (choice or "—"):
            overrides[field] = None if picked == "—" else picked
            st.rerun()
    if parsed is not None:
        st.caption(f"Detected: {parsed.format.describe()}")
        st.subheader(f"Preview — {parsed.lines.height:,} lines read")
        st.dataframe(with_idr(parsed.lines.head(20), "amount"), hide_index=True)
        if parsed.rejected:
            st.warning(f"{len(parsed.rejected)} line(s) cannot be read and will be set aside:")
            st.dataframe([r.__dict__ for r in parsed.rejected[:500]], hide_index=True)
        if parsed.skipped:
            st.caption(
                "Skipped (not ledger lines): "
                + ", ".join(f"line {n} ({why})" for n, why in parsed.skipped[:20])
            )
        left, right = st.columns(2)
        name = left.text_input("Save this mapping as", placeholder="e.g. Accurate export")
        if (
            left.button("Save mapping")
            and attempt(lambda: ledger.save_mapping(ws.store, name, parsed.mapping)) is None
        ):
            st.toast(f"Mapping saved as {name}")
        replace = right.checkbox("Replace an earlier import of this same file")
        if right.button("Import ledger", type="primary"):
            opts = ledger.ImportOptions(
                name=upload.name, replace=replace, imported_by=ws.settings.reviewer
            )
            result = attempt(lambda: ledger.store_ledger(ws.store, parsed, opts))
            if result is not None:
                st.success(result.line(), icon=":material/check_circle:")

st.divider()
st.subheader("Imported ledgers")
ledgers = query(ws, ledger.list_ledgers)
if ledgers.is_empty():
    st.caption("None yet.")
else:
    st.dataframe(with_idr(ledgers, "amount_total"), hide_index=True)
    with st.expander("Delete a ledger"):
        target = st.selectbox(
            "Ledger",
            ledgers["id"].to_list(),
            format_func=lambda i: f"{i} · " + ledgers.filter(ledgers["id"] == i)["name"][0],
        )
        sure = st.checkbox("Yes, delete this ledger and its lines")
        if st.button("Delete", disabled=not sure):
            attempt(lambda: ledger.delete_ledger(ws.store, int(target), ws.settings.reviewer))
            st.rerun()
