"""What the pages share: how things are shown, the workspace, the period, the item panel.

A package, not files beside the pages: Streamlit lists every .py file directly in pages/ as a
page of its own until app.py's st.navigation has run once (see docs/architecture.md).
"""
