"""Overview: KPIs per provider and in total for the chosen period."""

import polars as pl
import streamlit as st

from pages.ui.display import count, idr, local_time, table
from pages.ui.period import latest_run_id, period, period_label, period_warnings
from pages.ui.workspace import query, workspace
from rekon import fetch_log, payout_views, reports
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
    period_warnings(ws, start, end, lapse_details=True)
    total = kpis.row(-1, named=True)  # the total comes last
    reconciled = run_id is not None
    # Two rows of wide tiles: at 1024 px five in a row cut every amount to "Rp 2…".
    top = st.columns(3)
    top[0].metric("Orders", count(total["orders"] or 0))
    pct = total["matched_pct"]
    top[1].metric(
        "Matched",
        "–" if not reconciled or pct is None else f"{pct:.1f} %".replace(".", ","),
        help="Paid orders matched to exactly one ledger line",
    )
    top[2].metric(
        "Exceptions",
        count(total["exceptions"]) if reconciled else "–",
        # How many still need a decision (none yet, or reopened): not a change, no arrow.
        delta=f"{count(total['open_exceptions'])} still open" if reconciled else None,
        delta_color="off",
        delta_arrow="off",
        help="Mismatches, missing, duplicates and ambiguous lines: results a reviewer decides on",
    )
    bottom = st.columns(2)
    # Headline amounts in words (miliar, juta); the exact figure is in the help and the table.
    bottom[0].metric(
        "Paid amount",
        format_idr_short(total["paid_amount"]),
        help=f"{idr(total['paid_amount'])} from {count(total['paid'] or 0)} paid orders",
    )
    bottom[1].metric(
        "Exception amount",
        format_idr_short(total["exception_amount"]) if reconciled else "–",
        help=idr(total["exception_amount"]) if reconciled else None,
    )
    st.subheader("By provider")
    names = {**PROVIDER_TITLES, "ledger_only": "Ledger only", "total": "All providers"}
    pct = pl.col("matched_pct")
    rows = kpis.with_columns(
        pl.col("provider").replace_strict(names, default=pl.col("provider")),
        # As the headline writes it (91,2 %); blank where there is nothing to match.
        pl.when(pct.is_not_null())
        .then(pct.round(1).cast(pl.String).str.replace(r"\.", ",") + " %")
        .otherwise(pl.lit(""))
        .alias("matched_pct"),
    ).select("provider", "orders", "paid_amount", "matched_pct", "exceptions",
             "open_exceptions", "exception_amount")  # fmt: skip
    if not reconciled:
        rows = rows.drop("matched_pct", "exceptions", "open_exceptions", "exception_amount")
    table(
        rows,
        "paid_amount",
        "exception_amount",
        counts=("orders", "exceptions", "open_exceptions"),
        column_config={
            "provider": "",
            "orders": "Orders",
            "paid_amount": "Paid amount",
            "matched_pct": "Matched",
            "exceptions": "Exceptions",
            "open_exceptions": "Still open",
            "exception_amount": "Exception amount",
        },
    )
    if reconciled and kpis.filter(pl.col("provider") == "ledger_only").height:
        st.caption(
            "Ledger only: lines whose reference names no order at either provider (missing "
            "at the provider, or ambiguous)."
        )
    if run_id is None:
        st.warning(
            "This period has not been reconciled yet: import a ledger and run it on "
            "the **Reconcile** page.",
            icon=":material/rule:",
        )
    else:
        st.caption(f"Figures from reconciliation run {run_id}.")
        still_open = int(total["open_exceptions"])
        if still_open:
            st.page_link(
                "pages/reconcile.py",
                label=f"Work the {count(still_open)} open exceptions",
                icon=":material/arrow_forward:",
            )

payouts = query(ws, payout_views.provider_totals, start, end, run_id)
if payouts.height:
    st.subheader("Payouts")
    from_run = payouts["settled"].null_count() == 0
    names = {**PROVIDER_TITLES}
    table(
        payouts.with_columns(pl.col("provider").replace_strict(names, default=pl.col("provider"))),
        "gross",
        "fee",
        "net",
        "settled",
        counts=("settlements", "payments", "missing", "fee_mismatches"),
        column_config={
            "provider": "",
            "settlements": "Settlements",
            "payments": "Payments",
            "gross": "Gross",
            "fee": "Fees",
            "net": "Net paid out",
            "settled": "Deposited in the books",
            "missing": "Not in the books",
            "fee_mismatches": "Fee above the card",
        },
    )
    st.caption(
        f"The payouts of the period's orders in run {run_id}: deposits found in the ledger, "
        "and fees checked against the rate card (Settings)."
        if from_run
        else "The payouts settled in this period; reconcile it to see which are in the books."
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
