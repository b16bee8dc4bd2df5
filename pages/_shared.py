"""What every page shares: the workspace, the period, caching, formatting, errors.

Not a page: app.py lists the pages explicitly (see `_run_through_app` for the one moment
Streamlit still looks at the folder by itself).
"""

from __future__ import annotations

import calendar
import runpy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from rekon import fetch_log, results
from rekon.config import Settings, load_settings
from rekon.errors import RekonError
from rekon.money import format_count, format_idr
from rekon.providers.base import AuthError, ProviderError, provider_title
from rekon.sandbox.data import GOLDEN_MONTH, month_bounds
from rekon.workspace import Workspace, default_period, open_workspace

# Every page, in navigation order: (file, title, icon). app.py, the AppTest suite and the page
# benchmark all read this list, so a page cannot be added to one and forgotten in another.
# Labels for columns that appear on several pages; a page adds its own.
LABELS = {
    "provider": "Provider",
    "order_id": "Order",
    "merchant_ref": "Merchant ref",
    "payment_id": "Payment id",
    "amount": "Amount",
    "status": "Status",
    "provider_status": "Provider status",
    "business_date": "Business date",
    "customer_name": "Customer",
    "description": "Description",
    "line_no": "Line",
    "entry_date": "Date",
    "reference": "Reference",
    "currency": "Currency",
    "email": "Email",
    "column": "Column",
    "value": "Value",
    "reason": "Why",
}

PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/fetch.py", "Fetch", ":material/cloud_download:"),
    ("pages/ledger.py", "Ledger", ":material/upload_file:"),
    ("pages/reconcile.py", "Reconcile", ":material/rule:"),
    ("pages/charts.py", "Charts", ":material/bar_chart:"),
    ("pages/exports.py", "Exports", ":material/download:"),
    ("pages/orders.py", "Orders", ":material/search:"),
]
APP = Path(__file__).resolve().parent.parent / "app.py"
KEY_NAMES = {"xepeng": "XEPENG_API_KEY", "durianpay": "DURIANPAY_SERVER_KEY"}


def _secrets() -> dict[str, Any]:
    """Plain values from .streamlit/secrets.toml (or AppTest's), or none when there is no file."""
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str | int | float)}
    except Exception:
        return {}


def settings() -> Settings:
    return load_settings(secrets=_secrets())


@st.cache_resource(show_spinner="Opening Rekon…")
def _open(key: tuple[object, ...], _settings: Settings) -> Workspace:
    return open_workspace(_settings)


def workspace() -> Workspace:
    """The process-wide workspace for these settings (one DuckDB connection, one sandbox)."""
    _run_through_app()
    s = settings()
    key = (
        str(s.db_path),
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
    return _cached(name, ws.data_version(), str(ws.store.path), args, fn)


def fetch_gap_warnings(ws: Workspace, start: date, end: date) -> None:
    """Say so when the period has days whose orders were never fetched: reconciled, every sale
    booked on them would look missing at the provider."""
    for gap in query(ws, fetch_log.fetch_gaps, start, end, tuple(ws.configured_providers())):
        st.warning(
            f"{gap.describe()}. Fetch them on the **Fetch** page.", icon=":material/cloud_off:"
        )


def period() -> tuple[date, date]:
    value: tuple[date, date] = st.session_state["period"]
    return value


def period_label(start: date, end: date) -> str:
    if start.day == 1 and end == start.replace(day=calendar.monthrange(start.year, start.month)[1]):
        return f"{start:%B %Y}"
    return f"{start:%d %b %Y} – {end:%d %b %Y}"


def period_picker(ws: Workspace) -> None:
    default = default_period(ws.store, date.today(), GOLDEN_MONTH if ws.sandbox_mode else None)
    months = sorted(
        {f"{d:%Y-%m}" for d in _recent_months(date.today())}
        | {f"{default[0]:%Y-%m}"}
        | set(_data_months(ws)),
        reverse=True,
    )
    st.session_state.setdefault("period_month", f"{default[0]:%Y-%m}")
    mode = st.radio("Period", ["Month", "Custom range"], horizontal=True, key="period_mode")
    if mode == "Month":
        month = st.selectbox(
            "Month",
            months,
            key="period_month",
            format_func=lambda m: f"{date.fromisoformat(m + '-01'):%B %Y}",
        )
        st.session_state["period"] = month_bounds(month)
    else:
        picked = st.date_input("From – to", value=default, key="period_range", format="DD/MM/YYYY")
        if isinstance(picked, tuple) and len(picked) == 2:
            st.session_state["period"] = (picked[0], picked[1])
        else:
            st.session_state.setdefault("period", default)
    st.caption(f"Dates are business dates in {ws.settings.timezone}.")


def _recent_months(today: date) -> list[date]:
    out, y, m = [], today.year, today.month
    for _ in range(12):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def _data_months(ws: Workspace) -> list[str]:
    frame = ws.store.query("SELECT DISTINCT strftime(business_date, '%Y-%m') AS m FROM orders")
    return frame["m"].to_list()


def sandbox_banner(ws: Workspace) -> None:
    if ws.sandbox_mode:
        st.info(
            "**Sandbox mode** — no provider keys are configured, so Rekon is using its "
            "built-in Xepeng and Durianpay emulators with sample data. Set the keys in "
            "`.streamlit/secrets.toml` to use your real accounts.",
            icon=":material/science:",
        )


def count(n: int) -> str:
    """A count as an Indonesian reader writes it: 10.006."""
    return format_count(n)


def idr(value: Decimal | None) -> str:
    return format_idr(value)


def with_idr(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Amount columns as 'Rp 1.500.000' text for display (a page holds at most 1,000 rows)."""
    return frame.with_columns(
        pl.Series(c, [format_idr(v) if v is not None else "" for v in frame[c]], pl.String)
        for c in columns
        if c in frame.columns
    )


def table(frame: pl.DataFrame, *money: str, **options: Any) -> Any:
    """A table as a reviewer reads it: amounts in rupiah, dates without a time of day (a DATE
    otherwise reaches the browser as midnight), times on the reviewer's clock (they are stored
    in UTC), missing text blank. A plain label in `column_config` keeps these."""
    config = dict(options.pop("column_config", {}))
    zone = settings().timezone
    for c, t in frame.schema.items():
        label = config.get(c)
        if not isinstance(label, str | None):
            continue
        if t == pl.Date:
            config[c] = st.column_config.DateColumn(label)
        elif isinstance(t, pl.Datetime) and t.time_zone is None:
            frame = frame.with_columns(
                pl.col(c).dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
            )
            config[c] = st.column_config.DatetimeColumn(
                f"{label or c} ({zone_name(zone)})", format="D MMM YYYY HH:mm"
            )
    frame = frame.with_columns(pl.col(pl.String).fill_null(""))  # blank, not a grey "None"
    return st.dataframe(with_idr(frame, *money), hide_index=True, column_config=config, **options)


def zone_name(zone: str) -> str:
    """The zone as its people write it: WIB for Asia/Jakarta."""
    return datetime.now(ZoneInfo(zone)).strftime("%Z")


def local_time(value: datetime, with_year: bool = False) -> str:
    """A stored UTC time on the reviewer's clock: '23 Nov 10:03 WIB'."""
    zone = settings().timezone
    shown = value.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return f"{shown:%d %b {'%Y ' if with_year else ''}%H:%M} {zone_name(zone)}"


def explain(exc: Exception) -> str:
    """An error as a person can act on it."""
    if isinstance(exc, AuthError):
        name = provider_title(exc.provider)
        return (
            f"{name} refused the API key — set {KEY_NAMES.get(exc.provider, 'the key')} in "
            f".streamlit/secrets.toml (or the environment) and try again. ({exc})"
        )
    if isinstance(exc, ProviderError):
        return str(exc)
    return str(exc) or type(exc).__name__


def show_error(exc: Exception) -> None:
    """An error on the page, in words a person can act on, instead of a traceback."""
    st.error(explain(exc), icon=":material/error:")


def attempt(action: Callable[[], Any]) -> Any:
    """Run an action; show a RekonError as st.error instead of a traceback."""
    try:
        return action()
    except RekonError as exc:
        show_error(exc)
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
    return None


def flash_and_rerun(message: str) -> NoReturn:
    """Rerun the page so that everything drawn before the action shows its effect (a table
    above a form would otherwise still show the old state), and say once what was done."""
    st.session_state["flash"] = message
    st.rerun()


def show_flash() -> None:
    """The message of the action that caused this rerun, if any, shown once."""
    if message := st.session_state.pop("flash", None):
        st.success(message, icon=":material/check_circle:")


def run_label(runs: pl.DataFrame, run_id: int) -> str:
    """A run as a reviewer tells runs apart: when, by whom, on which ledgers, how loosely.
    `runs` is `results.runs_for_period`."""
    r = runs.filter(runs["id"] == run_id).row(0, named=True)
    ledgers_used = ", ".join(map(str, r["ledger_ids"])) if r["ledger_ids"] else "all"
    return (
        f"Run {run_id} · {local_time(r['finished_at'])} · {r['run_by'] or 'unknown'} · "
        f"ledgers {ledgers_used} · tolerance {idr(r['amount_tolerance'])} · "
        f"window {r['date_window']} d"
    )


def latest_run_id(ws: Workspace, start: date, end: date) -> int | None:
    runs = query(ws, results.runs_for_period, start, end)
    return int(runs["id"][0]) if runs.height else None
