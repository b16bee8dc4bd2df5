"""Rekon dashboard: `streamlit run app.py` (or `make run`)."""

# Heavy libraries first, on the main thread: a page's first lazy import on a cold server can
# race and show a half-initialised module to the first visitor.
import duckdb  # noqa: F401
import pandas  # noqa: F401
import plotly.express  # noqa: F401
import polars  # noqa: F401
import streamlit as st

from pages._shared import period_picker, sandbox_banner, workspace

st.set_page_config(page_title="Rekon", page_icon=":material/balance:", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/fetch.py", title="Fetch", icon=":material/cloud_download:"),
    st.Page("pages/ledger.py", title="Ledger", icon=":material/upload_file:"),
    st.Page("pages/reconcile.py", title="Reconcile", icon=":material/rule:"),
    st.Page("pages/charts.py", title="Charts", icon=":material/bar_chart:"),
    st.Page("pages/exports.py", title="Exports", icon=":material/download:"),
    st.Page("pages/orders.py", title="Orders", icon=":material/search:"),
]

navigation = st.navigation(PAGES)
ws = workspace()
with st.sidebar:
    period_picker(ws)
sandbox_banner(ws)
navigation.run()
