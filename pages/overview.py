"""Overview: KPIs per provider and in total for the chosen period."""

import polars as pl
import streamlit as st

from pages._display import count, idr, local_time
from pages._period import latest_run_id, period, period_label, period_warnings
from pages._workspace import query, workspace
from rekon import fetch_log, reports
from rekon.money import format_idr_short
from rekon.providers.base import PROVIDER_TITLES, provider_title

ws = workspace()
start, end = period()
st.title(f"Overview · {period_label(start, end)}")

run_id = latest_run_id(ws, start, end)
kpis = query(ws, reports.provider_kpis, start, end, run_id)
if kpis.is_empty():
    st.info(
        "No orders for this period yet. Fetch them on the **Fetch** page.",
        icon=":material/cloud_download:",
    )
else:
    period_warnings(ws, start, end)
    # Ledger lines that name no order or provider count only in the total.
    per_provider = kpis.filter(pl.col("provider") != "total")["exceptions"].fill_null(0).sum()
    lines_only = int(kpis["exceptions"].fill_null(0)[-1]) - int(per_provider)
    for row in kpis.iter_rows(named=True):
        total = row["provider"] == "total"
        st.subheader("All providers" if total else provider_title(row["provider"]))
        cols = st.columns(5)
        cols[0].metric("Orders", count(row["orders"]))
        # Headline amounts are short so they fit their tile; the exact figure is in the help.
        cols[1].metric(
            "Paid amount",
            format_idr_short(row["paid_amount"]),
            help=f"{idr(row['paid_amount'])} from {count(row['paid'])} paid orders",
        )
        pct = row["matched_pct"]
        cols[2].metric(
            "Matched",
            "–" if run_id is None or pct is None else f"{pct:.1f} %".replace(".", ","),
            help="Paid orders matched to exactly one ledger line",
        )
        cols[3].metric(
            "Exceptions",
            count(row["exceptions"]) if run_id else "–",
            # How many still need a decision (none yet, or reopened): not a change, no arrow.
            delta=f"{count(row['open_exceptions'])} still open" if run_id else None,
            delta_color="off",
            delta_arrow="off",
            help="Mismatches, missing, duplicates and ambiguous lines: results a reviewer "
            "decides on"
            + (
                f". Includes {count(lines_only)} ledger lines that name no provider's order."
                if total and lines_only
                else ""
            ),
        )
        cols[4].metric(
            "Exception amount",
            format_idr_short(row["exception_amount"]) if run_id else "–",
            help=idr(row["exception_amount"]) if run_id else None,
        )
    if run_id is None:
        st.warning(
            "This period has not been reconciled yet: import a ledger and run it on "
            "the **Reconcile** page.",
            icon=":material/rule:",
        )
    else:
        st.caption(f"Figures from reconciliation run {run_id}.")
        still_open = int(kpis["open_exceptions"][-1])  # the total row comes last
        if still_open:
            st.page_link(
                "pages/reconcile.py",
                label=f"Work the {count(still_open)} open exceptions",
                icon=":material/arrow_forward:",
            )

st.divider()
left, right = st.columns(2)
with left:
    st.subheader("Last fetch")
    fetched = query(ws, fetch_log.last_fetches)
    providers = ws.configured_providers()
    for provider in providers:
        hit = fetched.filter(fetched["provider"] == provider)
        when = hit["finished_at"][0] if hit.height else None
        st.write(
            f"**{provider_title(provider)}** — "
            + (local_time(when, with_year=True) if when else "never fetched")
        )
with right:
    st.subheader("Mode")
    if ws.sandbox_mode:
        st.write("Sandbox: built-in emulators on 127.0.0.1, sample data.")
    else:
        for provider in PROVIDER_TITLES:
            conf = getattr(ws.settings, provider)
            st.write(
                f"**{provider_title(provider)}** — "
                + (f"live at {conf.base_url}" if conf else "not configured")
            )
