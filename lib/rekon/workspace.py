"""What the dashboard (and any long-running host) opens once per process.

In sandbox mode — no provider key configured — it starts the built-in sandbox on 127.0.0.1,
points the clients at it, and on an empty database fetches the sample month, imports the
sample ledger and reconciles it, so a first-time user sees a working reconciliation.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from rekon.access import operator
from rekon.audit import record_settings
from rekon.config import DEFAULT_DB, Settings
from rekon.fetching import (
    ClientOptions,
    OrderSource,
    fetch_orders,
    make_clients,
)
from rekon.ledger import DuplicateLedger, import_ledger
from rekon.matching import ReconcileParams, reconcile
from rekon.periods import month_bounds
from rekon.sandbox.data import GOLDEN_MONTH, SAMPLE_LEDGER, sandbox_settings
from rekon.sandbox.server import RunningSandbox, make_state, start_in_thread
from rekon.schedule import Runner
from rekon.store import Store

log = logging.getLogger(__name__)
SANDBOX_DB = Path("data/rekon-sandbox.duckdb")
# Who seeds the sandbox's sample month, as the fetch history and the audit trail name it.
SANDBOX_START = operator("sandbox start")
DASHBOARD = "dashboard start"


@dataclass
class Workspace:
    settings: Settings  # as the clients should use them (sandbox URL and keys filled in)
    store: Store
    sandbox: RunningSandbox | None = None
    runner: Runner | None = None  # the schedule, started once the workspace is open

    @property
    def sandbox_mode(self) -> bool:
        return self.sandbox is not None

    def clients(self, providers: str = "all") -> dict[str, OrderSource]:
        return make_clients(self.settings, providers, ClientOptions())

    def start_schedule(self) -> Workspace:
        """Run the fetch schedules in this process (the one that holds the store)."""
        if self.runner is None:
            self.runner = Runner(self.store, self.clients).start()
        return self

    def configured_providers(self) -> list[str]:
        return list(self.settings.providers)

    def data_version(self) -> tuple[object, ...]:
        """Changes whenever a fetch, import, run, review or order update lands."""
        row = self.store.query(
            "SELECT (SELECT max(id) FROM fetch_runs), (SELECT max(id) FROM ledgers),"
            " (SELECT count(*) FROM ledgers), (SELECT max(id) FROM recon_runs),"
            " (SELECT count(*) FROM reviews), (SELECT count(*) FROM audit_log)"
        ).row(0)
        return tuple(row)


def open_workspace(settings: Settings, root: Path = Path(".")) -> Workspace:
    """Open the store; in sandbox mode also start the sandbox and seed the sample month."""
    if not settings.sandbox:
        store = Store(settings.store_location, settings.timezone, settings.memory_limit)
        record_settings(store, settings, DASHBOARD)
        return Workspace(settings, store).start_schedule()
    db_path = root / SANDBOX_DB if settings.db_path == DEFAULT_DB else settings.db_path
    sandbox = start_in_thread(make_state())
    sandboxed = replace(sandbox_settings(settings, sandbox.url), db_path=db_path)
    store = Store(sandboxed.store_location, settings.timezone, settings.memory_limit)
    # As configured, not as pointed at this start's sandbox port.
    record_settings(store, replace(settings, db_path=db_path), DASHBOARD)
    workspace = Workspace(sandboxed, store, sandbox)
    if settings.bootstrap and store.scalar("SELECT count(*) FROM recon_runs") == 0:
        seed_sample_month(workspace, root)
    return workspace.start_schedule()


def seed_sample_month(workspace: Workspace, root: Path = Path(".")) -> None:
    start, end = month_bounds(GOLDEN_MONTH)
    store = workspace.store
    if (
        store.scalar(
            "SELECT count(*) FROM orders WHERE business_date BETWEEN ? AND ?", [start, end]
        )
        == 0
    ):
        fetch_orders(store, workspace.clients(), start, end, by=SANDBOX_START)
    with contextlib.suppress(DuplicateLedger):  # imported on an earlier start
        import_ledger(store, root / SAMPLE_LEDGER, by=SANDBOX_START)
    reconcile(store, ReconcileParams(start, end), SANDBOX_START)
    log.info("sandbox: seeded %s", GOLDEN_MONTH)


def default_period(store: Store, today: date, fallback: str | None = None) -> tuple[date, date]:
    """The month of the latest reconciliation, else the latest month with orders, else the
    fallback month (the sandbox's sample month), else last calendar month."""
    latest = store.scalar(
        "SELECT period_from FROM recon_runs ORDER BY id DESC LIMIT 1"
    ) or store.scalar("SELECT max(business_date) FROM orders")
    if latest is None and fallback:
        return month_bounds(fallback)
    if latest is None:
        first = today.replace(day=1)
        latest = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return month_bounds(f"{latest:%Y-%m}")
