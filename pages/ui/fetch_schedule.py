"""The Fetch page's schedule: per provider, every N hours or daily at HH:MM, a window of the
last D days, with its last and next run. It runs inside the dashboard process."""

from __future__ import annotations

from datetime import time

import streamlit as st

from pages.ui.display import attempt, flash_and_rerun, local_time
from pages.ui.people import can, me, role_note
from pages.ui.workspace import query
from rekon import schedule
from rekon.access import Role
from rekon.names import provider_title
from rekon.workspace import Workspace

MODES = ("Off", "Every N hours", "Daily at")


def schedule_panel(ws: Workspace, providers: list[str]) -> None:
    st.subheader("Schedule")
    st.caption(
        f"Keeps the store current by itself: the dashboard fetches on this schedule (times in "
        f"{ws.settings.timezone}), recorded in the history below as *schedule*."
        + (
            " The store is shared: one of the dashboard processes using it runs the schedule "
            "(elected by a PostgreSQL lock), and another takes over if it stops."
            if ws.store.shared
            else ""
        )
    )
    plans = query(ws, schedule.planned)
    for provider in providers:
        plan = plans.get(provider)
        _one(ws, provider, plan)
    role_note(Role.REVIEWER, "schedule fetches")


def _one(ws: Workspace, provider: str, plan: schedule.Planned | None) -> None:
    current = plan.schedule if plan else None
    title = provider_title(provider)
    if plan is not None and plan.schedule.enabled:
        last = local_time(plan.last_run) if plan.last_run else "not yet"
        upcoming = local_time(plan.next_run) if plan.next_run else "—"
        st.markdown(f"**{plan.schedule.describe()}** · last run {last} · next run {upcoming}")
    else:
        st.markdown(f"**{title}: no schedule**")
    with st.form(f"schedule_{provider}"):
        mode_now = (
            0 if current is None or not current.enabled else (1 if current.every_hours else 2)
        )
        left, mid, right = st.columns(3)
        mode = left.radio("Run", MODES, index=mode_now, horizontal=True, key=f"mode_{provider}")
        hours = mid.number_input(
            "Every (hours)", 1, 168, (current.every_hours if current else None) or 6,
            key=f"hours_{provider}",
        )  # fmt: skip
        at = mid.time_input(
            "Daily at", _time(current.daily_at if current else None), key=f"at_{provider}"
        )
        days = right.number_input(
            "Window (last days)", 1, 92, current.window_days if current else 3,
            key=f"days_{provider}",
        )  # fmt: skip
        payouts = provider == "durianpay" and st.checkbox(
            "With settlements (the payouts of the window and the 7 days after it)",
            value=bool(current and "settlements" in current.parts),
            key=f"settlements_{provider}",
        )
        if st.form_submit_button(f"Save {title}'s schedule", disabled=not can(Role.REVIEWER)):
            made = attempt(
                lambda: schedule.set_schedule(
                    ws.store,
                    provider,
                    me(),
                    every_hours=int(hours) if mode == MODES[1] else None,
                    daily_at=f"{at:%H:%M}" if mode == MODES[2] else None,
                    window_days=int(days),
                    what=("orders", "settlements") if payouts else ("orders",),
                )
            )
            if made is not None:
                flash_and_rerun(f"Schedule saved — {made.describe()}.")


def _time(text: str | None) -> time:
    if not text:
        return time(6, 0)
    hour, minute = (int(p) for p in text.split(":"))
    return time(hour, minute)
