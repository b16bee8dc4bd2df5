"""Settings: the rate card settlements' fees are checked against, and the settlement reports of
the gateway without a settlement API (Xepeng)."""

import polars as pl
import streamlit as st

from pages.ui.display import attempt, count, flash_and_rerun, show_error, show_flash, table
from pages.ui.people import can, me, role_note
from pages.ui.text import plain
from pages.ui.workspace import query, workspace
from rekon import fee_rates, settlement_reports, settlements
from rekon.access import Role
from rekon.errors import RekonError
from rekon.ledger import DATE_FORMATS, DATE_SAMPLE
from rekon.providers.base import PROVIDER_TITLES, provider_title

ws = workspace()
st.title("Settings")
show_flash()

st.subheader("Rate card")
st.caption(
    "What each gateway may charge per payment: a percent of it, a fixed amount, and VAT (PPN) "
    "on that fee, rounded to the rupiah. A payment method's own rate wins over the provider's "
    "* rate. Each change is kept and recorded in the audit trail."
)
card = query(ws, fee_rates.current)
if card.is_empty():
    st.info("The rate card is empty: without it, fees are reported but not checked.")
else:
    table(
        card.with_columns(pl.col("provider").replace(PROVIDER_TITLES)),
        "fixed",
        column_config={
            "provider": "Provider",
            "method": "Method",
            "percent": st.column_config.NumberColumn("Percent", format="%.4g %%"),
            "fixed": "Fixed",
            "vat": st.column_config.NumberColumn("VAT", format="%.4g %%"),
            "set_by": "Set by",
            "set_at": "Set",
        },
    )
with st.form("rate"):
    left, mid = st.columns(2)
    provider = left.selectbox("Provider", list(PROVIDER_TITLES), format_func=provider_title)
    method = mid.text_input("Payment method", "*", help="As the gateway names it: BCA, QRIS …")
    a, b, c = st.columns(3)
    percent = a.text_input("Percent of the payment", "0", help="e.g. 0.7")
    fixed = b.text_input("Fixed fee (Rp)", "0", help="e.g. 4000")
    vat = c.text_input("VAT on the fee (%)", str(fee_rates.DEFAULT_VAT))
    role_note(Role.REVIEWER, "change the rate card")
    if st.form_submit_button("Save rate", disabled=not can(Role.REVIEWER)):
        rate = attempt(
            lambda: fee_rates.set_rate(
                ws.store, provider, method, percent=percent, fixed=fixed, vat=vat, by=me()
            )
        )
        if rate is not None:
            flash_and_rerun(f"Rate card: {rate.describe()}.")

st.subheader("Settlement reports")
st.caption(
    "Xepeng publishes no settlement API: upload the settlement report from its merchant portal "
    "(CSV; columns found by their names — settlement id, payment or order id, gross, fee, net, "
    "settlement date). A report with a row that cannot be read is refused whole, naming its "
    "lines. Durianpay's payouts come with a fetch (Fetch page, *Settlements too*)."
)
limit_mb = ws.settings.max_upload_mb
upload = st.file_uploader(
    f"Settlement report CSV (up to {limit_mb} MB)",
    type=["csv", "txt"],
    key="settlement_report",
    max_upload_size=limit_mb,
)
if upload is not None:
    left, right = st.columns(2)
    for_provider = left.selectbox(
        "Its gateway", ["xepeng", "durianpay"], format_func=provider_title, key="report_provider"
    )
    date_format = right.selectbox(
        "Date format",
        [None, *DATE_FORMATS],
        format_func=lambda f: "detect" if f is None else DATE_SAMPLE.strftime(f),
        key="report_date_format",
    )
    try:
        report = settlement_reports.read_report(
            upload.getvalue(),
            upload.name,
            settlement_reports.ReportOptions(provider=for_provider, date_format=date_format),
            ws.settings.timezone,
        )
    except RekonError as exc:
        show_error(exc)
    else:
        st.success(plain(f"{upload.name}: {report.describe()}."), icon=":material/fact_check:")
        st.dataframe(
            report.payments.head(20).drop("order_reference", "payment_date"), hide_index=True
        )
        role_note(Role.REVIEWER, "import a settlement report")
        if st.button("Import report", type="primary", disabled=not can(Role.REVIEWER)):
            done = attempt(lambda: settlement_reports.store_report(ws.store, report, None, me()))
            if done is not None:
                flash_and_rerun(done.line())

sources = query(ws, settlements.sources)
if sources.height:
    st.markdown("**Payouts in the store**, newest first")
    table(
        sources.with_columns(pl.col("provider").replace(PROVIDER_TITLES)),
        counts=("settlements", "payments"),
        column_config={
            "id": "Source",
            "provider": "Provider",
            "kind": "From",
            "fetch_run": "Fetch",
            "name": "Report",
            "file_name": "File",
            "covered_from": "Covers from",
            "covered_to": "to",
            "settlements": "Settlements",
            "payments": "Payments",
            "added_by": "By",
            "added_at": "Added",
        },
    )
    st.caption(f"{count(sources.height)} batches of payouts.")
