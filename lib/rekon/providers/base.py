"""What every provider client shares: the normalized Order, the error tree, retry and paging.

Retry, backoff, concurrency and progress live here once; `xepeng.py` and `durianpay.py` only
know their own URLs, envelopes and status words.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import socket
import ssl
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
from rekon.money import format_count
from rekon.names import BASE_URL_SETTINGS, PROVIDER_TITLES, provider_title
from rekon.redaction import redact

if TYPE_CHECKING:
    from rekon.config import ProviderSettings

log = logging.getLogger(__name__)
__all__ = ["PROVIDER_TITLES", "provider_title"]  # the names, for callers that import them here

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
        # Whatever the provider wrote may quote what it was sent: a key never reaches a message.
        self.provider_message = redact(message)
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


class ProviderMisbehaved(ProviderError):
    """The provider answered, but not with what its API promises: a web page instead of JSON,
    an error inside a 200, a list that never ends. Trying again would not help."""

    hint = "nothing was stored; ask the provider's support with this message"


class Unreachable(ProviderError):
    """The configured address cannot work: no scheme, an unknown host, TLS on a plain port."""


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


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None


class _CutShort(Exception):
    """A JSON answer that ended early: the connection dropped, so the request may be repeated."""


def _content_kind(headers: httpx.Headers) -> str:
    ctype = (headers.get("content-type") or "").lower()
    if "html" in ctype:
        return "a web page"
    if ctype.startswith("text/"):
        return "plain text"
    return "something else"


def _looks_like_json(headers: httpx.Headers, raw: bytes) -> bool:
    return "json" in (headers.get("content-type") or "").lower() or raw.lstrip()[:1] in (
        b"{",
        b"[",
    )


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost cause of an httpx error (a socket or TLS error, usually)."""
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    return exc


def provider_message(body: Any) -> str | None:
    """The message a provider put in an error body: `message`, `error`, `detail` or `errors`
    (a list of strings or of objects with a message)."""
    if not isinstance(body, Mapping):
        return None
    for key in ("message", "error", "detail", "error_message", "errors"):
        value = body.get(key)
        if isinstance(value, Mapping):
            value = value.get("message") or json.dumps(value)
        if isinstance(value, list):
            texts = [
                str(v.get("message") or v.get("detail") or json.dumps(v))
                if isinstance(v, Mapping)
                else str(v)
                for v in value
            ]
            value = "; ".join(texts)
        if value not in (None, "", False, True):
            return " ".join(str(value).split())[:300]
    return None


def secret_texts(settings: ProviderSettings) -> list[str]:
    """Every form in which a provider's credentials could be echoed back: the values, and the
    Basic token made of them."""
    values = [s.reveal() for s in (settings.key, settings.client_secret) if s]
    return values + [base64.b64encode(f"{v}:".encode()).decode() for v in values]


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

# One request may take this long in all, however its bytes trickle in: httpx's read timeout
# restarts with every byte, so a provider dripping one byte a second would hold a fetch for ever.
REQUEST_DEADLINE = 120.0
# A page of 100 orders is tens of kilobytes; anything near this is not a page of orders.
MAX_BODY_BYTES = 64 * 2**20
# Pages one listing may take when the provider announces no total: 20M orders at 100 a page,
# twice the largest month Rekon is built for. With a total, the cap follows from it.
MAX_PAGES = 200_000


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
        deadline: float = REQUEST_DEADLINE,
        max_pages: int = MAX_PAGES,
        secrets: Iterable[str] = (),
    ) -> None:
        self._http = client
        self.tz = ZoneInfo(timezone)
        self.retry = retry or RetryPolicy()
        self.concurrency = max(1, concurrency)
        self._sleep = sleep
        self.deadline = deadline
        self.max_pages = max_pages
        self._secrets = tuple(secrets)

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
        return cls(http, timezone=timezone, secrets=secret_texts(settings), **kwargs)

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
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """A message from outside with this client's credentials masked."""
        return redact(text, self._secrets)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request with retries; return the decoded JSON body.

        Raises AuthError or RequestError for a refusal, Unreachable when the address cannot
        work, ProviderMisbehaved when the answer is not JSON, and ProviderUnavailable once the
        retries for what may pass (5xx, 429, a dropped connection) run out.
        """
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = {"Content-Type": "application/json"} if content is not None else None
        last: str = "no answer"
        last_status: int | None = None
        last_request_id: str | None = None
        for attempt in range(1, self.retry.max_tries + 1):
            retry_after: float | None = None
            try:
                request = self._http.build_request(
                    method, path, params=params, content=content, headers=headers
                )
                status, response_headers, raw = self._send(request)
                if status < 300:
                    return self._json(status, response_headers, raw)
                if status < 400:
                    where = response_headers.get("Location") or "another address"
                    raise ProviderMisbehaved(
                        self.provider,
                        f"redirected the request to {self.redact(where)} (HTTP {status}): "
                        f"check {self._url_setting()}",
                    )
                message, request_id = self.error_details(status, response_headers, raw)
                if status not in RETRY_STATUSES:
                    raise self._client_error(status, message, request_id)
                last, last_status, last_request_id = message, status, request_id
                retry_after = _retry_after(response_headers)
            except httpx.TransportError as exc:
                if reason := self._hopeless(exc):
                    raise Unreachable(self.provider, reason) from None
                last, last_status = self._transport_problem(exc), None
            except _CutShort:
                last, last_status = "the answer was cut short", None
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

    def _send(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        """Status, headers and the whole body, within the deadline and the size bound."""
        started = time.monotonic()
        response = self._http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ProviderMisbehaved(
                        self.provider,
                        f"sent an answer larger than {MAX_BODY_BYTES // 2**20} MB to one "
                        "request: that is not a page of orders",
                    )
                if time.monotonic() - started > self.deadline:
                    raise ProviderMisbehaved(
                        self.provider,
                        f"took longer than {self.deadline:g} s to answer one request (it kept "
                        "the connection open, sending a little at a time)",
                    )
        finally:
            response.close()
        return response.status_code, response.headers, b"".join(chunks)

    def _json(self, status: int, headers: httpx.Headers, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            kind = _content_kind(headers)
            if raw.strip() and _looks_like_json(headers, raw):
                raise _CutShort from None  # a dropped connection: the request may be repeated
            raise ProviderMisbehaved(
                self.provider,
                f"answered with {kind}, not JSON (HTTP {status}, "
                f"{headers.get('content-type') or 'no content type'})",
            ) from None

    def _client_error(self, status: int, message: str, request_id: str | None) -> ProviderError:
        if status in (401, 403):
            return AuthError(self.provider, message, status, request_id)
        return RequestError(self.provider, message, status, request_id)

    def error_details(
        self, status: int, headers: httpx.Headers, raw: bytes
    ) -> tuple[str, str | None]:
        """The provider's own error message and request id, from JSON or plain text; never a
        web page's markup, and never a credential it echoed."""
        request_id = headers.get("X-Request-Id")
        reason = httpx.codes.get_reason_phrase(status) or f"HTTP {status}"
        try:
            body = json.loads(raw)
        except ValueError:
            if "html" in _content_kind(headers) or raw.lstrip()[:1] == b"<":
                kind = _content_kind(headers)
                return f"answered with {kind}, not JSON ({headers.get('content-type')})", request_id
            text = " ".join(raw.decode("utf-8", "replace").split())[:160]
            return self.redact(text or reason), request_id
        message = provider_message(body)
        if isinstance(body, Mapping):
            request_id = text_or_none(body.get("request_id")) or request_id
        return self.redact(message or reason), request_id

    def _url_setting(self) -> str:
        return BASE_URL_SETTINGS.get(self.provider, "the provider's address")

    def _hopeless(self, exc: httpx.TransportError) -> str | None:
        """Why a request can never reach the provider at this address, or None if it may."""
        setting, url = self._url_setting(), self.base_url
        if isinstance(exc, httpx.UnsupportedProtocol):
            return (
                f"{url!r} is not an address Rekon can call: it must start with https:// "
                f"(or http:// for a local sandbox); check {setting}"
            )
        cause = _root_cause(exc)
        if isinstance(cause, socket.gaierror):
            host = self._http.base_url.host or url
            return f"the host {host} is not known (at {url}): check {setting}"
        if isinstance(cause, ssl.SSLError):
            return (
                f"{url} does not speak HTTPS ({cause.reason or 'TLS failed'}): is it an "
                f"http:// address? Check {setting}"
            )
        return None

    def _transport_problem(self, exc: httpx.TransportError) -> str:
        if isinstance(_root_cause(exc), ConnectionRefusedError):
            setting = self._url_setting()
            return f"nothing answers at {self.base_url} (connection refused): check {setting}"
        if isinstance(exc, httpx.TimeoutException):
            return f"no answer from {self.base_url} in time ({type(exc).__name__})"
        return f"connection problem at {self.base_url} ({type(exc).__name__})"

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


class RecentCopies:
    """Orders seen in the last few pages: enough to drop the identical copy of an order that
    shifted one page while paging, with memory that stays flat however many orders a range
    holds. A copy that differs is kept: the store decides which copy wins, or refuses both."""

    def __init__(self, keep: int = 5_000) -> None:
        self._keep = keep
        self._order: deque[tuple[str, int]] = deque()
        self._set: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def add(self, order: Order) -> bool:
        """Remember the order; False if the same copy was seen recently."""
        key = (order.order_id, hash(order.raw))
        with self._lock:
            if key in self._set:
                return False
            self._set.add(key)
            self._order.append(key)
            if len(self._order) > self._keep:
                self._set.discard(self._order.popleft())
            return True


class PageGuard:
    """Stops a listing that would never end: a page served again and again, or more pages than
    the provider announced (with a little room for orders arriving while paging) or than any
    month holds. Pages are checked in their order in the list."""

    def __init__(self, provider: str, max_pages: int, unit: str = "page") -> None:
        self.provider = provider
        self.cap = max_pages
        self.unit = unit
        self._previous: tuple[str, ...] = ()

    def announce(self, total_pages: int | None, total_orders: int | None) -> None:
        """The provider's total: a cap for this listing, refused outright when absurd."""
        if total_pages is None:
            return
        if total_pages > self.cap:
            orders = f"{format_count(total_orders)} orders in " if total_orders is not None else ""
            raise ProviderMisbehaved(
                self.provider,
                f"announces {orders}{format_count(total_pages)} pages, more than one fetch "
                f"reads ({format_count(self.cap)} pages): fetch a shorter range, or ask the "
                "provider",
            )
        self.cap = total_pages + max(2, total_pages // 10)

    def check(self, where: int, page: OrderPage) -> None:
        """One more page, in list order; `where` is its page number or offset."""
        self.cap -= 1
        if self.cap < 0:
            raise ProviderMisbehaved(
                self.provider,
                f"kept sending full pages past the end of its list ({self.unit} {where}): "
                "its paging never stops",
            )
        ids = tuple(o.order_id for o in page.orders)
        if ids and ids == self._previous:
            raise ProviderMisbehaved(
                self.provider,
                f"sent the same page twice ({self.unit} {where} repeats the one before): "
                "its paging is broken",
            )
        self._previous = ids


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


def as_count(value: object) -> int | None:
    """A count a provider reported (a total, a number of pages), or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(float(value))
    except (ValueError, OverflowError):
        return None
    return number if number >= 0 else None


def text_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value).strip()
    return text or None


def read_order(provider: str, parse: Callable[[Mapping[str, Any]], Order], item: Any) -> Order:
    """One order of a provider's answer (see `read_item`)."""
    return read_item(provider, parse, item, "order", ("uid", "id", "order_id"))


ItemT = TypeVar("ItemT")


def read_item(
    provider: str,
    parse: Callable[[Mapping[str, Any]], ItemT],
    item: Any,
    what: str,
    ids: tuple[str, ...],
) -> ItemT:
    """One item (an order, a settlement …) of a provider's answer. One that Rekon cannot read
    is the provider's error and names the item by the first of its `ids` it has, so that the
    fetch it belongs to stores nothing and says what to ask about."""
    article = "an" if what[:1] in "aeiou" else "a"
    if not isinstance(item, Mapping):
        raise ProviderError(provider, f"sent {type(item).__name__} where {article} {what} belongs")
    try:
        return parse(item)
    except ValueError as exc:
        ident = text_or_none(first(item, *ids))
        which = f"{what} {ident}" if ident else f"{article} {what} without an id"
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
