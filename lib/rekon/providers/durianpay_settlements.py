"""Durianpay's payouts: GET /v1/settlements, /v1/settlements/{id} and /v1/settlements/details.

The documents disagree with themselves, so reading is tolerant as for orders: a list comes bare
(`{"total_count", "settlement_detail"}`) or wrapped in `{"data": ...}`, amounts as decimal
strings or numbers, times as RFC 3339 or Unix seconds. `from`/`to` are sent as dates (the
sandbox also takes Unix seconds, which other pages of the docs show).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

from rekon.money import parse_api_amount
from rekon.providers.base import (
    ProviderError,
    ProviderMisbehaved,
    as_count,
    first,
    parse_timestamp,
    provider_message,
    read_item,
    run_windowed,
    text_or_none,
)
from rekon.providers.durianpay import DurianpayClient

PROVIDER = "durianpay"
PAGE_LIMIT = 100  # the most the API serves per page


@dataclass(frozen=True, slots=True)
class Settlement:
    """One payout. Amounts exact; `settled_at` naive UTC."""

    provider: str
    settlement_id: str
    settled_at: datetime
    gross: Decimal | None
    fee: Decimal | None
    promo: Decimal | None
    net: Decimal
    status: str | None
    raw: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SettlementPayment:
    """One payment inside a payout: its gross, the gateway's fee and what was paid out."""

    provider: str
    settlement_id: str
    payment_id: str | None
    order_id: str | None
    order_reference: str | None
    gross: Decimal
    fee: Decimal
    net: Decimal
    payment_date: datetime | None
    settled_at: datetime
    method: str | None


def _amount(value: object, what: str) -> Decimal:
    if value is None or value == "":
        raise ValueError(f"no {what}")
    return parse_api_amount(value)


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None or value == "" else parse_api_amount(value)


def _settled_at(item: Mapping[str, Any]) -> datetime:
    at = parse_timestamp(first(item, "settled_at", "settlement_date", "updated_at"))
    if at is None:
        raise ValueError("no settlement time")
    return at


def parse_settlement(item: Mapping[str, Any]) -> Settlement:
    sid = text_or_none(first(item, "id", "settlement_id"))
    if sid is None:
        raise ValueError("no id")
    return Settlement(
        provider=PROVIDER,
        settlement_id=sid,
        settled_at=_settled_at(item),
        gross=_optional_amount(first(item, "total_transcation_amount", "total_transaction_amount")),
        fee=_optional_amount(item.get("fee")),
        promo=_optional_amount(item.get("promo_amount")),
        net=_amount(item.get("settlement_amount"), "settlement amount"),
        status=text_or_none(item.get("status")),
        raw=json.dumps(item, separators=(",", ":"), ensure_ascii=False),
    )


def parse_payment(item: Mapping[str, Any]) -> SettlementPayment:
    sid = text_or_none(item.get("settlement_id"))
    payment_id = text_or_none(item.get("payment_id"))
    order_id = text_or_none(item.get("order_id"))
    if sid is None or (payment_id is None and order_id is None):
        raise ValueError("no settlement id, or neither a payment nor an order id")
    gross = _amount(first(item, "payment_amount", "transaction_amount"), "payment amount")
    fee = _amount(item.get("total_settlement_fee"), "fee")
    net = _optional_amount(item.get("settlement_amount"))
    return SettlementPayment(
        provider=PROVIDER,
        settlement_id=sid,
        payment_id=payment_id,
        order_id=order_id,
        order_reference=text_or_none(first(item, "order_reference", "order_ref_id")),
        gross=gross,
        fee=fee,
        net=gross - fee if net is None else net,
        payment_date=parse_timestamp(item.get("payment_date")),
        settled_at=_settled_at(item),
        method=text_or_none(first(item, "payment_method_id", "payment_subchannel")),
    )


T = TypeVar("T")
_IDS = ("id", "settlement_id", "payment_id")


def _read(parse: Callable[[Mapping[str, Any]], T], item: object, what: str) -> T:
    return read_item(PROVIDER, parse, item, what, _IDS)


def _listing(body: object) -> tuple[list[Any], int | None]:
    """A bare `{"total_count", "settlement_detail": [...]}` or one inside `{"data": ...}`."""
    page = body
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        page = body["data"]
    items = page.get("settlement_detail", False) if isinstance(page, Mapping) else False
    if items is None:
        items = []
    if not isinstance(items, list):
        message = provider_message(page) or provider_message(body) or "no list of settlements"
        raise ProviderError(PROVIDER, f"answered without settlements: {message}", 200)
    count = page.get("total_count", page.get("count")) if isinstance(page, Mapping) else None
    return items, as_count(count)


def _single(body: object) -> Any:
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        return body["data"]
    return body


class SettlementReader:
    """Durianpay's settlement endpoints, over an orders client's connection, retries and key."""

    provider = PROVIDER

    def __init__(self, client: DurianpayClient) -> None:
        self.client = client

    def _params(self, start: date, end: date, skip: int, limit: int) -> dict[str, Any]:
        return {"from": start.isoformat(), "to": end.isoformat(), "skip": skip, "limit": limit}

    def list_settlements(
        self, start: date, end: date, skip: int = 0, limit: int = PAGE_LIMIT
    ) -> tuple[list[Settlement], int | None]:
        body = self.client.request(
            "GET", "/v1/settlements", params=self._params(start, end, skip, limit)
        )
        items, total = _listing(body)
        return [_read(parse_settlement, i, "settlement") for i in items], total

    def list_payments(
        self, start: date, end: date, skip: int = 0, limit: int = PAGE_LIMIT
    ) -> tuple[list[SettlementPayment], int | None]:
        params = self._params(start, end, skip, limit)
        items, total = _listing(
            self.client.request("GET", "/v1/settlements/details", params=params)
        )
        return [_read(parse_payment, i, "settlement payment") for i in items], total

    def get_settlement(self, settlement_id: str) -> Settlement:
        body = self.client.request("GET", f"/v1/settlements/{quote(settlement_id, safe='')}")
        return _read(parse_settlement, _single(body), "settlement")

    def payment(self, payment_id: str) -> SettlementPayment:
        """The settlement of one payment (`?payment_id=`)."""
        body = self.client.request(
            "GET", "/v1/settlements/details", params={"payment_id": payment_id}
        )
        return _read(parse_payment, _single(body), "settlement payment")

    def iter_settlements(self, start: date, end: date) -> Iterator[Settlement]:
        """Every settlement settled start..end (dates as the API takes them)."""
        yield from self._all(self.list_settlements, start, end, lambda s: s.settlement_id)

    def iter_payments(self, start: date, end: date) -> Iterator[SettlementPayment]:
        """Every payment of the settlements settled start..end."""
        yield from self._all(
            self.list_payments, start, end, lambda p: f"{p.settlement_id}:{p.payment_id}"
        )

    def _all(
        self,
        fetch: Callable[[date, date, int, int], tuple[list[T], int | None]],
        start: date,
        end: date,
        key: Callable[[T], str],
    ) -> Iterator[T]:
        """Pages by skip: the announced ones side by side, then on while they come full, within
        the client's cap; a page served twice is the provider's error, not more data."""
        limit = PAGE_LIMIT
        items, total = fetch(start, end, 0, limit)
        yield from items
        if len(items) < limit:
            return
        announced = math.ceil(total / limit) if total else 1
        if announced > self.client.max_pages:
            raise ProviderMisbehaved(
                PROVIDER, f"announces {announced} pages of settlements: fetch a shorter range"
            )
        previous = [key(i) for i in items]
        pages = run_windowed(
            lambda s: fetch(start, end, s, limit),
            range(limit, announced * limit, limit),
            self.client.concurrency,
        )
        skip = announced * limit
        done = 1
        while True:
            for at, (items, _) in pages:
                keys = [key(i) for i in items]
                if keys and keys == previous:
                    raise ProviderMisbehaved(
                        PROVIDER,
                        f"sent the same page of settlements twice (skip {at}): its paging "
                        "is broken",
                    )
                previous = keys
                done += 1
                if done > self.client.max_pages:
                    raise ProviderMisbehaved(
                        PROVIDER, "kept sending full pages of settlements: its paging never stops"
                    )
                yield from items
                if len(items) < limit:
                    return
            pages = iter([(skip, fetch(start, end, skip, limit))])
            skip += limit
