"""A period's sign-off where reviewers look: a line on every period page, and a lapse's changed
orders, old and new, on the Overview and the Close page."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from pages.ui.display import local_time, table
from pages.ui.text import plain
from pages.ui.workspace import query
from rekon import closing
from rekon.workspace import Workspace


def signoff_banner(ws: Workspace, start: date, end: date, changes: bool = False) -> None:
    """Say whether the period is signed off (and so locked), or lapsed since; with `changes`,
    list the orders that lapsed it."""
    found = query(ws, closing.status, start, end)
    if found.current is None:
        return
    signed = found.current
    text = (
        f"{signed.period} is signed off by {signed.signed_by} ({local_time(signed.signed_at)}, "
        f"run {signed.run_id}, version {signed.version}) and locked: runs, decisions, matches "
        "and ledger changes touching it are refused until an approver reopens it."
    )
    if found.state != "lapsed":
        st.info(plain(text), icon=":material/lock:")
        return
    st.warning(
        plain(
            f"Sign-off LAPSED: {found.changes.height} order(s) of {signed.period} changed at the "
            f"provider after {signed.signed_by} signed it off. The period stays locked; an "
            "approver reviews the changes, reopens it with a reason, and signs off again."
        ),
        icon=":material/history:",
    )
    if changes:
        changed_orders(found.changes)


def changed_orders(frame: pl.DataFrame) -> None:
    table(
        frame.select(
            "provider",
            "order_id",
            "old_amount",
            "new_amount",
            "old_status",
            "new_status",
            "fetch_run",
        ),
        "old_amount",
        "new_amount",
        column_config={
            "provider": "Provider",
            "order_id": "Order",
            "old_amount": "Amount at sign-off",
            "new_amount": "Amount now",
            "old_status": "Status at sign-off",
            "new_status": "Status now",
            "fetch_run": "Fetch",
        },
    )
