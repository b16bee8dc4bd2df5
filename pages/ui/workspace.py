"""What every page stands on: the settings, the workspace (one DuckDB connection, the sandbox),
the page list, and reads cached until the data changes.

Not a page: app.py lists the pages explicitly (see `_run_through_app` for the one moment
Streamlit still looks at the pages/ folder by itself, and docs/architecture.md for why the
helpers live in this package).
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from pages.ui.text import plain
from rekon.access import Role
from rekon.config import Settings, load_settings
from rekon.errors import RekonError
from rekon.workspace import Workspace, open_workspace

# Every page, in navigation order: (file, title, the least role that sees it). app.py, the
# AppTest suite and the page benchmark all read this list, so a page cannot be added to one and
# forgotten in another. No icons: a Material icon makes the browser fetch it from Google's CDN
# (the app must load nothing from outside), and an emoji shows as an empty box where no emoji
# font is installed.
PAGES = [
    ("pages/overview.py", "Overview", Role.VIEWER),
    ("pages/fetch.py", "Fetch", Role.VIEWER),
    ("pages/ledger.py", "Ledger", Role.VIEWER),
    ("pages/reconcile.py", "Reconcile", Role.VIEWER),
    ("pages/charts.py", "Charts", Role.VIEWER),
    ("pages/exports.py", "Exports", Role.VIEWER),
    ("pages/orders.py", "Orders", Role.VIEWER),
    ("pages/close.py", "Close", Role.VIEWER),
    ("pages/settings.py", "Settings", Role.VIEWER),
    ("pages/audit.py", "Audit", Role.APPROVER),
]

APP = Path(__file__).resolve().parents[2] / "app.py"


def _secrets() -> dict[str, Any]:
    """Settings from .streamlit/secrets.toml (or AppTest's), or none when there is no file: the
    plain values, the [rekon] tables, and whether an [auth] table is there (never its keys)."""
    try:
        found: dict[str, Any] = {}
        for k, v in st.secrets.items():
            if isinstance(v, str | int | float):
                found[k] = v
            elif k == "rekon" and isinstance(v, Mapping):
                found[k] = _plain(v)
            elif k == "auth" and isinstance(v, Mapping):
                found[k] = {}
        return found
    except Exception:
        return {}


def _plain(table: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) if isinstance(v, Mapping) else v for k, v in table.items()}


def settings() -> Settings:
    return load_settings(secrets=_secrets())


@st.cache_resource(show_spinner="Opening Rekon…")
def _open(key: tuple[object, ...], _settings: Settings) -> Workspace:
    return open_workspace(_settings)


def workspace() -> Workspace:
    """The process-wide workspace for these settings (one DuckDB connection, one sandbox).
    A setting Rekon cannot use, or a database it cannot open, stops the page with the reason."""
    _run_through_app()
    return app_workspace()


def app_workspace() -> Workspace:
    """`workspace()` for app.py itself, which is already the way in."""
    try:
        return _workspace()
    except RekonError as exc:
        st.error(plain(f"Rekon cannot start: {exc}."), icon=":material/error:")
        st.stop()


def _workspace() -> Workspace:
    s = settings()
    key = (
        s.store_name,
        hash(s.db_url),
        s.timezone,
        s.sandbox,
        s.bootstrap,
        s.xepeng.base_url if s.xepeng else None,
        s.durianpay.base_url if s.durianpay else None,
    )
    return _open(key, s)


def _run_through_app() -> None:
    """Until some run has called st.navigation, Streamlit treats pages/ as an old-style
    multipage folder and runs the page a visitor opens on its own, without app.py's navigation,
    sidebar and banner: the first visitor after a server start who opens a bookmark, and every
    visitor after them until someone opens the root (Streamlit's AppTest does the same on every
    run). Every page asks for the workspace first, so such a run goes through app.py here: it
    calls st.navigation, which runs this same page inside it, with this run's clicks."""
    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()


@st.cache_data(ttl=600, max_entries=256, show_spinner=False)
def _cached(
    name: str, version: tuple[object, ...], db: str, args: tuple[Any, ...], _fn: Callable[..., Any]
) -> Any:
    return _fn(workspace().store, *args)


def query(ws: Workspace, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(store, *args)`, a read, cached until the data changes: a fetch, import, run, review
    or order update."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    return _cached(name, ws.data_version(), ws.store.where, args, fn)


def sandbox_banner(ws: Workspace) -> None:
    if ws.sandbox_mode:
        st.info(
            "**Sandbox mode** — no provider keys are configured, so Rekon is using its "
            "built-in Xepeng and Durianpay emulators with sample data. Set the keys in "
            "`.streamlit/secrets.toml` to use your real accounts.",
            icon=":material/science:",
        )
