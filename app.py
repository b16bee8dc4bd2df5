"""Rekon dashboard: `streamlit run app.py` (or `make run`)."""

# Heavy libraries first, on the main thread: a page's first lazy import on a cold server can
# race and show a half-initialised module to the first visitor.
import duckdb  # noqa: F401
import pandas  # noqa: F401
import plotly.express  # noqa: F401
import polars  # noqa: F401
import streamlit as st

from pages.ui.display import show_error
from pages.ui.people import anonymous_warning, gate, person_box
from pages.ui.period import period_picker
from pages.ui.workspace import PAGES, app_workspace, sandbox_banner
from rekon.errors import RekonError

st.set_page_config(page_title="Rekon", page_icon="⚖️", layout="wide")

ws = app_workspace()
# Before any page: a visitor not signed in sees the sign-in page only, whatever the address.
actor = gate(ws)
navigation = st.navigation(
    [
        st.Page(path, title=title, default=i == 0)
        for i, (path, title, role) in enumerate(PAGES)
        if actor.role >= role
    ]
)
with st.sidebar:
    period_picker(ws)
    person_box(ws, actor)
anonymous_warning()
sandbox_banner(ws)
try:
    navigation.run()
except RekonError as exc:  # one a page did not expect, such as a store damaged under it
    show_error(exc)
