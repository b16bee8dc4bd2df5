"""Rekon dashboard: `streamlit run app.py` (or `make run`)."""

# Heavy libraries first, on the main thread: a page's first lazy import on a cold server can
# race and show a half-initialised module to the first visitor.
import duckdb  # noqa: F401
import pandas  # noqa: F401
import plotly.express  # noqa: F401
import polars  # noqa: F401
import streamlit as st

from pages.ui.display import show_error
from pages.ui.period import period_picker
from pages.ui.workspace import PAGES, reviewer_box, sandbox_banner, workspace
from rekon.errors import RekonError

st.set_page_config(page_title="Rekon", page_icon="⚖️", layout="wide")

NAVIGATION = [st.Page(path, title=title, default=i == 0) for i, (path, title) in enumerate(PAGES)]

navigation = st.navigation(NAVIGATION)
ws = workspace()
with st.sidebar:
    period_picker(ws)
    reviewer_box(ws)
sandbox_banner(ws)
try:
    navigation.run()
except RekonError as exc:  # one a page did not expect, such as a store damaged under it
    show_error(exc)
