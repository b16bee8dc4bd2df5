"""The period a reviewer picked in the sidebar, which holds on every page, and its runs."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from pages.ui.address import publish, seed
from pages.ui.display import idr, local_time
from pages.ui.signoff import signoff_banner
from pages.ui.text import plain
from pages.ui.workspace import query
from rekon import fetch_log, pairing, results
from rekon.periods import is_whole_month, month_bounds
from rekon.sandbox.data import GOLDEN_MONTH
from rekon.workspace import Workspace, default_period


def period() -> tuple[date, date]:
    value: tuple[date, date] = st.session_state["period"]
    return value


def period_label(start: date, end: date) -> str:
    if is_whole_month(start, end):
        return f"{start:%B %Y}"
    return f"{start:%d %b %Y} – {end:%d %b %Y}"


def period_picker(ws: Workspace) -> None:
    today = ws.settings.today()
    default = default_period(ws.store, today, GOLDEN_MONTH if ws.sandbox_mode else None)
    months = sorted(
        {f"{d:%Y-%m}" for d in _recent_months(today)}
        | {f"{default[0]:%Y-%m}"}
        | set(_data_months(ws)),
        reverse=True,
    )
    # A reload or a shared link opens the same period: ?month=2026-10 or ?from=…&to=….
    seed("chosen_month", "month", lambda m: f"{month_bounds(m)[0]:%Y-%m}")
    if "from" in st.query_params and "to" in st.query_params:
        seed("chosen_mode", "from", lambda _: "Custom range")
        seed(
            "chosen_range", "from", lambda _: _range(st.query_params["from"], st.query_params["to"])
        )
    chosen_month = st.session_state.setdefault("chosen_month", f"{default[0]:%Y-%m}")
    chosen_range = st.session_state.setdefault("chosen_range", default)
    if chosen_month not in months:  # an older month from a link
        months = sorted([*months, chosen_month], reverse=True)
    # The choice is kept apart from the widgets and drawn as their default: the sidebar is
    # drawn again on each page, and a widget the browser re-creates on a page change would
    # otherwise fall back to its first option (the newest month) on the next click.
    modes = ["Month", "Custom range"]
    mode = st.radio(
        "Period", modes, index=modes.index(st.session_state.get("chosen_mode", "Month")),
        horizontal=True, key="period_mode", on_change=_keep, args=("chosen_mode", "period_mode"),
    )  # fmt: skip
    if mode == "Month":
        month = st.selectbox(
            "Month",
            months,
            index=months.index(chosen_month),
            key="period_month",
            format_func=lambda m: f"{date.fromisoformat(m + '-01'):%B %Y}",
            on_change=_keep,
            args=("chosen_month", "period_month"),
        )
        st.session_state["period"] = month_bounds(month)
        publish(month=month, **{"from": None, "to": None})
    else:
        picked = st.date_input(
            "From – to", chosen_range, key="period_range", format="DD/MM/YYYY",
            on_change=_keep, args=("chosen_range", "period_range"),
        )  # fmt: skip
        if isinstance(picked, tuple) and len(picked) == 2:
            st.session_state["period"] = (picked[0], picked[1])
            publish(month=None, **{"from": picked[0].isoformat(), "to": picked[1].isoformat()})
        else:
            st.session_state.setdefault("period", default)
    st.caption(f"Dates are business dates in {ws.settings.timezone}.")


def _keep(chosen: str, widget: str) -> None:
    value = st.session_state[widget]
    if not (isinstance(value, tuple) and len(value) != 2):  # a range half picked is not kept
        st.session_state[chosen] = value


def _range(start: str, end: str) -> tuple[date, date]:
    lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    if hi < lo:
        raise ValueError("the range ends before it starts")
    return lo, hi


def _recent_months(today: date) -> list[date]:
    out, y, m = [], today.year, today.month
    for _ in range(12):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def _data_months(ws: Workspace) -> list[str]:
    # The distinct days (a few hundred) rather than a month string per order (ten million).
    days = ws.store.query("SELECT DISTINCT business_date AS d FROM orders")["d"]
    return sorted({f"{d:%Y-%m}" for d in days})


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


def period_warnings(ws: Workspace, start: date, end: date, lapse_details: bool = False) -> None:
    """Say so when the period has days whose orders were never fetched (reconciled, every sale
    booked on them would look missing at the provider), or orders not in rupiah; and whether it
    is signed off (with `lapse_details`, a lapse's changed orders)."""
    signoff_banner(ws, start, end, lapse_details)
    for gap in query(ws, fetch_log.fetch_gaps, start, end, tuple(ws.configured_providers())):
        st.warning(
            f"{gap.describe()}. Fetch them on the **Fetch** page.", icon=":material/cloud_off:"
        )
    for foreign in query(ws, fetch_log.foreign_orders, start, end):
        st.warning(plain(f"{foreign.describe()}."), icon=":material/currency_exchange:")
    for stale in query(ws, pairing.stale_matches, start, end):
        st.warning(plain(f"{stale[0].upper()}{stale[1:]}."), icon=":material/link_off:")
