"""Fetch orders from the providers into the store: one transaction, one audited run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import httpx

from rekon import closing
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
from rekon.providers.xepeng import XepengClient
from rekon.redaction import redact
from rekon.staging import STAGING_MEMORY_LIMIT, OrderStaging
from rekon.store import INTERRUPTED, Store, UpsertCounts, next_id, utc_now

PROVIDER_NAMES = tuple(PROVIDER_TITLES)


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
) -> FetchSummary:
    """Fetch start..end (business dates, inclusive) from every client into the store.

    The providers are read into a staging file of the fetch's own; the store's write lock is
    held only while the orders land, in one transaction for all providers. On any error
    nothing is written but a `failed` row in fetch_runs saying why (with every credential
    masked), and the error is raised again.

    Fetches land in signed-off periods too (the providers' records are the truth): an order of
    such a period that changed lapses its sign-off, in the same transaction.
    """
    by.require(Role.REVIEWER, "fetch orders")
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
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
                " requested_by) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                [run_id, ",".join(clients), start, end, utc_now(), by.name],
            )
        return _fetch(store, clients, start, end, progress, by, run_id, began)


def _fetch(
    store: Store,
    clients: Mapping[str, OrderSource],
    start: date,
    end: date,
    progress: ProgressCallback | None,
    by: Actor,
    run_id: int,
    began: float,
) -> FetchSummary:
    results: dict[str, UpsertCounts] = {}
    lapsed = 0
    try:
        with OrderStaging(store.scratch) as staging:
            for client in clients.values():
                staging.append(client.iter_orders(start, end, progress))
            staging.settle()
            # The budget outside the transaction: the commit, which builds the orders' index,
            # runs under it too.
            with (
                store.attached(staging.release()) as staged,
                store.memory_budget(STAGING_MEMORY_LIMIT),
                store.write() as cur,
            ):
                closing.capture_changes(cur, staged, None, store.timezone)
                for name in clients:
                    results[name] = store.land_staged_orders(cur, staged, name, run_id)
                lapsed = closing.record_changes(cur, store, run_id, by.name)
                total = FetchSummary(run_id, start, end, results, 0).total
                cur.execute(
                    "UPDATE fetch_runs SET status = 'succeeded', finished_at = ?,"
                    " orders_seen = ?, orders_new = ?, orders_updated = ?, orders_unchanged = ?,"
                    " per_provider = ? WHERE id = ?",
                    [
                        utc_now(),
                        total.seen,
                        total.new,
                        total.updated,
                        total.unchanged,
                        json.dumps({k: v.__dict__ for k, v in results.items()}),
                        run_id,
                    ],
                )
                store.audit(cur, by.name, "fetch", f"fetch:{run_id}", json.dumps(
                    {"from": start.isoformat(), "to": end.isoformat(), "status": "succeeded",
                     "new": total.new, "updated": total.updated, "lapsed": lapsed}))  # fmt: skip
    except BaseException as exc:
        status, message = "failed", str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt | SystemExit):  # Ctrl-C, SIGTERM
            status, message = "interrupted", INTERRUPTED
        for client in clients.values():
            message = client.redact(message)
        with store.write() as cur:
            cur.execute(
                "UPDATE fetch_runs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                [status, utc_now(), redact(message), run_id],
            )
            store.audit(cur, by.name, "fetch", f"fetch:{run_id}", json.dumps(
                {"from": start.isoformat(), "to": end.isoformat(), "status": status,
                 "error": redact(message)}))  # fmt: skip
        raise
    return FetchSummary(run_id, start, end, results, time.perf_counter() - began, lapsed)
