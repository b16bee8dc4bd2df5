"""Both clients against the sandbox over real HTTP, plus tolerant parsing of other shapes."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest

from rekon.config import ProviderSettings, Secret
from rekon.providers.base import AuthError, Progress, ProviderUnavailable, RequestError
from rekon.providers.durianpay import DurianpayClient
from rekon.providers.durianpay import parse_order as parse_durianpay
from rekon.providers.xepeng import XepengClient
from rekon.providers.xepeng import parse_order as parse_xepeng
from rekon.sandbox.app import Faults
from rekon.sandbox.data import XEPENG_TEST_CLIENT_ID, XEPENG_TEST_SECRET
from rekon.sandbox.server import RunningSandbox
from tests.conftest import FAST_RETRY, OCTOBER, expected_count


def test_xepeng_create_get_update_list(xepeng: XepengClient) -> None:
    created = xepeng.create_order(
        Decimal(100_000),
        description="Order for product X",
        customer={"name": "John Doe", "email": "john.doe@example.com", "phone": "+6281234567890"},
        metadata={"order_ref": "ORDER-12345"},
    )
    assert created.amount == Decimal("100000.00")
    assert created.merchant_ref == "ORDER-12345"
    assert created.status == "pending"

    fetched = xepeng.get_order(created.order_id)
    assert fetched.order_id == created.order_id
    assert fetched.customer_email == "john.doe@example.com"

    updated = xepeng.update_order(
        created.order_id, amount=Decimal(150_000), description="Updated description"
    )
    assert (updated.amount, updated.description) == (Decimal("150000.00"), "Updated description")

    page = xepeng.list_orders(page=1, limit=10)
    assert len(page.orders) == 10
    assert page.orders[0].order_id == created.order_id  # newest first
    assert page.total is not None and page.total_pages == -(-page.total // 10)


def test_xepeng_signed_headers_auth_mode(sandbox: RunningSandbox) -> None:
    settings = ProviderSettings(
        sandbox.url, Secret(""), XEPENG_TEST_CLIENT_ID, Secret(XEPENG_TEST_SECRET)
    )
    with XepengClient.from_settings(settings, retry=FAST_RETRY) as client:
        order = client.create_order(Decimal(25_000), metadata={"order_ref": "SIGNED-1"})
        assert client.update_order(order.order_id, description="signed").description == "signed"
    bad = ProviderSettings(sandbox.url, Secret(""), XEPENG_TEST_CLIENT_ID, Secret("wrong"))
    with XepengClient.from_settings(bad, retry=FAST_RETRY) as client, pytest.raises(AuthError):
        client.list_orders()


def test_xepeng_unknown_order_is_a_request_error_without_retries(
    xepeng: XepengClient, sandbox: RunningSandbox
) -> None:
    before = sandbox.state.requests
    with pytest.raises(RequestError) as err:
        xepeng.get_order("xo_does_not_exist")
    assert err.value.status == 404
    assert "not found" in str(err.value)
    assert sandbox.state.requests - before <= 1


def test_xepeng_rejects_a_bad_update(xepeng: XepengClient) -> None:
    order = xepeng.create_order(Decimal(10_000))
    with pytest.raises(RequestError, match="amount"):
        xepeng.update_order(order.order_id, amount=Decimal(-5))


def test_durianpay_list_with_skip_limit_and_dates(durianpay: DurianpayClient) -> None:
    first = durianpay.list_orders(date(2026, 10, 1), date(2026, 10, 10), skip=0, limit=25)
    second = durianpay.list_orders(date(2026, 10, 1), date(2026, 10, 10), skip=25, limit=25)
    assert len(first.orders) == len(second.orders) == 25
    assert first.total == second.total and first.total is not None
    assert not {o.order_id for o in first.orders} & {o.order_id for o in second.orders}
    for order in first.orders + second.orders:
        assert datetime(2026, 10, 1) <= order.created_at < datetime(2026, 10, 11)
        assert isinstance(order.amount, Decimal)
    one = durianpay.get_order(first.orders[0].order_id)
    assert one == first.orders[0]


def test_durianpay_unknown_order_and_bad_dates(durianpay: DurianpayClient) -> None:
    with pytest.raises(RequestError) as err:
        durianpay.get_order("ord_missing")
    assert err.value.status == 404 and err.value.request_id
    with pytest.raises(RequestError, match="HTTP 400"):
        durianpay.list_orders(date(2026, 10, 9), date(2026, 10, 1))


@pytest.mark.parametrize("envelope", ["data", "seed", "total", "null"])
def test_durianpay_accepts_every_envelope(
    durianpay: DurianpayClient, sandbox: RunningSandbox, envelope: str
) -> None:
    sandbox.state.faults = Faults(durianpay_envelope=envelope, durianpay_epoch=True)
    got = list(durianpay.iter_orders(*OCTOBER))
    assert len(got) == 250 + 3  # the month plus its three Asia/Jakarta edge orders
    empty = durianpay.list_orders(date(2030, 1, 1), date(2030, 1, 2))
    assert empty.orders == []


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_wrong_key_is_an_auth_error_that_names_the_provider_not_the_key(
    sandbox: RunningSandbox, provider: str
) -> None:
    key = "sk_live_SUPERSECRET_123"
    settings = ProviderSettings(sandbox.url, Secret(key))
    cls = XepengClient if provider == "xepeng" else DurianpayClient
    with cls.from_settings(settings, retry=FAST_RETRY) as client, pytest.raises(AuthError) as err:
        list(client.iter_orders(*OCTOBER))
    text = f"{err.value} {err.value!r} {client!r} {settings!r}"
    assert provider.capitalize() in str(err.value)
    assert "check the API key" in str(err.value)
    assert key not in text


def test_retries_survive_429_a_failed_page_and_a_dropped_connection(
    xepeng: XepengClient, durianpay: DurianpayClient, sandbox: RunningSandbox
) -> None:
    sandbox.state.faults = Faults(
        rate_limit_every=4,
        retry_after=0.05,
        fail_once=["xepeng:page=2", "durianpay:skip=100"],
        drop_once=["xepeng:page=3", "durianpay:skip=200"],
    )
    x = list(xepeng.iter_orders(*OCTOBER))
    d = list(durianpay.iter_orders(*OCTOBER))
    assert len(x) == len(d) == 253
    assert sandbox.state.faults.fail_once == [] and sandbox.state.faults.drop_once == []


def test_a_provider_that_keeps_failing_ends_in_provider_unavailable(
    xepeng: XepengClient, sandbox: RunningSandbox
) -> None:
    sandbox.state.faults = Faults(always_fail="xepeng")
    before = sandbox.state.requests
    with pytest.raises(ProviderUnavailable, match="gave up after 4 tries"):
        list(xepeng.iter_orders(*OCTOBER))
    assert sandbox.state.requests - before == FAST_RETRY.max_tries


def test_order_repeated_across_a_page_shift_is_yielded_once(
    xepeng: XepengClient, sandbox: RunningSandbox
) -> None:
    # New orders arrive at the top of the newest-first list right after page 1 is served,
    # so the last orders of page 1 come round again at the top of page 2.
    sandbox.state.faults = Faults(shift_after_first_page=7)
    xepeng.page_limit = 50
    got = list(xepeng.iter_orders(date(2026, 9, 1), date(2026, 10, 31)))
    ids = [o.order_id for o in got]
    assert (
        len(ids)
        == len(set(ids))
        == expected_count(sandbox, "xepeng", date(2026, 9, 1), date(2026, 10, 31))
    )


def test_newest_first_list_stops_early_and_reports_progress(
    xepeng: XepengClient, sandbox: RunningSandbox
) -> None:
    seen: list[Progress] = []
    before = sandbox.state.requests
    xepeng.page_limit = 20
    got = list(xepeng.iter_orders(date(2026, 10, 1), date(2026, 10, 5), seen.append))
    total_pages = -(-len(sandbox.state.xepeng) // 20)
    assert got and all(o.created_at < datetime(2026, 10, 5, 17) for o in got)
    assert sandbox.state.requests - before < total_pages  # stopped before the end
    assert seen[-1].pages_done == seen[-1].pages_total
    assert seen[-1].orders_done >= len(got)


def test_unknown_raw_status_is_unknown_never_paid(
    xepeng: XepengClient, sandbox: RunningSandbox
) -> None:
    target = next(o for o in sandbox.state.xepeng if o.status == "paid")
    sandbox.state.set_raw_status(target.order_id, "captured_maybe")
    order = xepeng.get_order(target.order_id)
    assert (order.status, order.provider_status) == ("unknown", "captured_maybe")
    assert not order.is_paid


# ---------------------------------------------------------------- tolerant parsing


def _mock(handler_body: object, status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=handler_body)

    return httpx.MockTransport(handler)


XEPENG_ITEM = {
    "id": "ord_1",
    "amount": 150000,
    "currency": "idr",
    "status": "SUCCESS",
    "created_at": 1790000000,
    "metadata": {"order_ref": "INV-9"},
}


@pytest.mark.parametrize(
    "body",
    [
        {"status": True, "message": "ok", "data": [XEPENG_ITEM]},
        {"data": {"orders": [XEPENG_ITEM], "meta": {"total": 1, "page": 1}}},
        {"data": {"items": [XEPENG_ITEM]}, "pagination": {"total_pages": 1}},
        {"orders": [XEPENG_ITEM]},
        {"items": [XEPENG_ITEM]},
        [XEPENG_ITEM],
    ],
)
def test_xepeng_list_shapes_are_all_understood(body: object) -> None:
    settings = ProviderSettings("http://xepeng.test", Secret("k"))
    with XepengClient.from_settings(settings, transport=_mock(body)) as client:
        page = client.list_orders()
    (order,) = page.orders
    assert (order.order_id, order.merchant_ref, order.status) == ("ord_1", "INV-9", "paid")
    assert order.currency == "IDR" and order.amount == Decimal("150000.00")


def test_xepeng_single_order_in_data_or_bare_and_timestamps_with_offsets() -> None:
    item = dict(XEPENG_ITEM, uid="xo_2", created_at="2026-10-01T00:00:05+07:00")
    assert parse_xepeng(item).created_at == datetime(2026, 9, 30, 17, 0, 5)
    settings = ProviderSettings("http://xepeng.test", Secret("k"))
    for body in ({"status": True, "data": item}, item):
        with XepengClient.from_settings(settings, transport=_mock(body)) as client:
            assert client.get_order("xo_2").order_id == "xo_2"


def test_durianpay_parses_the_documented_example() -> None:
    doc = {
        "id": "ord_A31sd3AwAgItmmXdp",
        "amount": "20000",
        "currency": "IDR",
        "status": "started",
        "order_ref_id": "order2314",
        "created_at": 1582628071,
        "updated_at": 1582899071,
        "given_name": "John",
        "sur_name": "Doe",
        "payment_id": "pay_KEQQaXqazp2892",
        "payment_status": "completed",
        "payment_date": "2025-01-01T01:11:11.111111Z",
    }
    order = parse_durianpay(doc)
    assert order.status == "paid" and order.provider_status == "completed"
    assert order.amount == Decimal("20000.00") and order.customer_name == "John Doe"
    assert order.created_at == datetime(2020, 2, 25, 10, 54, 31)
    assert order.paid_at == datetime(2025, 1, 1, 1, 11, 11, 111111)
    assert json.loads(order.raw)["id"] == doc["id"]


def test_durianpay_plain_text_500_is_retried_then_reported() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, text="Internal Server Error")

    settings = ProviderSettings("http://dp.test", Secret("dp_test_x"))
    client = DurianpayClient.from_settings(
        settings, transport=httpx.MockTransport(handler), retry=FAST_RETRY
    )
    with pytest.raises(ProviderUnavailable, match="Internal Server Error"):
        client.list_orders(date(2026, 1, 1), date(2026, 1, 2))
    assert len(calls) == FAST_RETRY.max_tries
    assert calls[0].headers["authorization"].startswith("Basic ")
