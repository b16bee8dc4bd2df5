"""One PostgreSQL store for a team: the same schema as the file, processes that take turns by
PostgreSQL's locks, readers that never see half a write, a schedule elected in one process, a
fetch killed mid-way that leaves nothing, and a file moved into PostgreSQL with its counts."""

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

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from rekon import reviews
from rekon.access import operator
from rekon.audit import record_settings
from rekon.config import Settings, load_settings
from rekon.fetching import OrderSource, fetch_orders, make_clients
from rekon.ledger import import_ledger
from rekon.matching import ReconcileParams, reconcile
from rekon.migrations import MIGRATIONS
from rekon.migrations_pg import PG_MIGRATIONS
from rekon.sandbox.app import Faults
from rekon.sandbox.data import GOLDEN_MONTH, SAMPLE_LEDGER, sandbox_settings
from rekon.sandbox.server import RunningSandbox, wait_for_http
from rekon.schedule import Runner, set_schedule
from rekon.store import Store, StoreError
from tests.conftest import OCTOBER
from tests.factories import OPERATOR, REVIEWER, add_ledger, add_orders, fingerprint, order
from tests.postgres import Databases
from tests.test_e2e import CHROMIUM, free_port

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def url(postgres_databases: Databases) -> Iterator[str]:
    made = postgres_databases.new()
    yield made
    postgres_databases.drop(made)


@pytest.fixture
def two(url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database: two processes, as far as PostgreSQL can tell."""
    first, second = Store(url), Store(url)
    yield first, second
    first.close()
    second.close()


def test_both_backends_have_the_same_migrations_and_the_same_columns(
    url: str, tmp_path: Path
) -> None:
    assert [name for name, _ in PG_MIGRATIONS] == [name for name, _ in MIGRATIONS]
    shape = (
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = current_schema()"
        " ORDER BY table_name, column_name"
    )
    on_file, on_postgres = Store(tmp_path / "f.duckdb"), Store(url)
    assert on_file.query(shape).rows() == on_postgres.query(shape).rows()
    assert on_file.schema_version == on_postgres.schema_version == len(MIGRATIONS)
    on_file.close()
    on_postgres.close()


def test_processes_starting_together_on_an_empty_database_migrate_it_once(
    postgres_databases: Databases,
) -> None:
    empty = postgres_databases.new(migrated=False)
    stores: list[Store] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(Store(empty))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(stores) == 3
    assert stores[0].scalar("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
    for s in stores:
        s.close()
    postgres_databases.drop(empty)


def test_a_reader_never_sees_half_a_write(two: tuple[Store, Store]) -> None:
    writer, reader = two
    with writer.write() as cur:
        cur.execute("INSERT INTO meta VALUES ('half', 'written')")
        assert reader.scalar("SELECT count(*) FROM meta WHERE key = 'half'") == 0
    assert reader.scalar("SELECT count(*) FROM meta WHERE key = 'half'") == 1


def test_writers_in_two_processes_take_turns_by_a_postgresql_lock(
    two: tuple[Store, Store],
) -> None:
    first, second = two
    landed = threading.Event()

    def write() -> None:
        with second.write() as cur:
            cur.execute("INSERT INTO meta VALUES ('second', 'x')")
        landed.set()

    with first.write() as cur:
        cur.execute("INSERT INTO meta VALUES ('first', 'x')")
        other = threading.Thread(target=write)
        other.start()
        assert not landed.wait(1.0)  # waits on PostgreSQL, not on a lock of this process
    assert landed.wait(10)
    other.join()


def test_a_second_fetch_of_a_provider_waits_for_the_first(
    two: tuple[Store, Store], clients: dict[str, OrderSource]
) -> None:
    first, second = two
    done = threading.Event()

    def fetch() -> None:
        fetch_orders(second, {"xepeng": clients["xepeng"]}, *OCTOBER, by=OPERATOR)
        done.set()

    with first.hold("fetch:xepeng"):  # a fetch of Xepeng under way in another process
        other = threading.Thread(target=fetch)
        other.start()
        assert not done.wait(1.5)
        assert second.scalar("SELECT count(*) FROM fetch_runs") == 0
    assert done.wait(30)
    other.join()
    assert second.scalar("SELECT count(*) FROM orders") > 0


def test_a_running_fetch_of_another_process_is_left_running_and_a_dead_one_is_ended(
    url: str,
) -> None:
    alive = Store(url)
    with alive.hold("fetch:xepeng") as held, alive.write() as cur:
        assert held is not None
        cur.execute(
            "INSERT INTO fetch_runs (id, providers, range_from, range_to, started_at, status)"
            " VALUES (1, 'xepeng', '2026-10-01', '2026-10-31', now()::TIMESTAMP, 'running'),"
            " (2, 'durianpay', '2026-10-01', '2026-10-31', now()::TIMESTAMP, 'running')"
        )
        held.take("fetch-run:1")  # run 1's process is alive; run 2's is gone
    with alive.hold("fetch-run:1"):
        Store(url).close()  # another process opens the store meanwhile
        assert alive.query("SELECT id, status FROM fetch_runs ORDER BY id").rows() == [
            (1, "running"),
            (2, "interrupted"),
        ]
    alive.close()


def test_two_reviewers_deciding_one_item_at_once_both_land(
    two: tuple[Store, Store],
) -> None:
    first, second = two
    add_orders(first, order("xo_1", 100_000, date(2026, 10, 5)))
    add_ledger(first, (date(2026, 10, 5), "nothing", 5_000))
    run = reconcile(first, ReconcileParams(*OCTOBER), OPERATOR)
    key = "O:xepeng:xo_1"
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def decide(store: Store, decision: str, who: str) -> None:
        start.wait()
        try:
            # As a decision over another's is recorded: on purpose (a stale page is refused).
            reviews.record(store, [key], decision, operator(who), "checked", run.run_id,
                           include_decided=True)  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=decide, args=(first, "accepted", "ana")),
        threading.Thread(target=decide, args=(second, "resolved", "budi")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    history = reviews.history(first, key)
    assert sorted(history["reviewer"].to_list()) == ["ana", "budi"]
    assert sorted(history["seq"].to_list()) == [1, 2]
    latest = history.sort("seq")["decision"].to_list()[-1]
    assert reviews.status(second, key) == latest


def test_the_schedule_runs_in_exactly_one_process_and_another_takes_over(
    two: tuple[Store, Store], clients: dict[str, OrderSource]
) -> None:
    first = two[0]
    set_schedule(first, "xepeng", every_hours=1, daily_at=None, window_days=1, by=REVIEWER)
    runners = [Runner(s, lambda _p: {"xepeng": clients["xepeng"]}) for s in two]
    try:
        assert runners[0].elected() and not runners[1].elected()
        assert runners[1].run_due() == []  # not elected: runs nothing
        runners[0].stop()  # its process ends: the lease goes with it
        assert runners[1].elected()
    finally:
        for r in runners:
            r.stop()


def test_a_fetch_killed_mid_way_leaves_the_store_as_it_was(
    url: str, sandbox: RunningSandbox
) -> None:
    store = Store(url)
    add_orders(store, order("xo_1", 100_000, date(2026, 10, 5)))
    before = fingerprint(store)
    sandbox.state.faults = Faults(latency_ms=150)
    proc = subprocess.Popen(
        [BIN / "rekon", "fetch", "--from", "2026-09-01", "--to", "2026-10-31",
         "--concurrency", "1", "--sandbox-url", sandbox.url, "--db", url],
        env=_clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not store.scalar(
        "SELECT count(*) FROM fetch_runs WHERE status = 'running'"
    ):
        time.sleep(0.1)
    time.sleep(1.0)  # some pages in
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert fingerprint(store) == before
    store.close()
    reopened = Store(url)
    assert reopened.query("SELECT status FROM fetch_runs").rows() == [("interrupted",)]
    reopened.close()


def test_a_file_moves_into_postgresql_with_every_row(
    postgres_databases: Databases, tmp_path: Path
) -> None:
    source = tmp_path / "laptop.duckdb"
    laptop = Store(source)
    add_orders(laptop, order("xo_1", 100_000, date(2026, 10, 5)),
               order("xo_2", 50_000, date(2026, 10, 6)))  # fmt: skip
    add_ledger(laptop, (date(2026, 10, 5), "xo_1", 100_000))
    run = reconcile(laptop, ReconcileParams(*OCTOBER), OPERATOR)
    expected = {t: laptop.scalar(f"SELECT count(*) FROM {t}") for t in ("orders", "recon_results")}
    laptop.close()
    target = postgres_databases.new(migrated=False)
    copied = subprocess.run(
        [BIN / "rekon", "db", "copy", "--db", str(source), "--to", target],
        capture_output=True, text=True, timeout=120, env=_clean_env(), cwd=ROOT,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert "each table's count checked" in copied.stdout
    password = target.split(":")[2].split("@")[0]
    assert password not in copied.stdout + copied.stderr
    team = Store(target)
    for table, n in expected.items():
        assert team.scalar(f"SELECT count(*) FROM {table}") == n
    # The sequences carry on: the next run is numbered after the copied one.
    again = reconcile(team, ReconcileParams(*OCTOBER), OPERATOR)
    assert again.run_id == run.run_id + 1 and again.counts == run.counts
    team.close()
    twice = subprocess.run(
        [BIN / "rekon", "db", "copy", "--db", str(source), "--to", target],
        capture_output=True, text=True, timeout=120, env=_clean_env(), cwd=ROOT,
    )  # fmt: skip
    assert twice.returncode == 1 and "is not empty" in twice.stderr
    postgres_databases.drop(target)


def _clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("XEPENG_", "DURIANPAY_", "REKON_"))
    } | {"REKON_REVIEWER": "ops@example.co.id"}


@pytest.mark.browser
def test_a_dashboard_and_the_commands_share_one_store_at_once(
    postgres_databases: Databases, golden_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """`streamlit run` seeding its sample month while `rekon fetch` and `rekon reconcile` run
    on the same new database: all finish, nothing is lost, and the counts are a sequential
    run's."""

    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium: `apt-get install chromium` to run the browser test")
    start, end = (date(2026, 10, 1), date(2026, 10, 31))
    assert GOLDEN_MONTH == "2026-10"
    # The sequential answer, on a file.
    alone = Store(tmp_path / "alone.duckdb")

    made = make_clients(sandbox_settings(Settings(), golden_sandbox.url))
    fetch_orders(alone, made, start, end, by=OPERATOR)
    import_ledger(alone, ROOT / SAMPLE_LEDGER, by=OPERATOR)
    expected = reconcile(alone, ReconcileParams(start, end), OPERATOR).counts
    n_orders = alone.scalar("SELECT count(*) FROM orders")
    alone.close()

    shared = postgres_databases.new(migrated=False)
    port = free_port()
    log = (tmp_path / "streamlit.log").open("wb")
    dashboard = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=_clean_env() | {"REKON_DB": shared}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    commands: list[subprocess.CompletedProcess[str]] = []

    def month_end() -> None:
        on = ("--db", shared)
        period = ("--from", start.isoformat(), "--to", end.isoformat())
        commands.append(_rekon("fetch", *period, "--sandbox-url", golden_sandbox.url, *on))
        commands.append(_rekon("ledger", "import", str(ROOT / SAMPLE_LEDGER), *on))
        commands.append(_rekon("reconcile", *period, *on))

    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=60)
        cli = threading.Thread(target=month_end)
        cli.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            # The dashboard's first session opens the store and seeds the sample month.
            page.get_by_text("October 2026").first.wait_for(timeout=120_000)
            cli.join(timeout=240)
            page.reload()
            page.get_by_text("October 2026").first.wait_for(timeout=60_000)
            assert page.get_by_text("Rekon cannot start").count() == 0
            browser.close()
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)
        log.close()
    fetched, imported, reconciled = commands
    assert fetched.returncode == 0, fetched.stderr
    # The dashboard or the command imported the ledger first; the other is told it is there.
    assert imported.returncode == 0 or "already imported" in imported.stderr, imported.stderr
    assert reconciled.returncode == 0, reconciled.stderr
    store = Store(shared)
    assert store.scalar("SELECT count(*) FROM orders") == n_orders
    assert store.scalar("SELECT count(*) FROM ledgers") == 1
    # The dashboard fetches the sample month unless the command's fetch landed first.
    assert {s for (s,) in store.query("SELECT status FROM fetch_runs").rows()} == {"succeeded"}
    runs = store.query("SELECT run_by, counts FROM recon_runs ORDER BY id").rows()
    assert sorted(by for by, _ in runs) == ["ops@example.co.id", "sandbox start"]
    assert [json.loads(counts) for _, counts in runs] == [expected, expected]
    store.close()
    postgres_databases.drop(shared)


def _rekon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "rekon"), *args], capture_output=True, text=True, timeout=240,
        env=_clean_env(), cwd=ROOT,
    )  # fmt: skip


def test_the_address_and_its_password_are_never_shown(url: str) -> None:
    password = url.split(":")[2].split("@")[0]
    store = Store(url)
    assert password not in store.where and store.where.startswith("postgresql://")
    record_settings(store, load_settings(db_path=url), "start")
    assert password not in str(store.query("SELECT * FROM audit_log").rows())
    # A connection DuckDB makes again and cannot: its error quotes the address.
    with (
        pytest.raises(StoreError, match="the PostgreSQL database failed") as failed,
        store.read(),
    ):
        raise duckdb.IOException(f'Unable to connect to Postgres at "{url}": refused')
    assert password not in str(failed.value)
    with pytest.raises(StoreError) as failed, store.write():
        raise duckdb.IOException(f"lost {url}")
    assert password not in str(failed.value)
    assert repr(load_settings(db_path=url)).count(password) == 0
    store.close()
