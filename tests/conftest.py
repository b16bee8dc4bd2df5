"""Fixtures: a real sandbox over HTTP on 127.0.0.1 and real DuckDB files in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from rekon.config import Settings
from rekon.fetching import ClientOptions, OrderSource, make_clients
from rekon.providers.base import RetryPolicy
from rekon.providers.durianpay import DurianpayClient
from rekon.providers.xepeng import XepengClient
from rekon.sandbox.app import Faults
from rekon.sandbox.data import DataConfig, sandbox_settings
from rekon.sandbox.server import RunningSandbox, make_state, start_in_thread
from rekon.store import Store
from tests.postgres import Databases, postgres_databases, postgres_url

__all__ = ["postgres_databases", "postgres_url"]

# Property tests check what is true, not how fast: a first example that pays for a cold import
# on a busy 2-core machine must not fail on Hypothesis's 200 ms deadline. On CI the examples are
# derandomized (Hypothesis's own CI profile), so a run there is repeatable.
hypothesis_settings.register_profile(
    "rekon",
    hypothesis_settings.get_profile("ci" if os.environ.get("CI") else "default"),
    deadline=None,
)
hypothesis_settings.load_profile("rekon")

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
FAST_RETRY = RetryPolicy(max_tries=4, base_delay=0.01, max_delay=0.05, retry_after_cap=1.0)
SMALL = DataConfig(orders_per_month=250, months=("2026-09", "2026-10"), golden_month=None)


@pytest.fixture(scope="session")
def golden_sandbox() -> Iterator[RunningSandbox]:
    """The default data set (3 months, 5,000 orders per provider per month). Read-only."""
    with start_in_thread(make_state()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A small sandbox of its own, free to break and to change."""
    with start_in_thread(make_state(SMALL, Faults())) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, sandbox: RunningSandbox) -> Settings:
    return sandbox_settings(Settings(db_path=tmp_path / "rekon.duckdb"), sandbox.url)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on each backend: the embedded DuckDB file, and a PostgreSQL database of the
    test's own (skipped, saying how to enable it, where PostgreSQL is not installed)."""
    if request.param == "duckdb":
        s = Store(tmp_path / "rekon.duckdb")
        yield s
        s.close()
        return
    databases: Databases = request.getfixturevalue("postgres_databases")
    url = databases.new()
    s = Store(url)
    yield s
    s.close()
    databases.drop(url)


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[Store]:
    """The embedded DuckDB file, for what only a file has (its folder, its lock, its damage)."""
    s = Store(tmp_path / "rekon.duckdb")
    yield s
    s.close()


@pytest.fixture
def options() -> ClientOptions:
    return ClientOptions(retry=FAST_RETRY, timeout=5.0)


@pytest.fixture
def clients(settings: Settings, options: ClientOptions) -> Iterator[dict[str, OrderSource]]:
    made = make_clients(settings, "all", options)
    yield made
    for c in made.values():
        c.close()


@pytest.fixture
def xepeng(settings: Settings) -> Iterator[XepengClient]:
    assert settings.xepeng
    with XepengClient.from_settings(settings.xepeng, retry=FAST_RETRY) as client:
        yield client


@pytest.fixture
def durianpay(settings: Settings) -> Iterator[DurianpayClient]:
    assert settings.durianpay
    with DurianpayClient.from_settings(settings.durianpay, retry=FAST_RETRY) as client:
        yield client


def expected_count(sandbox: RunningSandbox, provider: str, start: date, end: date) -> int:
    """How many of the sandbox's orders were created on Asia/Jakarta dates start..end."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Jakarta")
    orders = sandbox.state.xepeng if provider == "xepeng" else sandbox.state.durianpay
    return sum(1 for o in orders if start <= o.business_date(tz) <= end)


@pytest.fixture
def no_live_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app as a fresh checkout sees it: no provider or Rekon setting from this machine's
    environment, run from the repository's root (where .streamlit/ is)."""
    for name in list(os.environ):
        if name.startswith(("XEPENG_", "DURIANPAY_", "REKON_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
