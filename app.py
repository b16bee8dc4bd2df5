"""Rekon dashboard entry point (placeholder until the pages land)."""

import streamlit as st

st.title("Rekon")
