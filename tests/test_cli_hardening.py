"""The command line against what a careless or hostile argument could do to the store: an
export over the database, a database that is not one, a damaged file, a sandbox on the
network, and outside text that would garble a terminal."""

from __future__ import annotations

import sqlite3
import time
from datetime import date
from pathlib import Path

import pytest

from rekon.access import operator
from rekon.matching import ReconcileParams, reconcile
from rekon.store import Store, StoreError
from tests.factories import add_ledger, add_orders, order
from tests.test_cli import rekon

OCT5 = date(2026, 10, 5)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with one reconciled October: a match, an odd order id and a missing order."""
    path = tmp_path / "self.duckdb"
    store = Store(path)
    odd = "xo_'; DROP TABLE orders; --\n\u202eevil"
    add_orders(store, order("xo_1", 150_000, OCT5), order(odd, 75_000, OCT5))
    add_ledger(store, (OCT5, "xo_1", 150_000), (OCT5, "INV-UNKNOWN", 20_000))
    reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 31)), by=operator("test"))
    store.close()
    return path


def test_an_export_never_writes_over_the_database_or_its_log(db: Path) -> None:
    before = db.read_bytes()
    for target in (db, db.with_name(db.name + ".wal"), db.parent / "." / db.name):
        run = rekon("export", "--kind", "all", "--out", str(target), "--db", str(db), "--force")
        assert run.returncode == 1, run.stdout
        assert "is Rekon's own database" in run.stderr and len(run.stderr.splitlines()) == 1
    assert db.read_bytes() == before
    assert not db.with_name(db.name + ".wal").exists()


def test_an_export_writes_over_an_existing_file_only_with_force(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "month.csv"
    out.write_text("the accountant's own notes\n")
    refused = rekon("export", "--kind", "all", "--out", str(out), "--db", str(db))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"rekon: {out} already exists: choose another name, or add --force to write over it\n"
    )
    assert out.read_text() == "the accountant's own notes\n"
    forced = rekon("export", "--kind", "all", "--out", str(out), "--db", str(db), "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_text().startswith("result,rule,provider")


@pytest.mark.parametrize("name", ["x.csv", "x.xlsx", "summary.csv"])
def test_an_export_to_a_place_it_cannot_write_is_one_line(
    db: Path, tmp_path: Path, name: str
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    kind = "summary" if name.startswith("summary") else "all"
    run = rekon("export", "--kind", kind, "--out", str(blocker / name), "--db", str(db))
    assert run.returncode == 1
    assert run.stderr.startswith(f"rekon: cannot write {blocker / name}: ")
    assert run.stderr.rstrip().endswith("Choose a folder you can write to (--out)")
    assert len(run.stderr.splitlines()) == 1


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_a_data_file_given_as_the_database_is_refused_and_left_alone(
    tmp_path: Path, suffix: str
) -> None:
    victim = tmp_path / f"victim{suffix}"
    victim.write_text("a,b\n1,2\n" if suffix == ".csv" else '{"a": 1}\n')
    before = victim.read_bytes()
    ledger = tmp_path / "l.csv"
    ledger.write_text("Tanggal;Jumlah\n24/10/2026;1.000\n")
    for args in (("ledger", "import", str(ledger)), ("runs",), ("ledger", "list")):
        run = rekon(*args, "--db", str(victim))
        assert run.returncode == 1, run.stdout
        assert "DuckDB reads that file as data, not as a database" in run.stderr
        assert len(run.stderr.splitlines()) == 1
    assert victim.read_bytes() == before


def test_a_sqlite_file_is_refused_without_fetching_an_extension(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (a)")
    started = time.monotonic()
    run = rekon("runs", "--db", str(other))
    assert run.returncode == 1
    assert "it is not a DuckDB database" in run.stderr
    assert "http" not in run.stderr and len(run.stderr.splitlines()) == 1
    assert time.monotonic() - started < 20


def test_every_connection_refuses_to_install_or_load_extensions(tmp_path: Path) -> None:
    store = Store(tmp_path / "safe.duckdb")
    settings = store.query(
        "SELECT name, value FROM duckdb_settings()"
        " WHERE name IN ('autoinstall_known_extensions', 'autoload_known_extensions')"
    ).rows()
    assert sorted(settings) == [
        ("autoinstall_known_extensions", "false"),
        ("autoload_known_extensions", "false"),
    ]


def grown_and_cut(db: Path, keep: float) -> Path:
    """The store grown past a few row groups (a table of its own at the end), then cut short
    as a copy that did not finish would leave it."""
    store = Store(db)
    with store.write() as cur:
        cur.execute("CREATE TABLE ballast AS SELECT range AS i, md5(range::VARCHAR) AS m"
                    " FROM range(300000)")  # fmt: skip
    store.close()
    data = db.read_bytes()
    cut = db.with_name("cut.duckdb")
    cut.write_bytes(data[: int(keep * len(data)) if keep < 1 else int(keep)])
    return cut


def test_a_store_cut_short_says_so_when_a_read_reaches_the_missing_part(db: Path) -> None:
    damaged = r"the file is damaged or cut short .* from a backup"
    with pytest.raises(StoreError, match=damaged):
        # Whether DuckDB notices on opening (1.5) or only when a read reaches the missing part
        # (2.0), the reviewer reads the same sentence.
        store = Store(grown_and_cut(db, 0.6))
        store.query("SELECT count(*), max(m) FROM ballast")


@pytest.mark.parametrize("keep", [4096, 300_000])
def test_a_damaged_database_is_one_line_saying_what_to_do(
    db: Path, tmp_path: Path, keep: float
) -> None:
    cut = grown_and_cut(db, keep)
    for args in (
        ("runs",),
        ("review", "list"),
        ("export", "--kind", "all", "--out", str(tmp_path / "o.csv")),
    ):
        run = rekon(*args, "--db", str(cut))
        assert run.returncode == 1, run.stdout
        assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1
        assert "damaged or cut short" in run.stderr and "restore it from a backup" in run.stderr


def test_the_sandbox_refuses_a_network_address_unless_told(tmp_path: Path) -> None:
    run = rekon("sandbox", "--host", "0.0.0.0", "--port", "0")
    assert run.returncode == 1 and run.stdout == ""
    assert "unauthenticated /_sandbox controls" in run.stderr and "--allow-remote" in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_outside_text_is_printed_as_typed_on_one_line(db: Path) -> None:
    run = rekon("review", "list", "--db", str(db))
    assert run.returncode == 0, run.stderr
    rows = [r for r in run.stdout.splitlines() if r.startswith("  ")]
    assert len(rows) == 2  # the odd order's row did not split
    odd = next(r for r in rows if "DROP" in r)
    assert "O:xepeng:xo_'; DROP TABLE orders; --\\n\\u202eevil" in odd
    assert "\u202e" not in run.stdout
