"""Charts: status, paid amounts, result classes, exception age and amount bands."""

import polars as pl
import streamlit as st

from pages.ui.display import count, idr
from pages.ui.period import latest_run_id, period, period_label
from pages.ui.workspace import query, workspace
from rekon import charts, payout_views, reports, results
from rekon.classes import EXCEPTIONS, class_name
from rekon.periods import day
from rekon.providers.base import PROVIDER_TITLES, provider_title

ws = workspace()
start, end = period()
st.title(f"Charts · {period_label(start, end)}")
providers = tuple(
    st.multiselect(
        "Providers", list(PROVIDER_TITLES), format_func=provider_title, placeholder="All providers"
    )
)

cube = query(ws, reports.order_cube, start, end, providers)  # one read for every orders chart
status = reports.status_of(cube)
if status.is_empty():
    st.info("No orders in this period yet.")
    st.stop()
left, right = st.columns(2)
left.plotly_chart(charts.status_by_provider(status), width="stretch")
right.plotly_chart(charts.paid_per_day(reports.paid_days_of(cube)), width="stretch")

run_id = latest_run_id(ws, start, end)
left, right = st.columns(2)
if run_id is None:
    left.info("Reconcile this period to see result classes and exceptions.")
else:
    totals = query(ws, results.class_totals, run_id, providers)
    left.plotly_chart(charts.result_classes(totals), width="stretch")
    others = totals.filter(~pl.col("result").is_in(EXCEPTIONS))
    left.caption(
        "Not exceptions: "
        + " · ".join(
            f"{class_name(r['result'])} {count(r['count'])} ({idr(r['amount'])})"
            for r in others.iter_rows(named=True)
        )
    )
    # Ages run to the period's end, or to today while the period is still running: October's
    # items are not "over 60 days" old because it is now December.
    today = ws.settings.today()
    as_of, when = (end, "the period's end") if end < today else (today, "today")
    aged = query(ws, reports.exceptions_by_age, run_id, as_of, providers)
    if aged.is_empty():
        right.success("No open exceptions.")
    else:
        title = f"Open exceptions by age on {day(as_of)} ({when})"
        right.plotly_chart(charts.exceptions_by_age(aged, title), width="stretch")
st.plotly_chart(
    charts.amount_distribution(reports.bands_of(cube)),
    width="stretch",
)

st.subheader("Fees and payouts")
fees = query(ws, payout_views.fees_by_day, start, end)
if providers:
    fees = fees.filter(pl.col("provider").is_in(providers))
if fees.is_empty():
    st.info(
        "No payouts settled in this period: fetch Durianpay's settlements on the **Fetch** page, "
        "or upload Xepeng's settlement report on the **Settings** page."
    )
else:
    delays = query(ws, payout_views.settlement_delays, start, end)
    if providers:
        delays = delays.filter(pl.col("provider").is_in(providers))
    left, right = st.columns(2)
    left.plotly_chart(charts.fees_per_day(fees), width="stretch")
    if delays.is_empty():
        right.info("The payouts of this period say no payment dates (a report without them).")
    else:
        right.plotly_chart(charts.settlement_delays(delays), width="stretch")
