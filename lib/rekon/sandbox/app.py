"""Starlette app emulating both provider APIs over the seeded data, with fault injection.

Xepeng: /openapi/orders (create, update, get, list newest-first; Bearer or signed headers).
Durianpay: /v1/orders (from/to/skip/limit; Basic auth), /v1/orders/{id}, and its payouts:
/v1/settlements, /v1/settlements/{id}, /v1/settlements/details (from/to as dates or Unix seconds).
/_sandbox/...: test controls (faults, status changes); no auth, loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import hmac
import json
import random
import secrets
import threading
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rekon.sandbox import settlements as payouts
from rekon.sandbox.data import (
    DURIANPAY_TEST_KEY,
    STATUS_MIX,
    XEPENG_TEST_CLIENT_ID,
    XEPENG_TEST_KEY,
    XEPENG_TEST_SECRET,
    Dataset,
    SeedOrder,
)


@dataclass
class Faults:
    """What to break. Keys in fail_once/drop_once: 'xepeng:page=N' or 'durianpay:skip=N'."""

    error_rate: float = 0.0  # share of list requests answered 500
    rate_limit_every: int = 0  # every Nth request answered 429 (0: never)
    retry_after: float = 1.0
    latency_ms: float = 0.0
    fail_once: list[str] = field(default_factory=list)
    drop_once: list[str] = field(default_factory=list)
    always_fail: str = ""  # 'xepeng', 'durianpay' or 'all': every request 503
    shift_after_first_page: int = 0  # new Xepeng orders arrive once page 1 was served
    durianpay_envelope: str = "data"  # 'data' | 'seed' | 'total' | 'null'
    durianpay_epoch: bool = False  # timestamps as epoch seconds, as the docs show
    # Settlement lists and details come bare, as documented, or wrapped in {"data": ...};
    # amounts as decimal strings, as documented, or as JSON numbers.
    settlement_envelope: str = "bare"  # 'bare' | 'data'
    settlement_numbers: bool = False


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _amount_json(amount: Decimal) -> int | str:
    return int(amount) if amount == amount.to_integral_value() else str(amount)


class SandboxState:
    """The orders both fake providers hold; safe to poke from test threads."""

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        seed: int = 1,
        timezone: str = "Asia/Jakarta",
    ) -> None:
        self.faults = faults or Faults()
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.requests = 0
        self.xepeng: list[SeedOrder] = sorted(
            (o for o in dataset.orders if o.provider == "xepeng"),
            key=lambda o: o.created_at,
            reverse=True,
        )
        self.durianpay: list[SeedOrder] = sorted(
            (o for o in dataset.orders if o.provider == "durianpay"), key=lambda o: o.created_at
        )
        self.dp_created = [o.created_at for o in self.durianpay]
        self.by_id = {o.order_id: o for o in dataset.orders}
        self._cache: dict[tuple[str, bool], bytes] = {}
        # Fields served in place of an order's own: what a provider might get wrong.
        self.garbled: dict[str, dict[str, Any]] = {}
        self.timezone = ZoneInfo(timezone)
        self.withheld: set[str] = set()  # paid orders the gateway has not paid out
        self._payouts: list[payouts.Settlement] | None = None

    # ------------------------------------------------------------ rendering

    def render(self, o: SeedOrder) -> bytes:
        epoch = self.faults.durianpay_epoch and o.provider == "durianpay"
        key = (o.order_id, epoch)
        cached = self._cache.get(key)
        if cached is None:
            doc = self._xepeng_doc(o) if o.provider == "xepeng" else self._durianpay_doc(o, epoch)
            doc |= self.garbled.get(o.order_id, {})
            cached = self._cache[key] = json.dumps(doc, separators=(",", ":")).encode()
        return cached

    @staticmethod
    def _xepeng_doc(o: SeedOrder) -> dict[str, Any]:
        name, email, phone = o.customer_name, o.customer_email, o.customer_phone
        return {
            "uid": o.order_id,
            "amount": _amount_json(o.amount),
            "currency": "IDR",
            "status": o.raw_status,
            "description": o.description,
            "customer": {"name": name, "email": email, "phone": phone},
            "metadata": {"order_ref": o.merchant_ref},
            "payment_id": o.payment_id,
            "created_at": _iso(o.created_at),
            "updated_at": _iso(o.updated_at),
            "paid_at": _iso(o.paid_at),
        }

    @staticmethod
    def _durianpay_doc(o: SeedOrder, epoch: bool) -> dict[str, Any]:
        def ts(value: datetime | None) -> Any:
            if value is None:
                return None
            return int(value.replace(tzinfo=UTC).timestamp()) if epoch else _iso(value)

        given, _, sur = o.customer_name.partition(" ")
        return {
            "id": o.order_id,
            "customer_id": "cus_" + o.order_id[4:14],
            "amount": f"{o.amount:.2f}",
            "payment_option": "full_payment",
            "currency": "IDR",
            "status": o.dp_order_status,
            "order_ref_id": o.merchant_ref,
            "created_at": ts(o.created_at),
            "updated_at": ts(o.updated_at),
            "is_live": False,
            "given_name": given,
            "sur_name": sur,
            "email": o.customer_email,
            "mobile": o.customer_phone,
            "payment_id": o.payment_id,
            "payment_status": o.raw_status,
            "payment_date": _iso(o.paid_at),
            "description": o.description,
        }

    def warm(self) -> int:
        """Render every order once, so benchmarks time the client, not the emulator."""
        with self.lock:
            for o in self.by_id.values():
                self.render(o)
        return len(self.by_id)

    # ------------------------------------------------------------ changes

    def invalidate(self, order_id: str) -> None:
        self._payouts = None
        self._cache.pop((order_id, False), None)
        self._cache.pop((order_id, True), None)

    def set_status(self, order_id: str, status: str) -> SeedOrder:
        with self.lock:
            o = self.by_id[order_id]
            _, x_raw, (dp_status, dp_payment) = STATUS_MIX[status]
            o.status, o.dp_order_status = status, dp_status
            o.raw_status = x_raw if o.provider == "xepeng" else dp_payment
            o.updated_at = o.updated_at + timedelta(hours=1)
            if status == "paid" and o.paid_at is None:
                o.paid_at = o.updated_at
            self.invalidate(order_id)
            return o

    def set_raw_status(self, order_id: str, raw: str) -> None:
        with self.lock:
            o = self.by_id[order_id]
            o.raw_status = raw
            o.updated_at = o.updated_at + timedelta(hours=1)
            self.invalidate(order_id)

    def garble(self, order_id: str, **fields: Any) -> None:
        """Serve these field values in the order's JSON from now on ('amount': 'NaN')."""
        with self.lock:
            self.garbled[order_id] = self.garbled.get(order_id, {}) | fields
            self.invalidate(order_id)

    def withhold(self, order_id: str) -> None:
        """Leave a paid order out of every payout: a settlement the gateway owes."""
        with self.lock:
            self.withheld.add(order_id)
            self._payouts = None

    def settlements(self, provider: str = "durianpay") -> list[payouts.Settlement]:
        """The provider's payouts by settlement time (call with the lock held)."""
        if self._payouts is None:
            self._payouts = payouts.settle(
                self.by_id.values(), self.timezone, frozenset(self.withheld)
            )
        return [s for s in self._payouts if s.provider == provider]

    def add_xepeng(self, o: SeedOrder) -> None:
        with self.lock:
            self.xepeng.insert(0, o)
            self.by_id[o.order_id] = o


# ---------------------------------------------------------------- responses


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type="application/json")


def _xepeng_error(status: int, message: str) -> Response:
    return JSONResponse({"status": False, "message": message, "data": None}, status)


def _dp_error(status: int, code: str, message: str) -> Response:
    rid = "req_" + secrets.token_hex(6)
    body = {"error": message, "error_code": code, "request_id": rid}
    return JSONResponse(body, status, headers={"X-Request-Id": rid})


class DroppedBody(Response):
    """Promises a body, sends half of it, and drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body) * 2).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        raise ConnectionAbortedError("sandbox: connection dropped mid-body (injected)")


def build_app(state: SandboxState) -> Starlette:
    def faults() -> Faults:  # tests replace state.faults between requests
        return state.faults

    async def injected(request: Request, provider: str, page_key: str | None) -> Response | None:
        f = faults()
        state.requests += 1
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 1000)
        if f.always_fail in (provider, "all"):
            return PlainResponse("upstream unavailable", 503)
        if f.rate_limit_every and state.requests % f.rate_limit_every == 0:
            return JSONResponse(
                {"message": "too many requests", "error": "too many requests"},
                429,
                headers={"Retry-After": str(f.retry_after)},
            )
        if page_key is not None:
            key = f"{provider}:{page_key}"
            if key in f.fail_once:
                f.fail_once.remove(key)
                if provider == "durianpay":
                    return PlainResponse("internal error", 500)  # a 500 may come as text
                return _xepeng_error(500, "internal error")
            if f.error_rate and state.rng.random() < f.error_rate:
                return _xepeng_error(500, "internal error")
        return None

    # ------------------------------------------------------------ Xepeng

    def xepeng_authorized(request: Request, body: bytes) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return hmac.compare_digest(auth[7:], XEPENG_TEST_KEY)
        client_id = request.headers.get("x-client-id")
        stamp = request.headers.get("x-timestamp", "")
        signature = request.headers.get("x-signature", "")
        if client_id != XEPENG_TEST_CLIENT_ID or not stamp.isdigit():
            return False
        if abs(int(datetime.now(UTC).timestamp()) - int(stamp)) > 300:
            return False
        from rekon.providers.xepeng import sign

        expected = sign(XEPENG_TEST_SECRET, request.method, request.url.path, stamp, body)
        return hmac.compare_digest(signature, expected)

    async def xepeng_orders(request: Request) -> Response:
        body = await request.body()
        if not xepeng_authorized(request, body):
            return _xepeng_error(401, "Unauthorized: invalid API key or signature")
        if request.method == "POST":
            return await xepeng_create(body)
        q = request.query_params
        try:
            page, limit = int(q.get("page", 1)), int(q.get("limit", 10))
        except ValueError:
            return _xepeng_error(400, "page and limit must be integers")
        if page < 1 or not 1 <= limit <= 100:
            return _xepeng_error(400, "page must be >= 1 and limit between 1 and 100")
        if (bad := await injected(request, "xepeng", f"page={page}")) is not None:
            return bad
        with state.lock:
            rows = [state.render(o) for o in state.xepeng[(page - 1) * limit : page * limit]]
            total = len(state.xepeng)
        pages = max(1, -(-total // limit))
        payload = (
            b'{"status":true,"message":"success","data":{"orders":['
            + b",".join(rows)
            + b'],"pagination":'
            + json.dumps(
                {"page": page, "limit": limit, "total": total, "total_pages": pages}
            ).encode()
            + b"}}"
        )
        if page == 1 and (n := faults().shift_after_first_page):
            faults().shift_after_first_page = 0
            for _ in range(n):
                state.add_xepeng(_new_xepeng_order(state, Decimal(10_000), {}))
        key = f"xepeng:page={page}"
        if key in faults().drop_once:
            faults().drop_once.remove(key)
            return DroppedBody(payload)
        return _json(payload)

    async def xepeng_create(body: bytes) -> Response:
        try:
            doc = json.loads(body or b"{}")
            amount = Decimal(str(doc["amount"]))
            currency = str(doc["currency"])
        except (ValueError, KeyError, InvalidOperation, TypeError):
            return _xepeng_error(400, "amount and currency are required")
        if amount <= 0 or currency.upper() != "IDR":
            return _xepeng_error(400, "amount must be positive and currency IDR")
        o = _new_xepeng_order(state, amount, doc)
        state.add_xepeng(o)
        return _json(_wrap(state.render(o)), 201)

    async def xepeng_order(request: Request) -> Response:
        body = await request.body()
        if not xepeng_authorized(request, body):
            return _xepeng_error(401, "Unauthorized: invalid API key or signature")
        if (bad := await injected(request, "xepeng", None)) is not None:
            return bad
        uid = request.path_params["uid"]
        o = state.by_id.get(uid)
        if o is None or o.provider != "xepeng":
            return _xepeng_error(404, f"order {uid} not found")
        if request.method == "PUT":
            try:
                doc = json.loads(body or b"{}")
                if not isinstance(doc, dict):
                    raise ValueError
                with state.lock:
                    if "amount" in doc:
                        amount = Decimal(str(doc["amount"]))
                        if amount <= 0:
                            raise ValueError
                        o.amount = amount
                    if "description" in doc:
                        o.description = str(doc["description"])
                    if isinstance(doc.get("metadata"), dict) and "order_ref" in doc["metadata"]:
                        o.merchant_ref = str(doc["metadata"]["order_ref"])
                    o.updated_at = max(o.updated_at, datetime.now(UTC).replace(tzinfo=None))
                    state.invalidate(uid)
            except (ValueError, InvalidOperation):
                return _xepeng_error(400, "invalid update: amount must be a positive number")
        return _json(_wrap(state.render(o)))

    # ------------------------------------------------------------ Durianpay

    def durianpay_authorized(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        token = auth[6:] if auth.startswith("Basic ") else auth
        try:
            user = base64.b64decode(token, validate=True).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, DURIANPAY_TEST_KEY)

    async def durianpay_orders(request: Request) -> Response:
        if not durianpay_authorized(request):
            return _dp_error(401, "DPAY_UNAUTHORIZED_ACCESS", "unauthorized access")
        q = request.query_params
        try:
            skip, limit = int(q.get("skip", 0)), int(q.get("limit", 25))
            lo = date.fromisoformat(q["from"]) if "from" in q else date.min
            hi = date.fromisoformat(q["to"]) if "to" in q else date.max - timedelta(days=1)
        except ValueError:
            return _dp_error(400, "DPAY_INVALID_REQUEST", "invalid from/to/skip/limit")
        if skip < 0 or not 1 <= limit <= 100 or lo > hi:
            return _dp_error(
                400, "DPAY_INVALID_REQUEST", "skip >= 0, 1 <= limit <= 100, from <= to"
            )
        if (bad := await injected(request, "durianpay", f"skip={skip}")) is not None:
            return bad
        # from/to are UTC calendar days here; the real API does not say which zone it uses.
        start = datetime.combine(lo, datetime.min.time())
        end = datetime.combine(hi + timedelta(days=1), datetime.min.time())
        with state.lock:
            i, j = (
                bisect.bisect_left(state.dp_created, start),
                bisect.bisect_left(state.dp_created, end),
            )
            window = state.durianpay[i:j]
            rows = [state.render(o) for o in window[skip : skip + limit]]
        total = len(window)
        items = b"[" + b",".join(rows) + b"]"
        envelope = faults().durianpay_envelope
        if envelope == "seed":
            payload = b'{"orders":' + items + b',"count":' + str(total).encode() + b"}"
        elif envelope == "total":
            payload = b'{"orders":' + items + b',"total":' + str(total).encode() + b"}"
        else:
            inner = b"null" if (envelope == "null" and not rows) else items
            payload = b'{"data":{"orders":' + inner + b',"count":' + str(total).encode() + b"}}"
        key = f"durianpay:skip={skip}"
        if key in faults().drop_once:
            faults().drop_once.remove(key)
            return DroppedBody(payload)
        return _json(payload)

    async def durianpay_order(request: Request) -> Response:
        if not durianpay_authorized(request):
            return _dp_error(401, "DPAY_UNAUTHORIZED_ACCESS", "unauthorized access")
        if (bad := await injected(request, "durianpay", None)) is not None:
            return bad
        o = state.by_id.get(request.path_params["order_id"])
        if o is None or o.provider != "durianpay":
            return _dp_error(404, "DPAY_ORDER_NOT_FOUND", "order not found")
        return _json(b'{"data":' + state.render(o) + b"}")

    # ------------------------------------------------------------ Durianpay settlements

    def settled_between(q: Any) -> tuple[datetime, datetime]:
        """from/to as the docs disagree: YYYY-MM-DD (UTC days, inclusive) or Unix seconds."""

        def bound(text: str | None, end: bool) -> datetime:
            if text is None:
                return datetime.max if end else datetime.min
            if text.isdigit():
                return datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None)
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, datetime.min.time())

        return bound(q.get("from"), False), bound(q.get("to"), True)

    def money(amount: Decimal) -> Any:
        return float(amount) if faults().settlement_numbers else f"{amount:.2f}"

    def stamp(value: datetime | None) -> Any:
        if value is None:
            return None
        if faults().durianpay_epoch:
            return int(value.replace(tzinfo=UTC).timestamp())
        return value.replace(tzinfo=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def settlement_doc(s: payouts.Settlement) -> dict[str, Any]:
        return {
            "id": s.settlement_id,
            "settlement_amount": money(s.net),
            "fee": money(s.fee),
            "promo_amount": money(Decimal(0)),
            "total_transcation_amount": money(s.gross),  # sic, as the docs spell it
            "status": "settled",
            "settled_at": stamp(s.settled_at),
            "created_at": stamp(s.settled_at - timedelta(hours=2)),
        }

    def detail_doc(p: payouts.Payout, by_payment: bool = False) -> dict[str, Any]:
        o = p.order
        kind, method = payouts.METHODS[p.method].kind, p.method
        doc = {
            "settlement_id": p.settlement_id,
            "payment_id": o.payment_id,
            "order_id": o.order_id,
            "order_reference": o.merchant_ref,
            "payment_reference": "ref_" + (o.payment_id or o.order_id)[4:],
            "payment_amount": money(o.amount),
            "transaction_amount": money(o.amount),
            "payment_discount": money(Decimal(0)),
            "total_settlement_fee": money(p.fee),
            "settlement_amount": money(p.net),
            "payment_date": stamp(o.paid_at),
            "settled_at": stamp(p.settled_at),
            "status": "settled",
            "currency": "IDR",
            "group": "durianpay",
        }
        if by_payment:
            doc |= {"payment_channel": kind, "payment_subchannel": method}
        else:
            doc |= {"payment_details_type": kind, "payment_method_id": method}
        return doc

    def paging(q: Any) -> tuple[int, int] | Response:
        try:
            skip, limit = int(q.get("skip", 0)), int(q.get("limit", 10))
        except ValueError:
            return _dp_error(400, "DPAY_INVALID_REQUEST", "invalid skip/limit")
        if skip < 0 or not 1 <= limit <= 100:
            return _dp_error(400, "DPAY_INVALID_REQUEST", "skip >= 0, 1 <= limit <= 100")
        return skip, limit

    def listing(key: str, docs: list[dict[str, Any]], total: int) -> Response:
        body: dict[str, Any] = {"total_count": total, "settlement_detail": docs}
        if faults().settlement_envelope == "data":
            body = {"data": body}
        payload = json.dumps(body, separators=(",", ":")).encode()
        if key in faults().drop_once:
            faults().drop_once.remove(key)
            return DroppedBody(payload)
        return _json(payload)

    async def asked(request: Request, what: str) -> tuple[int, int, datetime, datetime] | Response:
        """A list request's skip, limit and settlement window, or the answer refusing it (a
        bad parameter, or a fault injected for this page)."""
        q = request.query_params
        paged = paging(q)
        if isinstance(paged, Response):
            return paged
        skip, limit = paged
        try:
            lo, hi = settled_between(q)
        except ValueError:
            return _dp_error(400, "DPAY_INVALID_REQUEST", "from/to: YYYY-MM-DD or Unix seconds")
        if (bad := await injected(request, "durianpay", f"{what}:skip={skip}")) is not None:
            return bad
        return skip, limit, lo, hi

    async def durianpay_settlements(request: Request) -> Response:
        if not durianpay_authorized(request):
            return _dp_error(401, "DPAY_UNAUTHORIZED_ACCESS", "unauthorized access")
        window = await asked(request, "settlements")
        if isinstance(window, Response):
            return window
        skip, limit, lo, hi = window
        with state.lock:
            found = [s for s in state.settlements() if lo <= s.settled_at < hi]
            docs = [settlement_doc(s) for s in found[skip : skip + limit]]
        return listing(f"durianpay:settlements:skip={skip}", docs, len(found))

    async def durianpay_settlement_details(request: Request) -> Response:
        if not durianpay_authorized(request):
            return _dp_error(401, "DPAY_UNAUTHORIZED_ACCESS", "unauthorized access")
        q = request.query_params
        if "payment_id" in q:
            with state.lock:
                hit = next(
                    (
                        p
                        for s in state.settlements()
                        for p in s.payouts
                        if p.order.payment_id == q["payment_id"]
                    ),
                    None,
                )
            if hit is None:
                return _dp_error(404, "DPAY_SETTLEMENT_NOT_FOUND", "no settlement for payment")
            return JSONResponse({"data": detail_doc(hit, by_payment=True)})
        window = await asked(request, "details")
        if isinstance(window, Response):
            return window
        skip, limit, lo, hi = window
        with state.lock:
            rows = [p for s in state.settlements() if lo <= s.settled_at < hi for p in s.payouts]
            docs = [detail_doc(p) for p in rows[skip : skip + limit]]
        return listing(f"durianpay:details:skip={skip}", docs, len(rows))

    async def durianpay_settlement(request: Request) -> Response:
        if not durianpay_authorized(request):
            return _dp_error(401, "DPAY_UNAUTHORIZED_ACCESS", "unauthorized access")
        if (bad := await injected(request, "durianpay", None)) is not None:
            return bad
        sid = request.path_params["settlement_id"]
        with state.lock:
            hit = next((s for s in state.settlements() if s.settlement_id == sid), None)
        if hit is None:
            return _dp_error(404, "DPAY_SETTLEMENT_NOT_FOUND", "settlement not found")
        return JSONResponse({"data": settlement_doc(hit)})

    # ------------------------------------------------------------ controls

    async def health(request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "xepeng": len(state.xepeng), "durianpay": len(state.durianpay)}
        )

    async def warm(request: Request) -> Response:
        return JSONResponse({"rendered": state.warm()})

    async def set_faults(request: Request) -> Response:
        doc = await request.json()
        names = {f.name for f in fields(Faults)}
        state.faults = Faults(**{k: v for k, v in doc.items() if k in names})
        return JSONResponse(asdict(state.faults))

    async def change_status(request: Request) -> Response:
        doc = await request.json()
        try:
            o = state.set_status(request.path_params["order_id"], doc["status"])
        except KeyError:
            return JSONResponse({"error": "unknown order or status"}, 404)
        return JSONResponse({"order_id": o.order_id, "status": o.status})

    async def xepeng_settlement_report(request: Request) -> Response:
        """What a Xepeng merchant downloads from its portal: the payouts settled from/to (UTC
        days), as CSV. Not an API: Xepeng publishes none."""
        try:
            lo, hi = settled_between(request.query_params)
        except ValueError:
            return JSONResponse({"error": "from/to: YYYY-MM-DD"}, 400)
        with state.lock:
            found = [s for s in state.settlements("xepeng") if lo <= s.settled_at < hi]
            body = payouts.report_csv(found, state.timezone)
        return Response(body, media_type="text/csv")

    async def withhold(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if order_id not in state.by_id:
            return JSONResponse({"error": "unknown order"}, 404)
        state.withhold(order_id)
        return JSONResponse({"order_id": order_id, "withheld": True})

    return Starlette(
        routes=[
            Route("/openapi/orders", xepeng_orders, methods=["GET", "POST"]),
            Route("/openapi/orders/{uid}", xepeng_order, methods=["GET", "PUT"]),
            Route("/v1/orders", durianpay_orders, methods=["GET"]),
            Route("/v1/orders/{order_id}", durianpay_order, methods=["GET"]),
            Route("/v1/settlements", durianpay_settlements, methods=["GET"]),
            Route("/v1/settlements/details", durianpay_settlement_details, methods=["GET"]),
            Route("/v1/settlements/{settlement_id}", durianpay_settlement, methods=["GET"]),
            Route("/_sandbox/health", health),
            Route("/_sandbox/faults", set_faults, methods=["POST"]),
            Route("/_sandbox/warm", warm, methods=["POST"]),
            Route("/_sandbox/orders/{order_id}/status", change_status, methods=["POST"]),
            Route("/_sandbox/orders/{order_id}/withhold", withhold, methods=["POST"]),
            Route("/_sandbox/xepeng/settlement-report", xepeng_settlement_report),
        ]
    )


class PlainResponse(Response):
    media_type = "text/plain"


def _wrap(order: bytes) -> bytes:
    return b'{"status":true,"message":"success","data":' + order + b"}"


def _new_xepeng_order(state: SandboxState, amount: Decimal, doc: dict[str, Any]) -> SeedOrder:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    customer: dict[str, Any] = doc["customer"] if isinstance(doc.get("customer"), dict) else {}
    metadata: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    return SeedOrder(
        provider="xepeng",
        order_id="xo_" + secrets.token_hex(8),
        merchant_ref=str(metadata.get("order_ref", "")),
        payment_id=None,
        amount=amount,
        status="pending",
        created_at=now,
        updated_at=now,
        paid_at=None,
        customer_name=str(customer.get("name", "")),
        customer_email=str(customer.get("email", "")),
        customer_phone=str(customer.get("phone", "")),
        description=str(doc.get("description", "")),
        raw_status="pending",
    )
