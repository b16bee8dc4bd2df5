"""What a reload or a shared link must keep — the period, the filters, the page of results —
kept in the page's address (`st.query_params`), read back when a session starts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import streamlit as st


def seed(key: str, param: str, parse: Callable[[str], Any]) -> None:
    """Before the widget `key` is drawn in a new session, take its value from the address.
    A value that does not parse (an edited link) is ignored."""
    if key in st.session_state or param not in st.query_params:
        return
    with suppress(ValueError, KeyError, TypeError):
        st.session_state[key] = parse(st.query_params[param])


def publish(**values: str | None) -> None:
    """Write these values into the address (an empty one is taken out of it)."""
    for name, value in values.items():
        if not value:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


def listed(allowed: list[str] | tuple[str, ...]) -> Callable[[str], list[str]]:
    """A parser for a comma-separated list of some of `allowed`, in their order."""

    def parse(text: str) -> list[str]:
        wanted = set(text.split(","))
        return [a for a in allowed if a in wanted]

    return parse
