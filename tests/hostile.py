"""A hostile provider for the test suite: both gateways' list endpoints on 127.0.0.1, answering
in one chosen bad way at a time. Each mode is something a real provider, a proxy in front of
it, or a broken deploy has been seen to do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rekon.sandbox.server import serve_in_thread

MODES = (
    "error_body",  # 200 whose body is the provider's error
    "html",  # 200 with a web page (a login wall, a captive portal)
    "bad_gateway",  # 502 with a proxy's HTML page, every time
    "endless_same",  # the same full page for every page number, no total
    "endless_new",  # ever new full pages, no total
    "lying_total",  # a total of 10^9 orders
    "drip",  # a valid page, one byte at a time
    "echo_key",  # 401 quoting the Authorization header it was sent
    "duplicate_ids",  # one order twice with different amounts and the same updated_at
    "newer_copy",  # one order twice, the second copy updated later
    "redirect",  # 302 to a login page elsewhere
    "amounts",  # amounts an API should never send: 123.456, 1_000, Arabic-Indic digits
    "good",  # one short valid page
)


@dataclass
class Hostile:
    mode: str = "good"
    drip_seconds: float = 0.3
    amount: Any = "150000.00"
    requests: list[str] = field(default_factory=list)


def xepeng_order(
    uid: str, amount: Any = "150000.00", updated: str = "2026-10-05T03:00:00Z"
) -> dict[str, Any]:
    return {
        "uid": uid,
        "amount": amount,
        "currency": "IDR",
        "status": "paid",
        "created_at": "2026-10-05T02:00:00Z",
        "updated_at": updated,
        "metadata": {"order_ref": f"INV-{uid}"},
    }


def durianpay_order(
    oid: str, amount: Any = "150000.00", updated: str = "2026-10-05T03:00:00Z"
) -> dict[str, Any]:
    return {
        "id": oid,
        "amount": amount,
        "currency": "IDR",
        "status": "completed",
        "payment_status": "completed",
        "created_at": "2026-10-05T02:00:00Z",
        "updated_at": updated,
    }


def _page(provider: str, orders: list[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    if provider == "xepeng":
        body: dict[str, Any] = {"status": True, "message": "ok", "data": orders}
        if total is not None:
            body["meta"] = {"total": total, "limit": 100}
        return body
    return (
        {"data": {"orders": orders, "total": total}}
        if total is not None
        else {"data": {"orders": orders}}
    )


def build(state: Hostile) -> Starlette:
    async def listing(request: Request) -> Response:
        provider = "xepeng" if request.url.path.startswith("/openapi") else "durianpay"
        state.requests.append(str(request.url))
        make = xepeng_order if provider == "xepeng" else durianpay_order
        number = int(request.query_params.get("page") or 0) or (
            int(request.query_params.get("skip") or 0) // 100 + 1
        )
        mode = state.mode
        if mode == "error_body":
            if provider == "xepeng":
                return JSONResponse(
                    {"status": False, "message": "merchant suspended", "data": None}
                )
            return JSONResponse({"errors": [{"message": "merchant suspended"}]})
        if mode == "html":
            return Response(
                "<html><body><h1>Please sign in</h1></body></html>", 200, media_type="text/html"
            )
        if mode == "bad_gateway":
            html = (
                "<html><head><title>502 Bad Gateway</title></head><body>"
                + "x" * 500
                + "</body></html>"
            )
            return Response(html, 502, media_type="text/html")
        if mode == "endless_same":
            return JSONResponse(_page(provider, [make(f"o_{i}") for i in range(100)]))
        if mode == "endless_new":
            return JSONResponse(_page(provider, [make(f"o_{number}_{i}") for i in range(100)]))
        if mode == "lying_total":
            return JSONResponse(
                _page(provider, [make(f"o_{number}_{i}") for i in range(100)], 10**9)
            )
        if mode == "drip":
            data = json.dumps(_page(provider, [make("o_1")])).encode()

            async def trickle() -> AsyncIterator[bytes]:
                for i in range(len(data)):
                    yield data[i : i + 1]
                    await asyncio.sleep(state.drip_seconds)

            return StreamingResponse(trickle(), media_type="application/json")
        if mode == "echo_key":
            sent = request.headers.get("authorization", "")
            return JSONResponse({"status": False, "message": f"invalid credential: {sent}"}, 401)
        if mode == "duplicate_ids":
            return JSONResponse(
                _page(provider, [make("o_1", "150000.00"), make("o_2"), make("o_1", "175000.00")])
            )
        if mode == "newer_copy":
            later = make("o_1", "175000.00", updated="2026-10-05T04:00:00Z")
            return JSONResponse(_page(provider, [later, make("o_2"), make("o_1", "150000.00")]))
        if mode == "redirect":
            return Response(status_code=302, headers={"Location": "https://login.example.test/sso"})
        if mode == "amounts":
            return JSONResponse(_page(provider, [make("o_odd", state.amount)]))
        return JSONResponse(_page(provider, [make("o_1"), make("o_2")]))

    return Starlette(
        routes=[
            Route("/openapi/orders", listing),
            Route("/v1/orders", listing),
        ]
    )


@contextmanager
def hostile_provider() -> Iterator[tuple[str, Hostile]]:
    """A hostile provider on a free port of 127.0.0.1: its URL and the state to set modes on."""
    state = Hostile()
    url, server, thread = serve_in_thread(build(state))
    try:
        yield url, state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
