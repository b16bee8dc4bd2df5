"""A hostile provider, over real HTTP on 127.0.0.1: each bad answer fails the fetch with one
clear line, stores nothing but the failed run saying why, and never shows a credential."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rekon.config import ProviderSettings, Secret, Settings
from rekon.fetch_log import fetch_gaps
from rekon.fetching import ClientOptions, OrderSource, fetch_orders, make_clients
from rekon.providers.base import (
    AuthError,
    ProviderError,
    ProviderMisbehaved,
    ProviderUnavailable,
    Unreachable,
)
from rekon.store import Store
from tests.conftest import FAST_RETRY
from tests.factories import OPERATOR, add_orders, fingerprint, order
from tests.hostile import Hostile, hostile_provider

XEPENG_KEY = "xp_live_HOSTILEsecret0001"
DURIANPAY_KEY = "dp_live_HOSTILEsecret0002"
DAY = (date(2026, 10, 5), date(2026, 10, 5))
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def hostile() -> Iterator[tuple[str, Hostile]]:
    with hostile_provider() as running:
        yield running


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        db_path=tmp_path / "rekon.duckdb",
        xepeng=ProviderSettings(url, Secret(XEPENG_KEY)),
        durianpay=ProviderSettings(url, Secret(DURIANPAY_KEY)),
    )


def clients_for(url: str, tmp_path: Path, provider: str) -> dict[str, OrderSource]:
    options = ClientOptions(retry=FAST_RETRY, timeout=5.0, deadline=1.5, max_pages=30)
    return make_clients(settings_for(url, tmp_path), provider, options)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "rekon.duckdb")
    add_orders(s, order("xo_before", 50_000, date(2026, 10, 5)))
    yield s
    s.close()


def refused(
    store: Store, url: str, tmp_path: Path, provider: str, error: type[Exception] = ProviderError
) -> str:
    """Fetch from the hostile provider; the error's one line, after checking that nothing but
    the failed run was stored and that the run says the same."""
    before = fingerprint(store)
    clients = clients_for(url, tmp_path, provider)
    with pytest.raises(error) as caught:
        fetch_orders(store, clients, *DAY, by=OPERATOR)
    message = str(caught.value)
    assert "\n" not in message
    assert fingerprint(store) == before
    status, stored = store.query(
        "SELECT status, error FROM fetch_runs ORDER BY id DESC LIMIT 1"
    ).row(0)
    assert (status, stored) == ("failed", message)
    action, detail = store.query(
        "SELECT action, detail FROM audit_log ORDER BY logged_at DESC LIMIT 1"
    ).row(0)
    assert action == "fetch" and json.loads(detail)["error"] == message
    for secret in (XEPENG_KEY, DURIANPAY_KEY, "HOSTILEsecret"):
        assert secret not in message
    return message


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_an_error_body_sent_with_200_fails_the_fetch_naming_the_provider_message(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, provider: str
) -> None:
    url, state = hostile
    state.mode = "error_body"
    message = refused(store, url, tmp_path, provider)
    assert "answered without orders: merchant suspended" in message
    # No successful fetch was recorded, so the day is still reported as not fetched.
    assert [g.provider for g in fetch_gaps(store, *DAY, (provider,))] == [provider]


def test_a_web_page_with_200_is_named_and_not_retried(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode = "html"
    message = refused(store, url, tmp_path, "xepeng", ProviderMisbehaved)
    assert "Xepeng: answered with a web page, not JSON (HTTP 200, text/html" in message
    assert len(state.requests) == 1


def test_a_proxy_error_page_is_described_not_quoted(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode = "bad_gateway"
    message = refused(store, url, tmp_path, "durianpay", ProviderUnavailable)
    assert "answered with a web page, not JSON" in message and "(HTTP 502)" in message
    assert "<" not in message and "xxxx" not in message


@pytest.mark.parametrize(("provider", "where"), [("xepeng", "page 2"), ("durianpay", "skip 100")])
def test_the_same_page_served_for_ever_is_caught_at_once(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, provider: str, where: str
) -> None:
    url, state = hostile
    state.mode = "endless_same"
    message = refused(store, url, tmp_path, provider, ProviderMisbehaved)
    assert f"sent the same page twice ({where} repeats the one before)" in message
    assert len(state.requests) <= 2 + 2 * 8  # the first page, then at most one window


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_paging_that_never_ends_stops_at_the_page_cap(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, provider: str
) -> None:
    url, state = hostile
    state.mode = "endless_new"
    message = refused(store, url, tmp_path, provider, ProviderMisbehaved)
    assert "kept sending full pages past the end of its list" in message
    assert len(state.requests) <= 31 + 2 * 8


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_an_absurd_total_is_refused_before_paging(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, provider: str
) -> None:
    url, state = hostile
    state.mode = "lying_total"
    message = refused(store, url, tmp_path, provider, ProviderMisbehaved)
    assert "announces 1.000.000.000 orders in 10.000.000 pages" in message
    assert len(state.requests) == 1


def test_a_provider_dripping_bytes_is_cut_off_at_the_deadline(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode = "drip"
    started = time.monotonic()
    message = refused(store, url, tmp_path, "xepeng", ProviderMisbehaved)
    assert "took longer than 1.5 s to answer one request" in message
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_a_provider_echoing_the_key_never_shows_it(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, provider: str
) -> None:
    url, state = hostile
    state.mode = "echo_key"
    message = refused(store, url, tmp_path, provider, AuthError)
    assert "invalid credential: B" in message and "****" in message
    assert "SE9TVElMRXNlY3JldDAw" not in message  # the Basic token made of the key


def test_the_command_line_never_prints_an_echoed_key(
    hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode = "echo_key"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XEPENG_", "DURIANPAY_"))}
    env |= {"XEPENG_BASE_URL": url, "XEPENG_API_KEY": XEPENG_KEY}
    done = subprocess.run(
        [VENV_BIN / "rekon", "fetch", "--provider", "xepeng", "--from", "2026-10-05",
         "--to", "2026-10-05", "--db", str(tmp_path / "cli.duckdb")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Xepeng refused" in done.stderr or "check the API key" in done.stderr
    assert "HOSTILEsecret" not in done.stderr + done.stdout


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_one_order_sent_twice_with_different_amounts_fails_the_fetch_naming_it(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, provider: str
) -> None:
    url, state = hostile
    state.mode = "duplicate_ids"
    message = refused(store, url, tmp_path, provider)
    assert "sent order o_1 more than once with different contents" in message


def test_of_two_copies_the_later_update_is_kept(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode = "newer_copy"
    fetch_orders(store, clients_for(url, tmp_path, "xepeng"), *DAY, by=OPERATOR)
    assert store.scalar("SELECT amount::VARCHAR FROM orders WHERE order_id = 'o_1'") == "175000.00"


def test_a_redirect_is_named_with_where_it_leads(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode = "redirect"
    message = refused(store, url, tmp_path, "durianpay", ProviderMisbehaved)
    assert "redirected the request to https://login.example.test/sso (HTTP 302)" in message
    assert "check DURIANPAY_BASE_URL" in message
    assert len(state.requests) == 1


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("123.456", "'123.456' has more than two decimals"),
        (0.005, "'0.005' has more than two decimals"),
        ("1_000", "'1_000' is not an amount"),
        ("١٢٣", "'١٢٣' is not an amount"),
        ("1e3", "'1e3' is not an amount"),
    ],
)
def test_an_amount_the_ledger_would_refuse_fails_the_fetch_by_order_id(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path, amount: object, why: str
) -> None:
    url, state = hostile
    state.mode, state.amount = "amounts", amount
    message = refused(store, url, tmp_path, "xepeng")
    assert f"order o_odd cannot be read: {why}" in message


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1:8700", "is not an address Rekon can call"),
        ("ftp://127.0.0.1:8700", "is not an address Rekon can call"),
        ("http://no-such-host.invalid", "the host no-such-host.invalid is not known"),
    ],
)
def test_an_address_that_cannot_work_is_named_without_retrying(
    store: Store, tmp_path: Path, address: str, why: str
) -> None:
    started = time.monotonic()
    message = refused(store, address, tmp_path, "xepeng", Unreachable)
    assert why in message and "check XEPENG_BASE_URL" in message
    assert time.monotonic() - started < 3


def test_https_on_a_plain_http_port_is_named_without_retrying(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, _ = hostile
    tls = url.replace("http://", "https://")
    message = refused(store, tls, tmp_path, "durianpay", Unreachable)
    assert f"{tls} does not speak HTTPS" in message and "http:// address?" in message


def test_a_refused_connection_names_the_address(store: Store, tmp_path: Path) -> None:
    message = refused(store, "http://127.0.0.1:9", tmp_path, "xepeng", ProviderUnavailable)
    assert "nothing answers at http://127.0.0.1:9 (connection refused)" in message


def test_a_slow_provider_never_holds_the_write_lock_while_it_pages(
    store: Store, hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    url, state = hostile
    state.mode, state.drip_seconds = "drip", 0.01  # about three seconds for one small page
    options = ClientOptions(retry=FAST_RETRY, timeout=5.0, deadline=60)
    clients = make_clients(settings_for(url, tmp_path), "xepeng", options)
    fetch = threading.Thread(
        target=fetch_orders, args=(store, clients, *DAY), kwargs={"by": OPERATOR}
    )
    fetch.start()
    time.sleep(0.5)
    assert fetch.is_alive()
    started = time.monotonic()
    with store.write() as cur:  # what "Record decision" does
        cur.execute("INSERT INTO audit_log VALUES (now()::TIMESTAMP, 'ana', 'test', 'x', '{}')")
    assert time.monotonic() - started < 0.5
    assert fetch.is_alive()
    fetch.join(timeout=30)
    assert store.scalar("SELECT count(*) FROM orders WHERE order_id = 'o_1'") == 1


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_fetch_killed_mid_way_is_marked_interrupted_when_the_store_is_next_opened(
    hostile: tuple[str, Hostile], tmp_path: Path, how: signal.Signals
) -> None:
    url, state = hostile
    state.mode, state.drip_seconds = "drip", 0.05
    db = tmp_path / "killed.duckdb"
    Store(db).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XEPENG_", "DURIANPAY_"))}
    env |= {"XEPENG_BASE_URL": url, "XEPENG_API_KEY": XEPENG_KEY}
    proc = subprocess.Popen(
        [VENV_BIN / "rekon", "fetch", "--provider", "xepeng", "--from", "2026-10-05",
         "--to", "2026-10-05", "--db", str(db)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not state.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(how)
    assert proc.wait(timeout=10) != 0
    store = Store(db)
    assert store.query("SELECT status, error FROM fetch_runs").rows() == [
        ("interrupted", "the fetch was stopped before it finished; nothing was stored")
    ]
    assert store.scalar("SELECT count(*) FROM orders") == 0
    assert not list(tmp_path.glob(".killed.duckdb.fetch-*"))
