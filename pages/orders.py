"""Orders: look one up; for Xepeng, fetch it live and correct it (audited), then re-run."""

import json

import polars as pl
import streamlit as st

from pages.ui.display import (
    LABELS,
    as_read,
    attempt,
    count,
    flash_and_rerun,
    idr,
    show_flash,
    table,
)
from pages.ui.people import can, me, role_note
from pages.ui.text import plain
from pages.ui.workspace import query, workspace
from rekon import order_lookup, results
from rekon.access import Role
from rekon.ledger import list_ledgers
from rekon.matching import ReconcileParams, reconcile, run_params
from rekon.order_updates import update_xepeng_order
from rekon.periods import month_bounds
from rekon.providers.base import provider_title
from rekon.providers.xepeng import XepengClient

ws = workspace()
st.title("Orders")
show_flash()
text = st.text_input("Order id, payment id or merchant reference")
if not text.strip():
    st.caption("Type an id or reference to look an order up.")
    st.stop()
found = query(ws, order_lookup.find_orders, text)
if found.is_empty():
    st.warning(plain(f"No stored order matches {text!r}. Fetch its period first."))
    st.stop()
table(as_read(found), "amount", column_config=LABELS)
choice = st.selectbox(
    "Order",
    found.rows(named=True),
    format_func=lambda r: (
        f"{provider_title(r['provider'])} · {r['order_id']} · {r['merchant_ref'] or ''} · "
        f"{idr(r['amount'])}"
    ),
)
order = ws.store.query(
    "SELECT * FROM orders WHERE provider = ? AND order_id = ?",
    [choice["provider"], choice["order_id"]],
).row(0, named=True)
with st.expander("As the provider sent it"):
    st.json(json.loads(order["raw"]))
st.subheader("In reconciliations")
found_in = query(ws, results.order_results, order["provider"], order["order_id"])
if found_in.is_empty():
    st.caption("Not in any reconciliation run yet.")
else:
    table(
        as_read(found_in),
        "ledger_amount",
        "difference",
        column_config={
            "run_id": "Run",
            "period_from": "From",
            "period_to": "To",
            "result": "Result",
            "rule": "Matched on",
            "ledger_id": "Ledger",
            "ledger_line": "Line",
            "ledger_date": "Ledger date",
            "ledger_amount": "Ledger amount",
            "difference": "Difference",
            "review_status": "Review",
            "review_note": "Note",
        },
    )

if order["provider"] != "xepeng" or ws.settings.xepeng is None:
    st.caption("Live lookup and corrections are available for Xepeng orders.")
    st.stop()

st.subheader("Xepeng")
client = XepengClient.from_settings(ws.settings.xepeng, timezone=ws.settings.timezone)
try:
    if st.button("Fetch live from Xepeng"):
        live = attempt(lambda: client.get_order(order["order_id"]))
        if live:
            changed = order_lookup.differences(order, live)
            if changed:
                st.warning(
                    f"Xepeng's copy differs from the stored order in {len(changed)} field(s):"
                )
                table(pl.DataFrame(changed, schema=["field", "stored", "at Xepeng"], orient="row"))
                st.caption("Fetch the order's period again to store Xepeng's copy.")
            else:
                st.success("The stored order matches Xepeng's copy.")
            with st.expander("As Xepeng sent it now"):
                st.json(json.loads(live.raw))
    # Cleared once sent: a confirmation left ticked would send the next edit unasked.
    with st.form("correct", clear_on_submit=True):
        description = st.text_input("Description", value=order["description"] or "")
        order_ref = st.text_input(
            "Merchant reference (metadata.order_ref)", value=order["merchant_ref"] or ""
        )
        sure = st.checkbox("I confirm this changes the order at Xepeng")
        role_note(Role.REVIEWER, "correct an order")
        if st.form_submit_button(
            "Send correction to Xepeng", type="primary", disabled=not can(Role.REVIEWER)
        ):
            if not sure:
                st.error("Tick the confirmation first: this changes the order at Xepeng.")
            else:
                changed = attempt(
                    lambda: update_xepeng_order(
                        ws.store,
                        client,
                        order["order_id"],
                        me(),
                        description=description
                        if description != (order["description"] or "")
                        else None,
                        order_ref=order_ref if order_ref != (order["merchant_ref"] or "") else None,
                    )
                )
                if changed:
                    st.session_state["rerun_month"] = f"{order['business_date']:%Y-%m}"
                    # Rerun to show the stored order as it is now.
                    flash_and_rerun(
                        f"Xepeng updated {changed.order_id}; recorded in the audit trail."
                    )
finally:
    client.close()

trail = query(ws, order_lookup.audit_trail, f"xepeng:{order['order_id']}")
if trail.height:
    st.subheader("Audit trail")
    words = trail.with_columns(
        pl.col("action").replace(order_lookup.ACTION_NAMES),
        # A handful of rows: each detail put in words at the page's edge.
        pl.col("detail").map_elements(order_lookup.describe_change, return_dtype=pl.String),
    )
    table(
        words,
        column_config={"logged_at": "When", "actor": "Who", "action": "What", "detail": "Change"},
    )

month = st.session_state.get("rerun_month")
# With no ledger there is nothing to reconcile the corrected order against.
if (
    month
    and not query(ws, list_ledgers).is_empty()
    and st.button(f"Re-run the reconciliation of {month}", disabled=not can(Role.REVIEWER))
):
    start, end = month_bounds(month)
    runs = query(ws, results.runs_for_period, start, end)
    params = (
        run_params(ws.store, int(runs["id"][0])) if runs.height else ReconcileParams(start, end)
    )
    summary = attempt(lambda: reconcile(ws.store, params, me()))
    if summary:  # rerun so the order's results above include the new run
        st.session_state.pop("rerun_month", None)
        flash_and_rerun(f"Run {summary.run_id}: {count(summary.exceptions)} exceptions.")
