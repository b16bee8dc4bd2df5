"""Fetch orders from the providers into the store: one transaction, one audited run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa

from rekon import closing
from rekon import settlements as payouts
from rekon.access import Actor, Role
from rekon.config import Settings
from rekon.errors import RekonError
from rekon.money import format_count
from rekon.periods import day_range
from rekon.providers.base import (
    MAX_PAGES,
    PROVIDER_TITLES,
    REQUEST_DEADLINE,
    Order,
    ProgressCallback,
    RetryPolicy,
    provider_title,
)
from rekon.providers.durianpay import DurianpayClient
from rekon.providers.durianpay_settlements import SettlementReader
from rekon.providers.xepeng import XepengClient
from rekon.redaction import redact
from rekon.staging import STAGING_MEMORY_LIMIT, OrderStaging
from rekon.store import INTERRUPTED, Store, UpsertCounts, next_id, utc_now

PROVIDER_NAMES = tuple(PROVIDER_TITLES)
# What a fetch can bring: the orders, and the payouts of the range (Durianpay's API only).
WHAT = ("orders", "settlements")
NOT_VERIFIABLE = "settlements not verifiable from the API: upload its settlement report"


def parse_what(text: str) -> tuple[str, ...]:
    """'orders', 'settlements' or 'orders,settlements' as the fetch's parts, in their order."""
    parts = {p.strip().lower() for p in text.split(",") if p.strip()}
    if not parts or parts - set(WHAT):
        raise ValueError(f"{text!r}: fetch orders, settlements, or orders,settlements")
    return tuple(w for w in WHAT if w in parts)


class OrderSource(Protocol):
    provider: str

    def iter_orders(
        self, start: date, end: date, progress: ProgressCallback | None = None
    ) -> Iterator[Order]: ...

    def close(self) -> None: ...

    def redact(self, text: str) -> str: ...


class NotConfigured(RekonError):
    """A provider was asked for but has no credentials."""


@dataclass(frozen=True)
class FetchSummary:
    run_id: int
    start: date
    end: date
    per_provider: dict[str, UpsertCounts]
    seconds: float
    lapsed: int = 0  # sign-offs lapsed by the orders this fetch changed
    what: tuple[str, ...] = ("orders",)
    settlements: dict[str, payouts.SettlementCounts] = field(default_factory=dict)

    providers: tuple[str, ...] = ()

    @property
    def total(self) -> UpsertCounts:
        c = list(self.per_provider.values())
        return UpsertCounts(
            sum(x.seen for x in c),
            sum(x.new for x in c),
            sum(x.updated for x in c),
            sum(x.unchanged for x in c),
        )

    def line(self) -> str:
        parts = [
            f"{provider_title(name)}: {format_count(c.seen)} orders ({format_count(c.new)} new, "
            f"{format_count(c.updated)} updated)"
            for name, c in self.per_provider.items()
        ]
        if "settlements" in self.what:
            parts += [
                f"{provider_title(name)}: "
                + (c.line() if (c := self.settlements.get(name)) else NOT_VERIFIABLE)
                for name in self.providers
            ]
        return (
            f"Fetched {day_range(self.start, self.end)} — "
            + "; ".join(parts)
            + f" in {self.seconds:.1f}s (run {self.run_id})"
            + (
                f". {self.lapsed} signed-off period(s) LAPSED: orders in them changed at the "
                "provider (see `rekon period status`)"
                if self.lapsed
                else ""
            )
        )


@dataclass
class ClientOptions:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 8
    timeout: float = 30.0
    transport: httpx.BaseTransport | None = None
    deadline: float = REQUEST_DEADLINE  # for one request in all, however slowly it trickles
    max_pages: int = MAX_PAGES  # for one listing that announces no total


def make_clients(
    settings: Settings, providers: str = "all", options: ClientOptions | None = None
) -> dict[str, OrderSource]:
    """Clients for 'xepeng', 'durianpay' or 'all' configured providers."""
    options = options or ClientOptions()
    wanted = PROVIDER_NAMES if providers == "all" else (providers,)
    clients: dict[str, OrderSource] = {}
    kwargs: dict[str, Any] = {
        "timezone": settings.timezone,
        "transport": options.transport,
        "timeout": options.timeout,
        "retry": options.retry,
        "concurrency": options.concurrency,
        "deadline": options.deadline,
        "max_pages": options.max_pages,
    }
    for name in wanted:
        if name == "xepeng":
            if settings.xepeng is None:
                raise NotConfigured("Xepeng is not configured: set XEPENG_API_KEY")
            clients[name] = XepengClient.from_settings(settings.xepeng, **kwargs)
        elif name == "durianpay":
            if settings.durianpay is None:
                raise NotConfigured("Durianpay is not configured: set DURIANPAY_SERVER_KEY")
            clients[name] = DurianpayClient.from_settings(settings.durianpay, **kwargs)
        else:
            raise NotConfigured(f"unknown provider {name!r}: use xepeng, durianpay or all")
    return clients


def fetch_orders(
    store: Store,
    clients: Mapping[str, OrderSource],
    start: date,
    end: date,
    progress: ProgressCallback | None = None,
    *,
    by: Actor,
    what: tuple[str, ...] = ("orders",),
) -> FetchSummary:
    """Fetch start..end (business dates, inclusive) from every client into the store: the
    orders, and with `what` naming them the payouts settled in the range and the
    `SETTLE_HORIZON_DAYS` after it (so the range's last orders find theirs).

    The providers are read first (orders into a staging file of the fetch's own); the store's
    write lock is held only while everything lands, in one transaction for all providers. On
    any error nothing is written but a `failed` row in fetch_runs saying why (with every
    credential masked), and the error is raised again.

    Fetches land in signed-off periods too (the providers' records are the truth): an order of
    such a period that changed lapses its sign-off, in the same transaction.
    """
    by.require(Role.REVIEWER, "fetch orders")
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    if not what or set(what) - set(WHAT):
        raise ValueError(f"a fetch brings {' and/or '.join(WHAT)}, not {', '.join(what)}")
    began = time.perf_counter()
    # On a shared store, a second fetch of a provider waits for the first; the run's own lock
    # tells other processes it is still running.
    with store.hold(*(f"fetch:{name}" for name in clients)) as held:
        with store.write() as cur:
            run_id = next_id(cur, "fetch_run_id")
            if held:  # before the row is seen as running
                held.take(f"fetch-run:{run_id}")
            cur.execute(
                "INSERT INTO fetch_runs (id, providers, range_from, range_to, started_at, status,"
                " requested_by, what) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                [run_id, ",".join(clients), start, end, utc_now(), by.name, ",".join(what)],
            )
        job = _Fetch(store, clients, start, end, by, run_id, what)
        return job.run(progress, began)


@dataclass
class _Payouts:
    source: payouts.Source
    settlements: pa.Table  # built off the write lock
    payments: pa.Table


@dataclass
class _Fetch:
    store: Store
    clients: Mapping[str, OrderSource]
    start: date
    end: date
    by: Actor
    run_id: int
    what: tuple[str, ...]

    def read_payouts(self, client: DurianpayClient) -> _Payouts:
        """A Durianpay range's payouts: asked a day wider on each side (the API does not say
        its timezone), kept by their business date."""
        tz = ZoneInfo(self.store.timezone)
        last = self.end + timedelta(days=payouts.SETTLE_HORIZON_DAYS)
        today = datetime.now(tz).date()
        reader = SettlementReader(client)
        ask_from, ask_to = self.start - timedelta(days=1), last + timedelta(days=1)

        def kept(at: datetime) -> bool:
            return self.start <= payouts.settled_day_of(at, self.store.timezone) <= last

        found = [s for s in reader.iter_settlements(ask_from, ask_to) if kept(s.settled_at)]
        paid = [p for p in reader.iter_payments(ask_from, ask_to) if kept(p.settled_at)]
        source = payouts.Source(
            client.provider, "api", self.start, min(last, today), fetch_run=self.run_id
        )
        return _Payouts(source, payouts.settlements_table(found), payouts.payments_table(paid))

    def run(self, progress: ProgressCallback | None, began: float) -> FetchSummary:
        results: dict[str, UpsertCounts] = {}
        settled: dict[str, payouts.SettlementCounts] = {}
        lapsed = 0
        store, run_id, by = self.store, self.run_id, self.by
        try:
            with ExitStack() as stack:
                staged = None
                if "orders" in self.what:
                    staging = stack.enter_context(OrderStaging(store.scratch))
                    for client in self.clients.values():
                        staging.append(client.iter_orders(self.start, self.end, progress))
                    staging.settle()
                    staged = stack.enter_context(store.attached(staging.release()))
                batches = []
                if "settlements" in self.what:
                    batches = [
                        self.read_payouts(c)
                        for c in self.clients.values()
                        if isinstance(c, DurianpayClient)
                    ]
                # The budget outside the transaction: the commit, which builds the orders'
                # index, runs under it too.
                stack.enter_context(store.memory_budget(STAGING_MEMORY_LIMIT))
                cur = stack.enter_context(store.write())
                if staged is not None:
                    closing.capture_changes(cur, staged, None, store.timezone)
                    for name in self.clients:
                        results[name] = store.land_staged_orders(cur, staged, name, run_id)
                    lapsed = closing.record_changes(cur, store, run_id, by.name)
                for batch in batches:
                    settled[batch.source.provider] = payouts.land(
                        cur, store, batch.source, batch.settlements, batch.payments, by.name
                    )
                summary = self.summary(results, settled, 0, lapsed)
                total = summary.total
                per_provider = {k: v.__dict__ for k, v in results.items()} | {
                    f"{k} settlements": v.__dict__ for k, v in settled.items()
                }
                cur.execute(
                    "UPDATE fetch_runs SET status = 'succeeded', finished_at = ?,"
                    " orders_seen = ?, orders_new = ?, orders_updated = ?,"
                    " orders_unchanged = ?, per_provider = ? WHERE id = ?",
                    [utc_now(), total.seen, total.new, total.updated, total.unchanged,
                     json.dumps(per_provider), run_id],
                )  # fmt: skip
                store.audit(cur, by.name, "fetch", f"fetch:{run_id}", json.dumps(
                    {"from": self.start.isoformat(), "to": self.end.isoformat(),
                     "what": list(self.what), "status": "succeeded", "new": total.new,
                     "updated": total.updated, "lapsed": lapsed,
                     "settlements": {k: v.settlements for k, v in settled.items()}}))  # fmt: skip
        except BaseException as exc:
            self.record_failure(exc)
            raise
        return self.summary(results, settled, time.perf_counter() - began, lapsed)

    def summary(
        self,
        results: dict[str, UpsertCounts],
        settled: dict[str, payouts.SettlementCounts],
        seconds: float,
        lapsed: int,
    ) -> FetchSummary:
        return FetchSummary(
            self.run_id, self.start, self.end, results, seconds, lapsed, self.what, settled,
            tuple(self.clients),
        )  # fmt: skip

    def record_failure(self, exc: BaseException) -> None:
        status, message = "failed", str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt | SystemExit):  # Ctrl-C, SIGTERM
            status, message = "interrupted", INTERRUPTED
        for client in self.clients.values():
            message = client.redact(message)
        with self.store.write() as cur:
            cur.execute(
                "UPDATE fetch_runs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                [status, utc_now(), redact(message), self.run_id],
            )
            self.store.audit(cur, self.by.name, "fetch", f"fetch:{self.run_id}", json.dumps(
                {"from": self.start.isoformat(), "to": self.end.isoformat(), "status": status,
                 "error": redact(message)}))  # fmt: skip
