"""Xepeng open API: /openapi/orders create, update, get and a paged list (no date filter)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import time
from collections.abc import Generator, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from rekon.config import ProviderSettings, Secret
from rekon.money import parse_api_amount
from rekon.providers.base import (
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

STATUS_MAP = {
    "paid": "paid",
    "success": "paid",
    "succeeded": "paid",
    "settled": "paid",
    "completed": "paid",
    "pending": "pending",
    "unpaid": "pending",
    "waiting": "pending",
    "waiting_payment": "pending",
    "created": "pending",
    "open": "pending",
    "processing": "pending",
    "expired": "expired",
    "failed": "failed",
    "failure": "failed",
    "declined": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "void": "cancelled",
    "refunded": "refunded",
    "partially_refunded": "refunded",
}
LIST_KEYS = ("data.orders", "data.items", "orders", "items", "data")
META_KEYS = ("meta", "pagination", "data.meta", "data.pagination", "data")


class BearerAuth(httpx.Auth):
    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request


class SignatureAuth(httpx.Auth):
    """X-Signature = hex HMAC-SHA256(secret, METHOD + PATH + TIMESTAMP + BODY)."""

    requires_request_body = True

    def __init__(self, client_id: str, secret: Secret) -> None:
        self._client_id = client_id
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(int(time.time()))
        request.headers.update(
            {
                "X-Client-ID": self._client_id,
                "X-Timestamp": timestamp,
                "X-Signature": sign(
                    self._secret.reveal(),
                    request.method,
                    request.url.path,
                    timestamp,
                    request.content,
                ),
            }
        )
        yield request


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    message = method.upper().encode() + path.encode() + timestamp.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def parse_order(item: Mapping[str, Any]) -> Order:
    """One Xepeng order object, whatever its exact field names, as a normalized Order."""
    get = item.get
    order_id = text_or_none(get("uid") or get("id") or get("order_uid"))
    created = parse_timestamp(first(item, "created_at", "createdAt", "created"))
    if order_id is None or created is None:
        raise ValueError("order without id or creation time")
    raw_status = get("status") or get("payment_status") or get("state")
    customer = get("customer")
    if not isinstance(customer, Mapping):
        customer = {}
    metadata = get("metadata")
    ref = metadata.get("order_ref") if isinstance(metadata, Mapping) else None
    return Order(
        provider="xepeng",
        order_id=order_id,
        merchant_ref=text_or_none(ref or get("order_ref") or get("reference")),
        payment_id=text_or_none(first(item, "payment_id", "payment.id", "transaction_id")),
        amount=parse_api_amount(first(item, "amount", "total_amount")),
        currency=(text_or_none(get("currency")) or "IDR").upper(),
        status=normalize_status(STATUS_MAP, raw_status),
        provider_status=text_or_none(raw_status),
        created_at=created,
        updated_at=parse_timestamp(first(item, "updated_at", "updatedAt", "updated")),
        paid_at=parse_timestamp(first(item, "paid_at", "paidAt", "payment.paid_at")),
        customer_name=text_or_none(customer.get("name") or get("customer_name")),
        customer_email=text_or_none(customer.get("email") or get("customer_email")),
        customer_phone=text_or_none(customer.get("phone") or get("customer_phone")),
        description=text_or_none(get("description")),
        raw=json.dumps(item, separators=(",", ":"), ensure_ascii=False),
    )


def _unwrap_order(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        data = body.get("data")
        if isinstance(data, Mapping) and first(data, "uid", "id") is not None:
            return data
        return body
    raise ValueError("not an order object")


def _list_items(body: Any) -> list[Any]:
    """The orders of a list answer. An answer holding no list — `{"status": false, "message":
    "merchant suspended", "data": null}` sent with a 200 — is the provider's error, not an
    empty page: taken for one, it would record a successful fetch of nothing."""
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and body.get("status") not in (False, "error", "failed"):
        for key in LIST_KEYS:
            value = first(body, key)
            if isinstance(value, list):
                return value
        data = body.get("data")
        if isinstance(data, Mapping) and any(data.get(k, 0) is None for k in ("orders", "items")):
            return []  # an empty list, sent as null
    message = provider_message(body) or "no list of orders in it"
    raise ProviderError("xepeng", f"answered without orders: {message}", 200)


def _meta(body: Any) -> tuple[int | None, int | None]:
    if not isinstance(body, Mapping):
        return None, None
    for key in META_KEYS:
        meta = first(body, key)
        if isinstance(meta, Mapping):
            total = as_count(meta.get("total") or meta.get("total_items") or meta.get("count"))
            pages = as_count(
                meta.get("total_pages") or meta.get("totalPages") or meta.get("last_page")
            )
            if total is not None or pages is not None:
                return total, pages
    return None, None


class XepengClient(BaseClient):
    provider = "xepeng"

    @staticmethod
    def auth_for(settings: ProviderSettings) -> httpx.Auth:
        """Signed headers when a client id and secret are configured, else the bearer key."""
        if settings.client_id and settings.client_secret:
            return SignatureAuth(settings.client_id, settings.client_secret)
        return BearerAuth(settings.key)

    def create_order(
        self,
        amount: Decimal | int,
        currency: str = "IDR",
        *,
        description: str | None = None,
        customer: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Order:
        body: dict[str, Any] = {"amount": _json_amount(amount), "currency": currency}
        if description is not None:
            body["description"] = description
        if customer:
            body["customer"] = dict(customer)
        if metadata:
            body["metadata"] = dict(metadata)
        return parse_order(_unwrap_order(self.request("POST", "/openapi/orders", body=body)))

    def update_order(
        self,
        uid: str,
        *,
        amount: Decimal | int | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Order:
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = _json_amount(amount)
        if description is not None:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = dict(metadata)
        reply = self.request("PUT", f"/openapi/orders/{_quote(uid)}", body=body)
        return read_order(self.provider, parse_order, _unwrap_order(reply))

    def get_order(self, uid: str) -> Order:
        reply = self.request("GET", f"/openapi/orders/{_quote(uid)}")
        return read_order(self.provider, parse_order, _unwrap_order(reply))

    def list_orders(self, page: int = 1, limit: int = 10) -> OrderPage:
        body = self.request("GET", "/openapi/orders", params={"page": page, "limit": limit})
        items = _list_items(body)
        total, total_pages = _meta(body)
        if total_pages is None and total is not None:
            total_pages = max(1, math.ceil(total / limit))
        orders = [
            read_order(self.provider, parse_order, i) for i in items if isinstance(i, Mapping)
        ]
        return OrderPage(orders, len(items), total, total_pages)

    def iter_orders(
        self, start: date, end: date, progress: ProgressCallback | None = None
    ) -> Iterator[Order]:
        """Orders created on business dates start..end (inclusive, configured timezone).

        The list has no date filter: page through it, keep what is in range, and stop early
        once a whole page is older than the range, but only while the list is newest-first.
        Pages go on past an announced total while they are full (orders arrive while paging),
        within the guard's cap. An order seen twice is sent on twice: the store keeps the
        latest copy and refuses copies it cannot order.
        """
        lo, hi = self.utc_bounds(start, end)
        limit = self.page_limit
        seen = RecentCopies(keep=limit * self.concurrency * 3)
        guard = PageGuard(self.provider, self.max_pages)
        first_page = self.list_orders(1, limit)
        total_pages = first_page.total_pages
        guard.announce(total_pages, first_page.total)
        state = _Scan()

        def report(pages_done: int, pages_total: int | None) -> None:
            if progress:
                progress(
                    Progress(
                        self.provider, pages_done, pages_total, state.scanned, first_page.total
                    )
                )

        def take(page_no: int, page: OrderPage) -> Iterator[Order]:
            guard.check(page_no, page)
            state.observe(page)
            yield from (o for o in page.orders if in_range(o, lo, hi) and seen.add(o))

        yield from take(1, first_page)
        done = 1
        report(done, total_pages)
        if state.older_than(lo) or first_page.size < limit:
            report(done, done)
            return
        announced = run_windowed(
            lambda n: self.list_orders(n, limit), range(2, (total_pages or 1) + 1), self.concurrency
        )
        beyond = ((n, self.list_orders(n, limit)) for n in _count_from((total_pages or 1) + 1))
        for page_no, page in itertools.chain(announced, beyond):
            yield from take(page_no, page)
            done += 1
            report(done, total_pages)
            if page.size < limit or state.older_than(lo):
                break
        report(done, done)


class _Scan:
    """Watches page order: is the list newest-first, and is the last page wholly old?"""

    def __init__(self) -> None:
        self.newest_first = True
        self.previous: datetime | None = None
        self.page_newest: datetime | None = None
        self.scanned = 0

    def observe(self, page: OrderPage) -> None:
        self.scanned += page.size
        self.page_newest = max((o.created_at for o in page.orders), default=None)
        for order in page.orders:
            if self.previous is not None and order.created_at > self.previous:
                self.newest_first = False
            self.previous = order.created_at

    def older_than(self, lo: datetime) -> bool:
        """True when the list is newest-first and the last page held nothing from lo on."""
        return self.newest_first and self.page_newest is not None and self.page_newest < lo


def _count_from(n: int) -> Iterator[int]:
    while True:
        yield n
        n += 1


def _json_amount(amount: Decimal | int) -> int | float | str:
    value = Decimal(amount)
    # Xepeng documents a JSON number; IDR has no minor unit in practice, so send an integer
    # whenever the amount is whole and a decimal string otherwise (never a binary float).
    return int(value) if value == value.to_integral_value() else str(value)


def _quote(uid: str) -> str:
    from urllib.parse import quote

    if not uid:
        raise ProviderError("xepeng", "an order id is required")
    return quote(uid, safe="")
