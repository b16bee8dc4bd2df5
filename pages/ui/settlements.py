"""The Reconcile page's settlements: each payout of the run's period, whether its deposit is in
the books, and whether its fee is above the rate card."""

from __future__ import annotations

import streamlit as st

from pages.ui.display import count, table
from pages.ui.workspace import query
from rekon import payout_views
from rekon.classes import SETTLEMENT_RESULTS, class_name
from rekon.providers.base import PROVIDER_TITLES
from rekon.workspace import Workspace

ALL = "all"


def settlements_tab(ws: Workspace, run_id: int) -> None:
    counts = query(ws, payout_views.settlement_counts, run_id)
    if not sum(counts.values()):
        st.info(
            "No payouts in this run: fetch Durianpay's settlements (Fetch page, *Settlements "
            "too*) or upload Xepeng's settlement report (Settings page), then run again."
        )
        return
    st.caption(
        " · ".join(f"{class_name(name)} **{count(n)}**" for name, n in counts.items())
        + " — a payout's orders match as one group when its deposit is in the books; its fee "
        "is checked against the rate card (a rupiah a payment is rounding)."
    )
    shown = st.segmented_control(
        "Show", [ALL, *SETTLEMENT_RESULTS], default=ALL, format_func=class_name,
        key=f"settlements_show_{run_id}",
    )  # fmt: skip
    rows = query(ws, payout_views.run_settlements, run_id, None if shown in (None, ALL) else shown)
    table(
        rows.with_columns(
            rows["provider"].replace(PROVIDER_TITLES), rows["result"].str.replace_all("_", " ")
        ),
        "gross",
        "fee",
        "net",
        "expected_fee",
        "overcharged",
        counts=("orders",),
        column_config={
            "provider": "Provider",
            "settlement_id": "Settlement",
            "settled_at": "Settled",
            "gross": "Gross",
            "fee": "Fee",
            "net": "Net",
            "orders": "Payments",
            "result": "Result",
            "ledger_id": "Ledger",
            "line_no": "Line",
            "expected_fee": "Card's fee",
            "overcharged": "Charged above the card",
            "overcharged_payments": "Payments charged above",
        },
    )
    if rows.height == payout_views.PAGE_ROWS:
        st.caption(f"The first {count(payout_views.PAGE_ROWS)}; the Exports page has them all.")
