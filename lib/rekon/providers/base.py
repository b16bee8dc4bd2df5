"""What every provider client shares: the normalized Order, the error tree, retry and paging.

Retry, backoff, concurrency and progress live here once; `xepeng.py` and `durianpay.py` only
know their own URLs, envelopes and status words.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar
from zoneinfo import ZoneInfo

import httpx

from rekon.errors import RekonError

if TYPE_CHECKING:
    from rekon.config import ProviderSettings

log = logging.getLogger(__name__)

STATUSES = ("paid", "pending", "expired", "failed", "cancelled", "refunded", "unknown")
PAID = "paid"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Order:
    """One provider order, normalized. Timestamps are UTC; amount is exact."""

    provider: str
    order_id: str
    merchant_ref: str | None
    payment_id: str | None
    amount: Decimal
    currency: str
    status: str
    provider_status: str | None
    created_at: datetime
    updated_at: datetime | None
    paid_at: datetime | None
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    description: str | None
    raw: str = field(repr=False)

    @property
    def is_paid(self) -> bool:
        return self.status == PAID


# ---------------------------------------------------------------- errors


class ProviderError(RekonError):
    """A provider call failed. Carries what support asks for; never the key."""

    hint = ""

    def __init__(
        self,
        provider: str,
        message: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.provider_message = message
        self.request_id = request_id
        super().__init__(self._text())

    def _text(self) -> str:
        name = provider_title(self.provider)
        parts = [f"{name}: {self.provider_message}"]
        if self.status:
            parts.append(f"(HTTP {self.status})")
        if self.hint:
            parts.append(f"— {self.hint}")
        if self.request_id:
            parts.append(f"[request id {self.request_id}]")
        return " ".join(parts)


class AuthError(ProviderError):
    """401/403: the provider refused our credentials."""

    hint = "check the API key"


class RequestError(ProviderError):
    """Any other 4xx: the provider rejected the request itself."""


class ProviderUnavailable(ProviderError):
    """The provider kept failing (5xx, 429, timeouts) until the retries ran out."""

    hint = "the provider is unavailable; try again later"


# Every provider Rekon fetches from, by its code, with the name people know it by.
PROVIDER_TITLES = {"xepeng": "Xepeng", "durianpay": "Durianpay"}


def provider_title(provider: str) -> str:
    return PROVIDER_TITLES.get(provider, provider)


# ---------------------------------------------------------------- retry


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; Retry-After is honoured up to `retry_after_cap`."""

    max_tries: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)


RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    provider: str
    pages_done: int
    pages_total: int | None
    orders_done: int
    orders_total: int | None

    @property
    def fraction(self) -> float | None:
        if not self.pages_total:
            return None
        return min(1.0, self.pages_done / self.pages_total)


ProgressCallback = Callable[[Progress], None]


# ---------------------------------------------------------------- HTTP client base


class BaseClient:
    """An httpx client plus the retry loop and error mapping shared by both providers."""

    provider = "provider"
    page_limit = 100

    def __init__(
        self,
        client: httpx.Client,
        *,
        timezone: str = "Asia/Jakarta",
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = client
        self.tz = ZoneInfo(timezone)
        self.retry = retry or RetryPolicy()
        self.concurrency = max(1, concurrency)
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls,
        settings: ProviderSettings,
        *,
        timezone: str = "Asia/Jakarta",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        **kwargs: Any,
    ) -> Self:
        """A client for the configured base URL and key (`transport`: tests and the sandbox)."""
        http = cls.http_client(settings.base_url, cls.auth_for(settings), transport, timeout)
        return cls(http, timezone=timezone, **kwargs)

    @staticmethod
    def auth_for(settings: ProviderSettings) -> httpx.Auth:
        """How this provider takes its key."""
        raise NotImplementedError

    @staticmethod
    def http_client(
        base_url: str,
        auth: httpx.Auth,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> httpx.Client:
        """The pooled httpx client both providers use (enough connections for the pages in
        flight)."""
        return httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request with retries; return the decoded JSON body."""
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = {"Content-Type": "application/json"} if content is not None else None
        last: str = "no answer"
        last_status: int | None = None
        last_request_id: str | None = None
        for attempt in range(1, self.retry.max_tries + 1):
            retry_after: float | None = None
            try:
                response = self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
                if response.status_code < 400:
                    return response.json()
                message, request_id = self.error_details(response)
                status = response.status_code
                if status not in RETRY_STATUSES:
                    raise self._client_error(status, message, request_id)
                last, last_status, last_request_id = message, status, request_id
                retry_after = _retry_after(response)
            except (httpx.TransportError, json.JSONDecodeError) as exc:
                # A dropped connection or a truncated body: the request may be repeated.
                last, last_status = f"connection problem ({type(exc).__name__})", None
            if attempt < self.retry.max_tries:
                delay = self.retry.delay(attempt, retry_after)
                log.info("%s %s %s: retry %d in %.2fs", self.provider, method, path, attempt, delay)
                self._sleep(delay)
        raise ProviderUnavailable(
            self.provider,
            f"gave up after {self.retry.max_tries} tries: {last}",
            last_status,
            last_request_id,
        )

    def _client_error(self, status: int, message: str, request_id: str | None) -> ProviderError:
        if status in (401, 403):
            return AuthError(self.provider, message, status, request_id)
        return RequestError(self.provider, message, status, request_id)

    def error_details(self, response: httpx.Response) -> tuple[str, str | None]:
        """The provider's own error message and request id, from JSON or plain text."""
        request_id = response.headers.get("X-Request-Id")
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()[:200]
            return text or response.reason_phrase, request_id
        if isinstance(body, dict):
            message = body.get("message") or body.get("error") or body.get("detail")
            if isinstance(message, dict):
                message = message.get("message") or json.dumps(message)
            request_id = body.get("request_id") or request_id
            return str(message or response.reason_phrase), request_id
        return response.reason_phrase, request_id

    # ------------------------------------------------------------ business dates

    def utc_bounds(self, start: date, end: date) -> tuple[datetime, datetime]:
        """[start 00:00, end+1 00:00) in the business timezone, as naive UTC datetimes."""
        lo = datetime.combine(start, dtime.min, self.tz).astimezone(UTC)
        hi = datetime.combine(end + timedelta(days=1), dtime.min, self.tz).astimezone(UTC)
        return lo.replace(tzinfo=None), hi.replace(tzinfo=None)


# ---------------------------------------------------------------- paging

T = TypeVar("T")


def run_windowed(
    fetch: Callable[[int], T], keys: Iterable[int], concurrency: int
) -> Iterator[tuple[int, T]]:
    """Call fetch(key) for each key with at most `concurrency` in flight; yield in key order.

    A second window of keys waits queued behind the workers, so a slow page at the head does
    not leave them idle. Stopping the iteration early cancels what has not started, so an
    early stop on a newest-first list costs at most one window of extra requests.
    """
    if concurrency <= 1:
        for key in keys:
            yield key, fetch(key)
        return
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rekon-page") as pool:
        pending: deque[tuple[int, Future[T]]] = deque()
        it = iter(keys)
        try:
            for key in it:
                pending.append((key, pool.submit(fetch, key)))
                if len(pending) >= 2 * concurrency:
                    k, fut = pending.popleft()
                    yield k, fut.result()
            while pending:
                k, fut = pending.popleft()
                yield k, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()


class RecentIds:
    """Ids seen in the last few pages: enough to drop an order that shifted one page while
    paging, with memory that stays flat however many orders a range holds."""

    def __init__(self, keep: int = 5_000) -> None:
        self._keep = keep
        self._order: deque[str] = deque()
        self._set: set[str] = set()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Remember key; False if it was seen recently."""
        with self._lock:
            if key in self._set:
                return False
            self._set.add(key)
            self._order.append(key)
            if len(self._order) > self._keep:
                self._set.discard(self._order.popleft())
            return True


# ---------------------------------------------------------------- parsing helpers


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 (Z or offset; naive means UTC) or epoch seconds/millis -> naive UTC datetime."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # 3.11 reads 'Z' and offsets
        except ValueError:
            text = value.strip()
            if not text.isdigit():
                return None
            return _from_epoch(float(text))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    return None


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # epoch milliseconds
        seconds /= 1000
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def first(mapping: Mapping[str, Any], *paths: str) -> Any:
    """The first present, non-empty value among dotted paths ('metadata.order_ref')."""
    for path in paths:
        if "." in path:
            node: Any = mapping
            for part in path.split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
        else:
            node = mapping.get(path)
        if node is not None and node != "":
            return node
    return None


def text_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value).strip()
    return text or None


def read_order(provider: str, parse: Callable[[Mapping[str, Any]], Order], item: Any) -> Order:
    """One order of a provider's answer. One that Rekon cannot read is the provider's error and
    names the order, so that the fetch it belongs to stores nothing and says what to ask about."""
    if not isinstance(item, Mapping):
        raise ProviderError(provider, f"sent {type(item).__name__} where an order belongs")
    try:
        return parse(item)
    except ValueError as exc:
        ident = text_or_none(first(item, "uid", "id", "order_id"))
        which = f"order {ident}" if ident else "an order without an id"
        raise ProviderError(provider, f"{which} cannot be read: {exc}") from exc


def normalize_status(table: Mapping[str, str], raw: object) -> str:
    """Map a raw status through a provider's table; anything unmapped is 'unknown'."""
    if raw is None:
        return UNKNOWN
    return table.get(str(raw).strip().lower(), UNKNOWN)


@dataclass(frozen=True)
class OrderPage:
    """One page of a list call. `total` is the number of orders in the whole list, if known."""

    orders: list[Order]
    size: int  # items the provider sent, including ones we could not keep
    total: int | None = None
    total_pages: int | None = None


def in_range(order: Order, lo: datetime, hi: datetime) -> bool:
    return lo <= order.created_at < hi
