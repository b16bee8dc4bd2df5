"""The dashboard's fetch schedule: when each is due, and the runner fetching from the sandbox
over HTTP into the store, recorded as `schedule`."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rekon import schedule
from rekon.access import AccessDenied
from rekon.config import Settings
from rekon.fetching import ClientOptions, OrderSource, make_clients
from rekon.schedule import Runner, Schedule, ScheduleError, set_schedule
from rekon.store import Store
from tests.conftest import FAST_RETRY
from tests.factories import OPERATOR, REVIEWER, VIEWER

SET = datetime(2026, 10, 20, 1, 0)  # UTC: 08:00 in Jakarta


def test_every_n_hours_runs_at_once_then_n_hours_after_the_last_run() -> None:
    s = Schedule("xepeng", 6, None, 3, "ana", SET)
    assert s.next_run(None, "Asia/Jakarta") == SET
    assert s.next_run(SET + timedelta(minutes=5), "Asia/Jakarta") == SET + timedelta(
        hours=6, minutes=5
    )


def test_daily_at_is_the_next_such_time_in_the_business_timezone() -> None:
    s = Schedule("durianpay", None, "06:30", 2, "ana", SET)  # set at 08:00 WIB
    assert s.next_run(None, "Asia/Jakarta") == datetime(2026, 10, 20, 23, 30)  # 06:30 WIB, 21 Oct
    evening = Schedule("durianpay", None, "21:00", 2, "ana", SET)
    assert evening.next_run(None, "Asia/Jakarta") == datetime(2026, 10, 20, 14, 0)  # same day
    ran = datetime(2026, 10, 20, 14, 0, 3)
    assert evening.next_run(ran, "Asia/Jakarta") == datetime(2026, 10, 21, 14, 0)
    assert evening.next_run(None, "Asia/Makassar") == datetime(2026, 10, 20, 13, 0)  # WITA
    assert s.window(date(2026, 10, 21)) == (date(2026, 10, 20), date(2026, 10, 21))


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"every_hours": 0}, "give 1 to 168 hours"),
        ({"daily_at": "25:00"}, "is not a time of day"),
        ({"every_hours": 2, "daily_at": "06:00"}, "not both"),
        ({"every_hours": 2, "window_days": 0}, "give 1 to 92 days"),
    ],
)
def test_a_schedule_rekon_cannot_run_is_refused(
    store: Store, kwargs: dict[str, object], why: str
) -> None:
    with pytest.raises(ScheduleError, match=why):
        set_schedule(store, "xepeng", REVIEWER, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(AccessDenied, match="cannot schedule fetches"):
        set_schedule(store, "xepeng", VIEWER, every_hours=2)


def test_the_runner_fetches_what_is_due_and_records_it_as_schedule(
    store: Store, settings: Settings
) -> None:
    def clients_for(provider: str) -> dict[str, OrderSource]:
        return make_clients(settings, provider, ClientOptions(retry=FAST_RETRY))

    runner = Runner(store, clients_for)
    assert runner.run_due() == []  # nothing scheduled
    made = set_schedule(store, "xepeng", REVIEWER, every_hours=6, window_days=2)
    set_schedule(store, "durianpay", REVIEWER, daily_at="06:30")
    now = made.set_at + timedelta(seconds=1)
    assert runner.run_due(now) == ["xepeng"]  # every-6-hours runs at once; 06:30 is later
    fetched = store.query(
        "SELECT providers, requested_by, status, range_from, range_to FROM fetch_runs"
    ).row(0, named=True)
    today = (now + timedelta(hours=7)).date()  # Jakarta
    assert fetched == {
        "providers": "xepeng", "requested_by": "schedule", "status": "succeeded",
        "range_from": today - timedelta(days=1), "range_to": today,
    }  # fmt: skip
    assert runner.run_due(now + timedelta(hours=1)) == []  # not due again yet
    plan = schedule.planned(store)["xepeng"]
    assert plan.last_run is not None and plan.next_run == plan.last_run + timedelta(hours=6)
    assert sorted(runner.run_due(now + timedelta(days=1))) == ["durianpay", "xepeng"]
    # Turned off, it runs no more; the history keeps every setting.
    set_schedule(store, "xepeng", OPERATOR)
    assert runner.run_due(now + timedelta(days=3)) == ["durianpay"]
    assert store.scalar("SELECT count(*) FROM fetch_schedules") == 3
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'schedule.set'") == 3


def test_the_runner_thread_runs_on_its_own(store: Store, settings: Settings) -> None:
    set_schedule(store, "durianpay", REVIEWER, every_hours=1, window_days=1)
    runner = Runner(store, lambda p: make_clients(settings, p, ClientOptions()), tick=0.1)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not store.scalar(
            "SELECT count(*) FROM fetch_runs WHERE requested_by = 'schedule'"
        ):
            time.sleep(0.1)
    finally:
        runner.stop()
    assert store.scalar("SELECT status FROM fetch_runs") == "succeeded"


def test_the_fetch_page_sets_a_schedule_and_shows_its_next_run(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.secrets["REKON_DB"] = str(tmp_path / "s.duckdb")
    at.secrets["REKON_BOOTSTRAP"] = "0"
    at.run().switch_page("pages/fetch.py").run()
    assert not at.exception
    assert "**Xepeng: no schedule**" in [m.value for m in at.markdown]
    next(r for r in at.radio if r.key == "mode_xepeng").set_value("Daily at")
    next(t for t in at.time_input if t.key == "at_xepeng").set_value(dtime(5, 45))
    next(b for b in at.button if b.label == "Save Xepeng's schedule").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Schedule saved — Xepeng: daily at 05:45")
    line = next(m.value for m in at.markdown if m.value.startswith("**Xepeng: daily at 05:45"))
    assert "last run not yet · next run" in line and "05:45 WIB" in line


def test_a_schedule_with_settlements_fetches_the_payouts_too(
    store: Store, settings: Settings
) -> None:
    runner = Runner(store, lambda p: make_clients(settings, p, ClientOptions(retry=FAST_RETRY)))
    made = set_schedule(
        store, "durianpay", REVIEWER, every_hours=6, window_days=92,
        what=("orders", "settlements"),
    )  # fmt: skip
    assert made.describe() == "Durianpay: every 6 hour(s), the last 92 day(s) with settlements"
    assert schedule.schedules(store)["durianpay"].parts == ("orders", "settlements")
    # The sandbox's payouts are of Sep–Nov 2026: the window reaches back to them.
    assert runner.run_due(made.set_at + timedelta(seconds=1)) == ["durianpay"]
    assert store.scalar("SELECT what FROM fetch_runs") == "orders,settlements"
    assert store.scalar("SELECT count(*) FROM settlement_sources WHERE kind = 'api'") == 1
    assert store.scalar("SELECT count(*) FROM settlements") > 0
    with pytest.raises(schedule.ScheduleError, match="orders, settlements"):
        set_schedule(store, "durianpay", REVIEWER, every_hours=6, what=("payouts",))
