"""Fetching into a real DuckDB file: month edges, idempotence, updates, failure atomicity."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rekon.config import Settings, size_in_bytes
from rekon.fetch_log import FetchGap, fetch_gaps
from rekon.fetching import ClientOptions, OrderSource, fetch_orders, make_clients
from rekon.migrations import MIGRATIONS
from rekon.providers.base import ProviderError, ProviderUnavailable, provider_title
from rekon.sandbox.app import Faults
from rekon.sandbox.server import RunningSandbox
from rekon.staging import STAGING_MEMORY_LIMIT
from rekon.store import Store, StoreError
from tests.conftest import OCTOBER, expected_count
from tests.factories import OPERATOR

JAKARTA = ZoneInfo("Asia/Jakarta")


def snapshot(store: Store) -> list[tuple[object, ...]]:
    with store.read() as cur:
        return cur.execute("SELECT * FROM orders ORDER BY provider, order_id").fetchall()


def test_month_fetch_stores_exactly_the_jakarta_month(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    summary = fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    for provider in ("xepeng", "durianpay"):
        assert summary.per_provider[provider].new == expected_count(sandbox, provider, *OCTOBER)
    created = {row[0] for row in store.query("SELECT created_at FROM orders").iter_rows()}
    assert datetime(2026, 9, 30, 17, 0, 5) in created  # 1 Oct 00:00:05 WIB: in
    assert datetime(2026, 10, 31, 16, 59) in created  # 31 Oct 23:59 WIB: in
    assert datetime(2026, 10, 31, 17, 30) not in created  # 1 Nov 00:30 WIB: out
    assert datetime(2026, 9, 30, 16, 59, 59) not in created  # 30 Sep 23:59:59 WIB: out
    dates = store.query("SELECT min(business_date) lo, max(business_date) hi FROM orders")
    assert dates.row(0) == OCTOBER
    assert store.scalar("SELECT typeof(amount) FROM orders LIMIT 1") == "DECIMAL(18,2)"


def test_fetching_the_same_range_twice_changes_nothing(
    store: Store, clients: dict[str, OrderSource]
) -> None:
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    before = snapshot(store)
    again = fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    assert again.total.new == again.total.updated == 0
    assert again.total.unchanged == again.total.seen == len(before)
    assert snapshot(store) == before


def test_an_order_whose_status_changed_is_updated(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    first = fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    target = next(
        o
        for o in sandbox.state.durianpay
        if o.status == "pending" and o.created_at > datetime(2026, 10, 2)
    )
    sandbox.state.set_status(target.order_id, "paid")
    summary = fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    assert summary.per_provider["durianpay"].updated == 1
    assert summary.per_provider["xepeng"].updated == 0
    row = store.query(
        "SELECT status, provider_status, paid_at, last_fetch_run, first_fetch_run FROM orders"
        " WHERE order_id = ?",
        [target.order_id],
    ).row(0)
    assert row[:2] == ("paid", "completed") and row[2] is not None
    assert row[3:] == (summary.run_id, first.run_id)
    assert store.scalar("SELECT count(*) FROM orders") == first.total.seen


def test_an_older_copy_never_overwrites_a_newer_one(store: Store) -> None:
    from dataclasses import replace

    from rekon.providers.xepeng import parse_order

    doc = {
        "uid": "xo_1",
        "amount": 1000,
        "currency": "IDR",
        "status": "paid",
        "created_at": "2026-10-05T01:00:00Z",
        "updated_at": "2026-10-05T02:00:00Z",
    }
    newer = parse_order(doc)
    older = replace(parse_order(dict(doc, status="pending")), updated_at=datetime(2026, 10, 5, 1))
    for batch in ([newer], [older]):
        with store.write() as cur:
            store.upsert_orders(cur, batch, 1)
    assert store.scalar("SELECT status FROM orders") == "paid"


def test_a_provider_that_keeps_failing_leaves_the_orders_as_they_were(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    before = snapshot(store)
    sandbox.state.set_status(sandbox.state.xepeng[-1].order_id, "refunded")
    sandbox.state.faults = Faults(always_fail="durianpay")  # xepeng succeeds first, then this
    with pytest.raises(ProviderUnavailable):
        fetch_orders(store, clients, date(2026, 9, 1), date(2026, 10, 31), by=OPERATOR)
    assert snapshot(store) == before
    runs = store.query("SELECT status, error FROM fetch_runs ORDER BY id")
    assert runs["status"].to_list() == ["succeeded", "failed"]
    assert "Durianpay" in runs["error"][1] and "gave up" in runs["error"][1]


@pytest.mark.parametrize("provider", ["xepeng", "durianpay"])
def test_an_order_the_provider_garbles_fails_the_fetch_naming_it(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox, provider: str
) -> None:
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    before = snapshot(store)
    orders = sandbox.state.xepeng if provider == "xepeng" else sandbox.state.durianpay
    changed, bad = [o for o in orders if o.business_date(JAKARTA).month == 10][:2]
    sandbox.state.set_status(changed.order_id, "refunded")  # must not land from a failed fetch
    sandbox.state.garble(bad.order_id, amount="NaN")
    says = (
        f"{provider_title(provider)}: order {bad.order_id} cannot be read: 'NaN' is not an amount"
    )
    with pytest.raises(ProviderError, match=re.escape(says)):
        fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    assert snapshot(store) == before
    assert store.scalar("SELECT error FROM fetch_runs ORDER BY id DESC LIMIT 1").startswith(says)


def test_days_no_successful_fetch_covered_are_named_per_provider(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    fetch_orders(
        store, {"xepeng": clients["xepeng"]}, date(2026, 11, 1), date(2026, 11, 10), by=OPERATOR
    )
    sandbox.state.faults = Faults(always_fail="durianpay")
    with pytest.raises(ProviderUnavailable):  # a failed fetch covers nothing
        fetch_orders(
            store,
            {"durianpay": clients["durianpay"]},
            date(2026, 11, 1),
            date(2026, 11, 5),
            by=OPERATOR,
        )
    assert fetch_gaps(store, *OCTOBER) == []
    gaps = fetch_gaps(store, date(2026, 10, 20), date(2026, 11, 15))
    assert gaps == [
        FetchGap("durianpay", date(2026, 11, 1), date(2026, 11, 15), 15),
        FetchGap("xepeng", date(2026, 11, 11), date(2026, 11, 15), 5),
    ]
    assert (
        gaps[1]
        .describe()
        .startswith("Xepeng orders were not fetched for 5 days between 2026-11-11 and 2026-11-15")
    )
    # A provider that is expected but was never fetched misses the whole period.
    assert fetch_gaps(store, *OCTOBER, providers=("xepeng", "durianpay", "midtrans")) == [
        FetchGap("midtrans", *OCTOBER, 31)
    ]


def test_faults_are_survived_and_the_result_is_complete(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    sandbox.state.faults = Faults(
        rate_limit_every=5,
        retry_after=0.05,
        fail_once=["xepeng:page=2"],
        drop_once=["durianpay:skip=100"],
        latency_ms=2,
    )
    summary = fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    assert summary.total.new == sum(
        expected_count(sandbox, p, *OCTOBER) for p in ("xepeng", "durianpay")
    )


def test_unknown_raw_status_is_stored_as_unknown(
    store: Store, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    target = next(o for o in sandbox.state.durianpay if o.created_at > datetime(2026, 10, 3))
    sandbox.state.set_raw_status(target.order_id, "chargeback_pending")
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    status = store.query(
        "SELECT status, provider_status FROM orders WHERE order_id = ?", [target.order_id]
    ).row(0)
    assert status == ("unknown", "chargeback_pending")


def test_sequential_and_concurrent_fetches_store_the_same_rows(
    tmp_path: Path, settings: Settings, options: ClientOptions
) -> None:
    stores = []
    for concurrency in (1, 6):
        store = Store(tmp_path / f"c{concurrency}.duckdb")
        clients = make_clients(
            settings,
            "all",
            ClientOptions(retry=options.retry, concurrency=concurrency),
        )
        fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
        stores.append(store)
    assert snapshot(stores[0]) and snapshot(stores[0]) == snapshot(stores[1])


def test_migrations_are_recorded_and_reopening_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    Store(path).close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.scalar("SELECT count(*) FROM schema_version") == len(MIGRATIONS)


def test_changing_the_timezone_recomputes_business_dates(
    tmp_path: Path, clients: dict[str, OrderSource]
) -> None:
    path = tmp_path / "tz.duckdb"
    store = Store(path)
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    assert store.scalar("SELECT count(*) FROM orders WHERE business_date = '2026-09-30'") == 0
    store.close()
    utc = Store(path, timezone="UTC")
    # 1 Oct 00:00:05 in Jakarta is still 30 Sep in UTC.
    assert utc.scalar("SELECT count(*) FROM orders WHERE business_date = '2026-09-30'") >= 2


def test_a_fetch_pages_into_a_staging_file_of_its_own_and_leaves_the_store_budget_alone(
    file_store: Store, tmp_path: Path, clients: dict[str, OrderSource], sandbox: RunningSandbox
) -> None:
    store = file_store
    configured = store.scalar("SELECT current_setting('memory_limit')")
    seen: set[str] = set()
    staging: set[str] = set()

    def progress(*_: object) -> None:
        # Other readers of the store keep its whole budget while the providers page.
        seen.add(store.scalar("SELECT current_setting('memory_limit')"))
        staging.update(p.name for p in tmp_path.glob(".rekon.duckdb.fetch-*"))

    fetch_orders(store, clients, *OCTOBER, progress=progress, by=OPERATOR)
    assert seen == {configured}
    assert len(staging) == 1
    assert not list(tmp_path.glob(".rekon.duckdb.fetch-*"))
    sandbox.state.faults = Faults(always_fail="durianpay")
    with pytest.raises(ProviderUnavailable):
        fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    assert store.scalar("SELECT current_setting('memory_limit')") == configured
    assert not list(tmp_path.glob(".rekon.duckdb.fetch-*"))


def test_the_landing_budget_never_raises_a_smaller_configured_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "small.duckdb", memory_limit="128MB")
    with store.memory_budget(STAGING_MEMORY_LIMIT):
        assert store.scalar("SELECT current_setting('memory_limit')") == "122.0 MiB"  # 128MB
    roomy = Store(tmp_path / "roomy.duckdb", memory_limit="1GB")
    with roomy.memory_budget(STAGING_MEMORY_LIMIT):
        assert roomy.scalar("SELECT current_setting('memory_limit')") == "244.1 MiB"  # 256MB
    assert roomy.scalar("SELECT current_setting('memory_limit')") == "953.6 MiB"


def test_memory_sizes_read_as_duckdb_reads_them() -> None:
    assert size_in_bytes("256MB") == 256_000_000
    assert size_in_bytes("1.5 GiB") == 3 * 2**29
    assert size_in_bytes("1gb") == 10**9
    assert size_in_bytes("80%") == 0


def test_results_stored_before_the_compact_schema_keep_their_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rekon.store

    path = tmp_path / "v2.duckdb"
    monkeypatch.setattr(rekon.store, "MIGRATIONS", MIGRATIONS[:2])  # the file as v2 left it
    old = Store(path)
    assert old.schema_version == 2
    with old.write() as cur:
        cur.execute(
            """
            INSERT INTO recon_results VALUES
            (7, 'O:xepeng:xo_1', 'amount_mismatch', 'order_id', 'xepeng', 'xo_1', 1, 2,
             150000, 149000, -1000, '2026-10-05', '2026-10-06', '2026-10-05'),
            (7, 'D:1:3', 'duplicate_in_ledger', 'order_id', 'xepeng', 'xo_1', 1, 3,
             150000, 150000, 0, '2026-10-05', '2026-10-07', '2026-10-05'),
            (7, 'L:1:4', 'missing_in_provider', NULL, NULL, NULL, 1, 4,
             NULL, 5000, NULL, NULL, '2026-10-08', '2026-10-08')
            """
        )
    old.close()
    monkeypatch.undo()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    rows = store.query(
        "SELECT result_key, result::VARCHAR AS result, difference, anchor_date"
        " FROM recon_results ORDER BY result_key"
    ).rows()
    assert rows == [
        ("D:1:3", "duplicate_in_ledger", 0, date(2026, 10, 5)),
        ("L:1:4", "missing_in_provider", None, date(2026, 10, 8)),
        ("O:xepeng:xo_1", "amount_mismatch", -1000, date(2026, 10, 5)),
    ]


def test_a_database_that_cannot_be_opened_says_why(tmp_path: Path) -> None:
    (tmp_path / "notes.duckdb").write_text("not a database")
    with pytest.raises(StoreError, match="it is not a DuckDB database: point REKON_DB"):
        Store(tmp_path / "notes.duckdb")
    with pytest.raises(StoreError, match="that is a folder: give a file path"):
        Store(tmp_path)
    held = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(held)!r}); "
         "print('open', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(StoreError, match=rf"another program \(process {holder.pid}\) has"):
            Store(held)
    finally:
        holder.communicate("")
