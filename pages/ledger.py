"""Ledger: upload a CSV, check the detected format and mapping, import, manage ledgers."""

import polars as pl
import streamlit as st

from pages.ui.display import LABELS, attempt, count, idr, ledger_labels, show_error, table
from pages.ui.ledgers import imported_ledgers
from pages.ui.people import can, me, role_note
from pages.ui.text import plain
from pages.ui.workspace import query, workspace
from rekon import ledger
from rekon.access import Role
from rekon.errors import RekonError
from rekon.money import DecimalStyle

ws = workspace()
st.title("Ledger import")
limit_mb = ws.settings.max_upload_mb
upload = st.file_uploader(
    f"Ledger CSV exported from your accounting software (up to {limit_mb} MB)",
    type=["csv", "tsv", "txt"],
    key="ledger_file",
    max_upload_size=limit_mb,
)

if upload is not None:
    # By its size, before a copy of it is taken (REKON_MAX_UPLOAD_MB may be below Streamlit's).
    if upload.size > limit_mb * 1024 * 1024:
        st.error(
            plain(
                f"{upload.name} is larger than {limit_mb} MB (REKON_MAX_UPLOAD_MB): import it with "
                "the command rekon ledger import, or raise the limit."
            )
        )
        st.stop()
    raw = upload.getvalue()
    saved = ledger.list_mappings(ws.store)
    pick, dates, amounts = st.columns(3)
    base_name = pick.selectbox("Start from a saved mapping", ["(detect)", *saved])
    base = ledger.load_mapping(ws.store, base_name) if base_name != "(detect)" else None
    # Detection decides unless the reviewer says otherwise, e.g. when every day is 12 or less.
    date_format = dates.selectbox(
        "Date format",
        [None, *ledger.DATE_FORMATS],
        format_func=lambda f: "detect" if f is None else ledger.DATE_SAMPLE.strftime(f),
    )
    style = amounts.selectbox(
        "Amounts",
        [None, *DecimalStyle],
        format_func=lambda s: "detect" if s is None else f"like {s.sample}",
    )
    # Mapping changes belong to this upload; a new file starts from detection again.
    overrides = st.session_state.setdefault(f"ledger_overrides_{upload.file_id}", {})
    unmapped = st.session_state.setdefault(f"ledger_unmapped_{upload.file_id}", {})
    options = ledger.ImportOptions(
        name=upload.name,
        mapping=dict(overrides),  # a copy: the remembered read below must not change with it
        date_format=date_format,
        decimal_style=style,
    )
    parsed: ledger.Parsed | None = None
    columns: list[str] = []
    current = ledger.ColumnMapping()
    try:
        # Every click reruns the page; the file is read again only when how it is read changes.
        read_with = (upload.file_id, base, options)
        remembered = st.session_state.get("ledger_read")
        if remembered is not None and remembered[0] == read_with:
            parsed = remembered[1]
        else:
            parsed = ledger.read_ledger(raw, upload.name, options, base)
            st.session_state["ledger_read"] = (read_with, parsed)
        columns, current = parsed.columns, parsed.mapping
    except ledger.ChoiceNeeded as exc:
        columns, current = exc.columns, exc.mapping
        show_error(exc)
        st.caption(
            "Say the date format or amounts above, or adjust the column mapping below, "
            "and the file is read again."
        )
    except RekonError as exc:
        show_error(exc)
    st.subheader("Column mapping")
    cols = st.columns(3)
    for i, field in enumerate(ledger.FIELDS):
        choice = getattr(current, field)
        options_ = ["—", *columns]
        picked = cols[i % 3].selectbox(
            field.capitalize(),
            options_,
            # Keyed by what is in effect, so the box always shows it and never holds on to an
            # earlier choice that detection has since made for it.
            key=f"map_{field}_{upload.file_id}_{choice}",
            index=options_.index(choice) if choice in options_ else 0,
        )
        if picked != (choice or "—"):
            if choice and choice not in columns:  # a saved mapping's column this file lacks
                unmapped[field] = choice
            overrides[field] = None if picked == "—" else picked
            st.rerun()
    for field, column in unmapped.items():
        lacking = f"The saved mapping reads {field} from {column!r}, which this file does not have."
        st.info(plain(lacking))
    if parsed is not None:
        st.caption(plain(f"Detected: {parsed.format.describe()}"))
        st.subheader(f"Preview — {count(parsed.lines.height)} lines read")
        table(parsed.lines.head(20), "amount", column_config=LABELS)
        for warning in parsed.warnings:
            st.warning(plain(f"Check the file: {warning}."), icon="⚠️")
        if parsed.rejected:
            st.warning(f"{parsed.rejected_lines} line(s) cannot be imported and will be set aside:")
            table(pl.DataFrame([r.__dict__ for r in parsed.rejected[:500]]), column_config=LABELS)
        if parsed.skipped:
            st.caption(
                "Skipped (not ledger lines): "
                + ", ".join(f"line {n} ({why})" for n, why in parsed.skipped[:20])
            )
        left, right = st.columns(2)
        name = left.text_input("Save this mapping as", placeholder="e.g. Accurate export")
        # Saved with the file's formats: they decide for a later file that cannot tell.
        as_saved = ledger.SavedMapping.of(parsed.mapping, parsed.format)
        if left.button("Save mapping", disabled=not can(Role.REVIEWER)) and (
            saved_as := attempt(lambda: ledger.save_mapping(ws.store, name, as_saved, me()))
        ):
            st.toast(plain(f"Mapping saved as {saved_as}"))
        replace = right.checkbox("Replace an earlier import of this same file")
        names = ledger_labels(query(ws, ledger.list_ledgers))
        corrects = right.selectbox(
            "This file is a corrected export of",
            [None, *names],
            format_func=lambda i: "— (a ledger of its own)" if i is None else names[i],
            help="It takes that ledger's place; decisions on the lines that did not change "
            "carry over.",
        )
        role_note(Role.REVIEWER, "import a ledger")
        if right.button("Import ledger", type="primary", disabled=not can(Role.REVIEWER)):
            opts = ledger.ImportOptions(
                name=upload.name,
                replace=replace,
                corrects=corrects,
            )
            ready = parsed  # narrowed: the lambda below cannot see the check above
            result = attempt(lambda: ledger.store_ledger(ws.store, ready, opts, me()))
            if result is not None:
                st.success(plain(result.line(idr)), icon=":material/check_circle:")
                for shared in result.shared:
                    st.warning(plain(shared.warning()), icon=":material/content_copy:")
else:
    st.session_state.pop("ledger_read", None)  # the file is gone: so is what was read from it

st.divider()
imported_ledgers(ws)
