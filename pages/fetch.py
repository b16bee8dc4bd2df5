"""Fetch: pull orders from the providers into the store, with progress and history."""

import polars as pl
import streamlit as st

from pages.ui.display import count, show_error, show_flash, table
from pages.ui.fetch_schedule import schedule_panel
from pages.ui.people import can, me, role_note
from pages.ui.period import period
from pages.ui.text import plain
from pages.ui.workspace import query, workspace
from rekon import fetch_log
from rekon.access import Role
from rekon.errors import RekonError
from rekon.fetching import fetch_orders
from rekon.providers.base import PROVIDER_TITLES, Progress, provider_title

ws = workspace()
st.title("Fetch orders")
show_flash()
configured = ws.configured_providers()
if not configured:
    st.error(
        "No provider is configured: set XEPENG_API_KEY or DURIANPAY_SERVER_KEY in "
        ".streamlit/secrets.toml."
    )
    st.stop()

start, end = period()
with st.form("fetch"):
    providers = st.multiselect(
        "Providers", configured, default=configured, format_func=provider_title
    )
    picked = st.date_input("Business dates (from – to)", value=(start, end), format="DD/MM/YYYY")
    with_payouts = st.checkbox(
        "Settlements too: the payouts settled in the range and the 7 days after it",
        value=False,
        help="Durianpay's settlement API. Xepeng publishes none: upload its settlement report "
        "on the Settlements page.",
    )
    submitted = st.form_submit_button(
        "Fetch orders", type="primary", disabled=not can(Role.REVIEWER)
    )
    role_note(Role.REVIEWER, "fetch orders")

if submitted:
    if not (isinstance(picked, tuple) and len(picked) == 2):
        st.error("Choose both a start and an end date.")
    elif not providers:
        st.error("Choose at least one provider.")
    else:
        bar = st.progress(0.0, text="Starting…")

        def show(p: Progress) -> None:
            total = f"/{p.pages_total}" if p.pages_total else ""
            bar.progress(
                p.fraction or 0.0,
                text=f"{provider_title(p.provider)}: page "
                f"{p.pages_done}{total}, {count(p.orders_done)} orders read",
            )

        clients = {}
        try:
            for name in providers:
                clients.update(ws.clients(name))
            what = ("orders", "settlements") if with_payouts else ("orders",)
            summary = fetch_orders(
                ws.store, clients, picked[0], picked[1], show, by=me(), what=what
            )
        except RekonError as exc:
            bar.empty()
            show_error(exc)
            st.caption("Nothing was stored: a failed fetch leaves the database as it was.")
        except ValueError as exc:
            bar.empty()
            st.error(plain(str(exc)))
        else:
            bar.progress(1.0, text="Done")
            st.success(summary.line(), icon=":material/check_circle:")
        finally:
            for client in clients.values():
                client.close()

schedule_panel(ws, configured)

st.subheader("Fetch history")
history = query(ws, fetch_log.fetch_history, 50)
if history.is_empty():
    st.caption("No fetches yet.")
else:
    names = pl.col("providers").str.split(",").list.eval(pl.element().replace(PROVIDER_TITLES))
    table(
        history.with_columns(names.list.join(", ")),
        counts=("orders_seen", "orders_new", "orders_updated"),
        column_config={
            "id": "Run",
            "providers": "Providers",
            "range_from": "From",
            "range_to": "To",
            "started_at": "Started",
            "finished_at": "Finished",
            "status": "Status",
            "orders_seen": "Orders",
            "orders_new": "New",
            "orders_updated": "Updated",
            "error": "Error",
            "requested_by": "By",
        },
    )
