"""The dashboard's own schedule: per provider, fetch the last D days every N hours or daily at
HH:MM (in REKON_TIMEZONE), inside the dashboard process, recorded in the fetch history as
`schedule` like any fetch.

A schedule is a row; changing it appends a new row (the latest per provider holds), so its
history is kept like everything else. One runner per process wakes every `tick` seconds and
runs what is due. With one store file there is one dashboard process, so one runner; with a
PostgreSQL store shared by several dashboard processes, the runner that holds the `schedule`
lease (a PostgreSQL advisory lock) runs them, and another takes over when its process ends.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.fetching import OrderSource, fetch_orders, parse_what
from rekon.names import PROVIDER_TITLES, provider_title
from rekon.store import Store, utc_now
from rekon.team_locks import Lease

log = logging.getLogger(__name__)

# Who a scheduled fetch is recorded as: a reviewer's rights, nothing more.
SCHEDULE = Actor("schedule", Role.REVIEWER)
TICK_SECONDS = 30.0


class ScheduleError(RekonError):
    """A schedule that cannot be set as asked."""


@dataclass(frozen=True)
class Schedule:
    provider: str
    every_hours: int | None  # every N hours, or
    daily_at: str | None  # "HH:MM" in the store's timezone
    window_days: int  # fetch the last D business days, today included
    set_by: str
    set_at: datetime  # UTC
    what: str | None = "orders"  # orders, or orders,settlements (a comma-separated list)

    @property
    def parts(self) -> tuple[str, ...]:
        return parse_what(self.what or "orders")

    @property
    def enabled(self) -> bool:
        return self.every_hours is not None or self.daily_at is not None

    def describe(self) -> str:
        if not self.enabled:
            return f"{provider_title(self.provider)}: off"
        when = (
            f"every {self.every_hours} hour(s)" if self.every_hours else f"daily at {self.daily_at}"
        )
        brings = " with settlements" if "settlements" in self.parts else ""
        return (
            f"{provider_title(self.provider)}: {when}, the last {self.window_days} day(s){brings}"
        )

    def next_run(self, last_run: datetime | None, tz: str) -> datetime | None:
        """When it is next due (UTC), after the last scheduled fetch (or, never run, after it
        was set: an every-N-hours schedule then runs at once)."""
        if not self.enabled:
            return None
        if self.every_hours:
            return self.set_at if last_run is None else last_run + timedelta(hours=self.every_hours)
        assert self.daily_at is not None
        zone = ZoneInfo(tz)
        after = (last_run or self.set_at).replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
        hour, minute = (int(p) for p in self.daily_at.split(":"))
        at = datetime.combine(after.date(), time(hour, minute), zone)
        if at <= after:
            at = datetime.combine(after.date() + timedelta(days=1), time(hour, minute), zone)
        return at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    def window(self, today: date) -> tuple[date, date]:
        return today - timedelta(days=self.window_days - 1), today


def set_schedule(
    store: Store,
    provider: str,
    by: Actor,
    *,
    every_hours: int | None = None,
    daily_at: str | None = None,
    window_days: int = 3,
    what: tuple[str, ...] = ("orders",),
) -> Schedule:
    """Set (or, with neither `every_hours` nor `daily_at`, turn off) a provider's schedule;
    `what` it fetches: orders, and settlements too (see `fetching.WHAT`)."""
    by.require(Role.REVIEWER, "schedule fetches")
    if provider not in PROVIDER_TITLES:
        raise ScheduleError(f"unknown provider {provider!r}: use xepeng or durianpay")
    if every_hours is not None and daily_at is not None:
        raise ScheduleError("a schedule runs every N hours or daily at a time, not both")
    if every_hours is not None and not 1 <= every_hours <= 168:
        raise ScheduleError(f"every {every_hours} hours: give 1 to 168 hours")
    if daily_at is not None:
        found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", daily_at.strip())
        if not found:
            raise ScheduleError(f"{daily_at!r} is not a time of day: give HH:MM, such as 06:30")
        daily_at = f"{int(found[1]):02d}:{found[2]}"
    if not 1 <= window_days <= 92:
        raise ScheduleError(f"a window of {window_days} days: give 1 to 92 days")
    try:
        parts = parse_what(",".join(what))
    except ValueError as exc:
        raise ScheduleError(f"a schedule fetches {exc}") from None
    made = Schedule(
        provider, every_hours, daily_at, window_days, by.name, utc_now(), ",".join(parts)
    )
    with store.write() as cur:
        cur.execute(
            "INSERT INTO fetch_schedules (provider, every_hours, daily_at, window_days, set_by,"
            " set_at, what) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [provider, every_hours, daily_at, window_days, by.name, made.set_at, made.what],
        )
        store.audit(cur, by.name, "schedule.set", f"schedule:{provider}",
                    json.dumps({"schedule": made.describe()}))  # fmt: skip
    return made


def schedules(store: Store) -> dict[str, Schedule]:
    """The schedule in force per provider (off ones included)."""
    rows = store.query(
        "SELECT * FROM fetch_schedules"
        " QUALIFY row_number() OVER (PARTITION BY provider ORDER BY set_at DESC) = 1"
    )
    return {r["provider"]: Schedule(**r) for r in rows.iter_rows(named=True)}


def last_runs(store: Store) -> dict[str, datetime]:
    """When each provider's last scheduled fetch started (UTC)."""
    rows = store.query(
        "SELECT providers, max(started_at) AS at FROM fetch_runs"
        " WHERE requested_by = ? GROUP BY providers",
        [SCHEDULE.name],
    )
    return dict(rows.iter_rows())


@dataclass(frozen=True)
class Planned:
    """A provider's schedule with its last and next run, as the Fetch page shows it."""

    schedule: Schedule
    last_run: datetime | None
    next_run: datetime | None


def planned(store: Store) -> dict[str, Planned]:
    last = last_runs(store)
    return {
        p: Planned(s, last.get(p), s.next_run(last.get(p), store.timezone))
        for p, s in schedules(store).items()
    }


class Runner:
    """Runs the schedules that are due, one fetch at a time, in a thread of the process that
    holds the store."""

    def __init__(
        self,
        store: Store,
        clients_for: Callable[[str], Mapping[str, OrderSource]],
        tick: float = TICK_SECONDS,
    ) -> None:
        self.store = store
        self.clients_for = clients_for
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease: Lease | None = None

    def elected(self) -> bool:
        """Whether this process runs the schedule: always on a file, which one process holds;
        on PostgreSQL, while it holds the lease (taken when free)."""
        if not self.store.url:
            return True
        if self._lease is None:
            self._lease = Lease(self.store.url, "schedule")
        return self._lease.try_take()

    def run_due(self, now: datetime | None = None) -> list[str]:
        """Fetch every provider whose schedule is due at `now` (UTC); returns them. A failed
        fetch is in the history like any other, and waits for its next turn."""
        if not self.elected():
            return []
        now = now or utc_now()
        ran = []
        for provider, plan in planned(self.store).items():
            if plan.next_run is None or plan.next_run > now:
                continue
            today = (
                now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(self.store.timezone)).date()
            )
            start, end = plan.schedule.window(today)
            clients = self.clients_for(provider)
            try:
                fetch_orders(self.store, clients, start, end, by=SCHEDULE, what=plan.schedule.parts)
            except RekonError as exc:
                log.warning("scheduled fetch of %s failed: %s", provider, exc)
            finally:
                for client in clients.values():
                    client.close()
            ran.append(provider)
        return ran

    def start(self) -> Runner:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rekon-schedule", daemon=True)
            self._thread.start()
            # Stopped before the interpreter tears down: a thread left mid-query at exit can
            # take the process down with it instead of letting it end cleanly.
            atexit.register(self.stop)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.run_due()
            except Exception:  # the schedule must outlive one bad turn (a store busy, say)
                log.exception("the schedule's turn failed")
