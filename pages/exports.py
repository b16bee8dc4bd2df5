"""Exports: every kind as CSV and XLSX, named for the period, generated on click."""

from collections.abc import Callable

import streamlit as st

from pages.ui.display import count
from pages.ui.people import me
from pages.ui.period import period, period_label, run_label
from pages.ui.text import plain
from pages.ui.workspace import query, workspace
from rekon import audit, closing, results
from rekon.classes import KINDS
from rekon.reports import FORMATS, XLSX_MAX_ROWS, export_bytes, export_name, export_rows

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ABOUT = {
    "all": "Every result, one row each.",
    "exceptions": "Only what needs a reviewer: mismatches, missing, duplicates, ambiguous.",
    "matched": "Orders matched to exactly one ledger line.",
    "summary": "Counts, amounts and review progress: per class in total, per provider and "
    "per business day.",
    "reviews": "Every decision on these results: what, by whom, when, with the note.",
    "adjustments": "A journal line per difference booked as a fee, rounding or write-off (by a "
    "manual match or a saved rule), for the ledger.",
    "settlements": "One row per payout of the period: gross, fee, net, its orders, and whether "
    "its deposit is in the books or its fee is above the rate card.",
}

ws = workspace()
start, end = period()
st.title(f"Exports · {period_label(start, end)}")
runs = query(ws, results.runs_for_period, start, end)
if runs.is_empty():
    st.info("Reconcile this period first; exports are made from a reconciliation run.")
    st.stop()
run_id = st.selectbox("Run", runs["id"].to_list(), format_func=lambda i: run_label(runs, i))
st.caption(
    "Amounts are plain decimals (150000.00) and dates ISO (2026-01-31) so accounting "
    "software reads them exactly; XLSX cells are typed numbers, and a last sheet, *run*, "
    "says what produced the workbook (period, parameters, ledger files)."
)


signed = query(ws, closing.for_run, int(run_id))
if signed is not None:
    st.success(
        plain(f"{signed.line()}. The XLSX run sheet carries the sign-off; for CSV, download it "
              "beside the file."),
        icon=":material/verified:",
    )  # fmt: skip
    if signed.lapsed:
        st.warning(
            "This sign-off has lapsed: orders of the period changed at the provider after it. "
            "See the Close page.",
            icon=":material/history:",
        )
who = me()  # a download runs outside this script run: the actor is taken now


def maker(kind: str, fmt: str, name: str) -> Callable[[], bytes]:
    def make() -> bytes:
        audit.export_downloaded(ws.store, who, name, int(run_id), kind)
        return export_bytes(ws.store, int(run_id), kind, fmt, ws.settings.accounts)

    return make


for kind in KINDS:
    left, *buttons = st.columns([4, 1, 1])
    rows = 0 if kind == "summary" else export_rows(ws.store, int(run_id), kind)
    size = "" if kind == "summary" else f" · {count(rows)} rows"
    left.markdown(f"**{kind.capitalize()}** — {ABOUT[kind]}{size}")
    for col, fmt in zip(buttons, FORMATS, strict=True):
        too_big = fmt == "xlsx" and rows > XLSX_MAX_ROWS
        name = export_name(start, end, kind, fmt, int(run_id))
        col.download_button(
            fmt.upper(),
            data=maker(kind, fmt, name),
            file_name=name,
            mime=MIME[fmt],
            key=f"dl_{kind}_{fmt}",
            on_click="ignore",
            icon=":material/download:",
            disabled=too_big,
            help=f"{count(rows)} rows: more than an Excel sheet holds; use CSV"
            if too_big
            else None,
        )

if signed is not None:
    left, right = st.columns([4, 2])
    left.markdown(
        "**Sign-off** — who signed the period off on this run, when, the counts and amounts "
        "per class, the ledgers' hashes and the orders' fingerprint (JSON, beside a CSV)."
    )
    right.download_button(
        "JSON",
        data=signed.sidecar_json(),
        file_name=export_name(start, end, "signoff", "json", int(run_id)),
        mime="application/json",
        key="dl_signoff",
        on_click="ignore",
        icon=":material/download:",
    )
