"""Durianpay: GET /v1/orders with from/to/skip/limit, GET /v1/orders/{id}; HTTP Basic auth."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from rekon.config import ProviderSettings
from rekon.money import parse_api_amount
from rekon.providers.base import (
    PAID,
    BaseClient,
    Order,
    OrderPage,
    PageGuard,
    Progress,
    ProgressCallback,
    ProviderError,
    RecentCopies,
    as_count,
    first,
    in_range,
    normalize_status,
    parse_timestamp,
    provider_message,
    read_order,
    run_windowed,
    text_or_none,
)

PAYMENT_STATUS_MAP = {
    "completed": "paid",
    "processing": "pending",
    "cancelled": "cancelled",
    "expired": "expired",
    "failed": "failed",
    "refunded": "refunded",
}
ORDER_STATUS_MAP = {"started": "pending", "processing": "pending", "completed": "paid"}


def parse_order(item: Mapping[str, Any]) -> Order:
    """One Durianpay order (epoch or RFC 3339 timestamps, decimal-string amount)."""
    get = item.get
    order_id = text_or_none(get("id") or get("order_id"))
    created = parse_timestamp(get("created_at"))
    if order_id is None or created is None:
        raise ValueError("order without id or creation time")
    payment_status = text_or_none(get("payment_status"))
    order_status = text_or_none(get("status"))
    if payment_status is not None:
        status = normalize_status(PAYMENT_STATUS_MAP, payment_status)
    else:
        status = normalize_status(ORDER_STATUS_MAP, order_status)
    given, sur = text_or_none(get("given_name")), text_or_none(get("sur_name"))
    name = f"{given} {sur}" if given and sur else (given or sur)
    return Order(
        provider="durianpay",
        order_id=order_id,
        merchant_ref=text_or_none(get("order_ref_id") or get("order_ref")),
        payment_id=text_or_none(get("payment_id")),
        amount=parse_api_amount(get("amount")),
        currency=(text_or_none(get("currency")) or "IDR").upper(),
        status=status,
        provider_status=payment_status or order_status,
        created_at=created,
        updated_at=parse_timestamp(get("updated_at")),
        paid_at=parse_timestamp(get("payment_date") or get("paid_at")) if status == PAID else None,
        customer_name=name,
        customer_email=text_or_none(get("email") or first(item, "customer.email")),
        customer_phone=text_or_none(get("mobile") or get("phone")),
        description=text_or_none(get("description")),
        raw=json.dumps(item, separators=(",", ":"), ensure_ascii=False),
    )


def _envelope(body: Any) -> tuple[list[Any], int | None]:
    """Accept {"orders", "count"|"total"} and {"data": {...}} with orders possibly null. Any
    other answer — `{"errors": [...]}` with a 200 — is the provider's error, not an empty page."""
    page = (
        body["data"]
        if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping)
        else body
    )
    items = page.get("orders", False) if isinstance(page, Mapping) else False
    if items is None:
        items = []  # Durianpay's empty list
    if not isinstance(items, list):
        message = provider_message(page) or provider_message(body) or "no list of orders in it"
        raise ProviderError("durianpay", f"answered without orders: {message}", 200)
    return items, as_count(page.get("total", page.get("count")))


class DurianpayClient(BaseClient):
    provider = "durianpay"

    @staticmethod
    def auth_for(settings: ProviderSettings) -> httpx.Auth:
        """HTTP Basic: the server key as the user, an empty password."""
        return httpx.BasicAuth(settings.key.reveal(), "")

    def get_order(self, order_id: str) -> Order:
        body = self.request("GET", f"/v1/orders/{quote(order_id, safe='')}")
        if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
            body = body["data"]
        if isinstance(body, Mapping) and isinstance(body.get("order"), Mapping):
            body = body["order"]
        return read_order(self.provider, parse_order, body)

    def list_orders(self, start: date, end: date, skip: int = 0, limit: int = 25) -> OrderPage:
        """One page of orders between the provider's own from/to dates (timezone undocumented)."""
        params = {"from": start.isoformat(), "to": end.isoformat(), "skip": skip, "limit": limit}
        items, count = _envelope(self.request("GET", "/v1/orders", params=params))
        orders = [
            read_order(self.provider, parse_order, i) for i in items if isinstance(i, Mapping)
        ]
        # `count` is the list's total in the docs' example, but a page-sized count is
        # indistinguishable from a page count: trust it only when it says more than we hold.
        total = None
        if count is not None and (count != len(items) or len(items) < limit):
            total = max(count, skip + len(items))
        pages = math.ceil(total / limit) if total is not None else None
        return OrderPage(orders, len(items), total, pages)

    def iter_orders(
        self, start: date, end: date, progress: ProgressCallback | None = None
    ) -> Iterator[Order]:
        """Orders created on business dates start..end (inclusive, configured timezone).

        Durianpay does not say which timezone from/to use, so ask for a day more on each side
        and keep only the orders whose business date is in range. Pages go on past the total
        while they are full, within the guard's cap; an order seen twice is sent on twice (the
        store keeps the latest copy).
        """
        lo, hi = self.utc_bounds(start, end)
        api_from, api_to = start - timedelta(days=1), end + timedelta(days=1)
        limit = self.page_limit
        seen = RecentCopies(keep=limit * self.concurrency * 3)
        guard = PageGuard(self.provider, self.max_pages, unit="skip")
        first_page = self.list_orders(api_from, api_to, 0, limit)
        total, pages_total = first_page.total, first_page.total_pages
        guard.announce(pages_total, total)
        scanned, done = first_page.size, 1

        def report() -> None:
            if progress:
                progress(Progress(self.provider, done, pages_total, scanned, total))

        def take(skip: int, page: OrderPage) -> Iterator[Order]:
            guard.check(skip, page)
            yield from (o for o in page.orders if in_range(o, lo, hi) and seen.add(o))

        yield from take(0, first_page)
        report()
        if first_page.size < limit:
            return
        announced_end = (pages_total or 1) * limit
        announced = run_windowed(
            lambda s: self.list_orders(api_from, api_to, s, limit),
            range(limit, announced_end, limit),
            self.concurrency,
        )
        beyond = (
            (s, self.list_orders(api_from, api_to, s, limit))
            for s in itertools.count(announced_end, limit)
        )
        for skip, page in itertools.chain(announced, beyond):
            yield from take(skip, page)
            scanned += page.size
            done += 1
            report()
            if page.size < limit:
                break
        pages_total = done
        report()
