"""The `rekon` command as a scheduler would run it: exit codes, one-line errors, summaries."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rekon.sandbox.server import RunningSandbox, wait_for_http
from rekon.store import Store
from tests.factories import add_ledger, add_orders, order
from tests.postgres import Databases

ROOT = Path(__file__).resolve().parent.parent
REKON = Path(sys.executable).parent / "rekon"


def rekon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("XEPENG_", "DURIANPAY_", "REKON_"))
    }
    return subprocess.run(
        [str(REKON), *args],
        capture_output=True,
        text=True,
        timeout=120,
        # The command line acts as REKON_REVIEWER, recorded as such.
        env=clean | {"REKON_REVIEWER": "ops@example.co.id"} | (env or {}),
        cwd=ROOT,
    )


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the commands keep the store: a DuckDB file, or a PostgreSQL database of the
    test's own, as `--db` takes them."""
    if request.param == "duckdb":
        yield str(tmp_path / "cli.duckdb")
        return
    databases: Databases = request.getfixturevalue("postgres_databases")
    url = databases.new(migrated=False)  # the first command migrates it
    yield url
    databases.drop(url)


def test_a_setting_rekon_cannot_use_is_one_line_on_stderr(tmp_path: Path) -> None:
    run = rekon("runs", "--db", str(tmp_path / "x.duckdb"), env={"REKON_TIMEZONE": "Asia/Jakrta"})
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("rekon: REKON_TIMEZONE is 'Asia/Jakrta', which is not a time")
    assert len(run.stderr.splitlines()) == 1  # a reason, not a traceback


def test_a_sandbox_on_a_port_in_use_says_so_instead_of_announcing_itself() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = rekon("sandbox", "--port", port)
    assert run.returncode == 1 and "Point Rekon at it" not in run.stdout
    assert (
        run.stderr == f"rekon: 127.0.0.1:{port} is already in use (a sandbox running already?):"
        " choose another port with --port\n"
    )


def test_month_end_from_the_command_line(sandbox: RunningSandbox, tmp_path: Path, db: str) -> None:
    fetched = rekon(
        "fetch",
        "--provider",
        "all",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--db",
        db,
        "--sandbox-url",
        sandbox.url,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "Xepeng: 253 orders (253 new" in fetched.stdout

    sample = tmp_path / "ledger.csv"
    sample.write_text("Tanggal;Referensi;Jumlah\n25/10/2026;NOPE-1;12.500\n")
    imported = rekon("ledger", "import", str(sample), "--db", db, "--name", "oct")
    assert imported.returncode == 0 and "1 lines" in imported.stdout
    again = rekon("ledger", "import", str(sample), "--db", db)
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "--replace" in again.stderr

    run = rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    assert run.returncode == 0 and re.search(r"missing_in_provider\s+1\n", run.stdout)
    assert "warning" not in run.stderr

    runs = rekon("runs", "--db", db)
    assert runs.returncode == 0
    assert re.fullmatch(
        r"\s+1  2026-10-01\.\.2026-10-31  \d{4}-\d\d-\d\dT\d\d:\d\dZ  ops@example\.co\.id  "
        r"ledgers all  tolerance 0\.00  window 3  \d+ exceptions of \d+\n",
        runs.stdout,
    ), runs.stdout

    listed = rekon("review", "list", "--db", db, "--limit", "1000")
    key = next(line.split()[0] for line in listed.stdout.splitlines() if "L:" in line)
    resolved = rekon(
        "review", "resolve", key, "--note", "cash sale", "--reviewer", "ana", "--db", db
    )
    assert resolved.returncode == 0, resolved.stderr

    out = tmp_path / "exc.csv"
    exported = rekon(
        "export", "--run", "latest", "--kind", "exceptions", "--out", str(out), "--db", db
    )
    assert exported.returncode == 0
    assert "cash sale" in out.read_text() and "resolved" in out.read_text()
    trail = tmp_path / "reviews.csv"
    audited = rekon("export", "--kind", "reviews", "--out", str(trail), "--db", db)
    assert audited.returncode == 0 and "Wrote 1 rows (reviews" in audited.stdout
    assert (
        f"{key},missing_in_provider," in trail.read_text()
        and ",cash sale,ana," in trail.read_text()
    )

    # A period reaching past what was fetched still runs, and says what it could not see.
    wider = rekon("reconcile", "--from", "2026-10-15", "--to", "2026-11-14", "--db", db)
    assert wider.returncode == 0  # still runs, and says what it could not see
    assert wider.stderr.count("warning: ") == 2
    assert "Xepeng orders were not fetched for 14 days between 2026-11-01" in wider.stderr


def test_failures_are_one_line_with_a_non_zero_status(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    db = str(tmp_path / "x.duckdb")
    no_keys = rekon("fetch", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    assert no_keys.returncode == 1 and "no provider is configured" in no_keys.stderr
    bad_key = rekon(
        "fetch",
        "--provider",
        "durianpay",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--db",
        db,
        env={"DURIANPAY_SERVER_KEY": "dp_live_LEAKME", "DURIANPAY_BASE_URL": sandbox.url},
    )
    assert bad_key.returncode == 1
    assert "Durianpay" in bad_key.stderr and "LEAKME" not in bad_key.stderr + bad_key.stdout
    assert len(bad_key.stderr.strip().splitlines()) == 1
    no_ledger = rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    assert no_ledger.returncode == 1 and "no ledger has been imported yet" in no_ledger.stderr
    no_run = rekon("export", "--kind", "all", "--out", str(tmp_path / "a.csv"), "--db", db)
    assert no_run.returncode == 1 and "no reconciliation run" in no_run.stderr
    no_runs = rekon("runs", "--db", db)
    assert no_runs.returncode == 0 and no_runs.stdout.startswith("No reconciliation runs yet")
    missing = rekon("ledger", "import", str(tmp_path / "nope.csv"), "--db", db)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    # A refused import: the report of its lines on stdout, the reason alone on stderr.
    bad = tmp_path / "bad.csv"
    bad.write_text("Tanggal;Jumlah\n24/10/2026;abc\n25/10/2026;1.000\n")
    refused = rekon("ledger", "import", str(bad), "--db", db)
    assert refused.returncode == 1
    assert refused.stdout == "  rejected line 2: Jumlah: not an amount like 1.500.000,00 ('abc')\n"
    assert refused.stderr.startswith("rekon: 1 of 2 lines in bad.csv cannot be imported")
    assert len(refused.stderr.splitlines()) == 1


def test_a_saved_mapping_imports_what_detection_alone_refuses(tmp_path: Path) -> None:
    db = str(tmp_path / "m.duckdb")
    november, december = tmp_path / "nov.csv", tmp_path / "dec.csv"
    november.write_text("Tgl Bayar|Kode|Nilai\n13/11/2026|A-1|1,500.00\n")
    december.write_text("Tgl Bayar|Kode|Nilai\n01/12/2026|A-2|2,500.00\n")
    first = rekon("ledger", "import", str(november), "--map", "date=Tgl Bayar",
                  "--map", "amount=Nilai", "--save-mapping", "toko", "--db", db)  # fmt: skip
    assert first.returncode == 0, first.stderr
    refused = rekon("ledger", "import", str(december), "--map", "date=Tgl Bayar",
                    "--map", "amount=Nilai", "--db", db)  # fmt: skip
    assert refused.returncode == 1 and "--date-format" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    second = rekon("ledger", "import", str(december), "--mapping", "toko", "--db", db)
    assert second.returncode == 0, second.stderr
    assert "1 Dec 2026;" in second.stdout and "total 2500.00" in second.stdout


def test_a_re_export_imports_with_a_warning_naming_the_earlier_ledger(tmp_path: Path) -> None:
    db = str(tmp_path / "r.duckdb")
    first, fixed = tmp_path / "oct.csv", tmp_path / "oct-fixed.csv"
    first.write_text("Tanggal;Referensi;Jumlah\n21/10/2026;A-1;1.000\n22/10/2026;A-2;2.000\n")
    fixed.write_text("Tanggal;Referensi;Jumlah\n21/10/2026;A-1;1.000\n22/10/2026;A-2;2.500\n")
    assert rekon("ledger", "import", str(first), "--db", db).stderr == ""
    again = rekon("ledger", "import", str(fixed), "--db", db)
    assert again.returncode == 0 and "Imported ledger 2" in again.stdout
    assert again.stderr.startswith("warning: 1 of these lines are also in ledger 1 (oct.csv)")
    gone = rekon("ledger", "delete", "1", "--db", db)
    assert gone.returncode == 0 and gone.stdout.strip() == "Deleted ledger 1 and its 2 lines."
    again_gone = rekon("ledger", "delete", "1", "--db", db)
    assert again_gone.returncode == 1 and "there is no ledger 1" in again_gone.stderr


def test_rekon_sandbox_serves_both_apis_with_injected_faults(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(REKON),
            "sandbox",
            "--port",
            str(port),
            "--months",
            "2026-10",
            "--orders-per-month",
            "200",
            "--rate-limit-every",
            "3",
            "--retry-after",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for_http(f"{url}/_sandbox/health", timeout=30)
        fetched = rekon(
            "fetch",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
            "--db",
            str(tmp_path / "s.duckdb"),
            "--sandbox-url",
            url,
        )
        assert fetched.returncode == 0, fetched.stderr
        assert "Xepeng: 202 orders" in fetched.stdout and "Durianpay: 202 orders" in fetched.stdout
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert "XEPENG_API_KEY=" in out and "DURIANPAY_SERVER_KEY=" in out


def test_a_corrected_export_replaces_its_ledger_and_carries_the_decisions_over(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "c.duckdb")
    files = {}
    for name, second_amount in (("oct", "2.000"), ("fixed", "2.500"), ("final", "2.600")):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text(
            f"Tanggal;Referensi;Jumlah\n21/10/2026;A-1;1.000\n22/10/2026;A-2;{second_amount}\n"
        )
    assert rekon("ledger", "import", str(files["oct"]), "--db", db).returncode == 0
    fixed = rekon("ledger", "import", str(files["fixed"]), "--corrects", "1", "--db", db)
    assert fixed.returncode == 0 and fixed.stderr == ""  # nothing left to warn about
    assert fixed.stdout.splitlines()[0].endswith(
        ". Ledger 2 replaces ledger 1: 1 of its lines are unchanged and 1 changed or gone; "
        "0 decisions on unchanged lines carried over"
    )
    period = ("--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    assert rekon("reconcile", *period).returncode == 0
    resolved = rekon(
        "review", "resolve", "L:2:2", "--note", "cash", "--reviewer", "ana", "--db", db
    )
    assert resolved.returncode == 0, resolved.stderr
    assert rekon("ledger", "import", str(files["final"]), "--db", db).returncode == 0
    corrected = rekon("ledger", "correct", "2", "3", "--db", db, env={"REKON_REVIEWER": "budi"})
    assert corrected.returncode == 0, corrected.stderr
    assert "1 decisions on unchanged lines carried over" in corrected.stdout
    assert rekon("reconcile", *period).returncode == 0
    listed = rekon("review", "list", "--status", "resolved", "--db", db).stdout
    assert "L:3:2" in listed and "From ledger 2 line 2 (ana): cash" in listed
    gone = rekon("ledger", "import", str(files["oct"]), "--corrects", "1", "--db", db)
    assert gone.returncode == 1 and "there is no ledger 1" in gone.stderr
    assert [
        line.split()[0] for line in rekon("ledger", "list", "--db", db).stdout.splitlines()
    ] == ["3"]


def test_reconciling_orders_not_in_rupiah_warns_on_stderr(tmp_path: Path) -> None:
    db = str(tmp_path / "usd.duckdb")
    store = Store(db)
    add_orders(
        store,
        order("xo_1", 150_000, date(2026, 10, 5)),
        order("xo_usd", 12, date(2026, 10, 6), currency="USD"),
        order("xo_usd_nov", 15, date(2026, 11, 6), currency="USD"),  # another month
    )
    add_ledger(store, (date(2026, 10, 5), "xo_1", 150_000))
    store.close()
    run = rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    assert run.returncode == 0
    # Nothing was fetched (the orders were stored directly), so every day is unfetched.
    assert run.stderr == "".join(
        f"warning: {name} orders were not fetched for 31 days between 2026-10-01 and "
        f"2026-10-31: a reconciliation would report the sales booked then as missing at {name}\n"
        for name in ("Durianpay", "Xepeng")
    ) + (
        "warning: 1 Xepeng orders of this period are in USD, not rupiah: their amounts are "
        "compared with the ledger's rupiah as they stand, so check their results by hand\n"
    )


def test_the_amount_tolerance_is_read_as_rupiah_are_written(tmp_path: Path) -> None:
    db = str(tmp_path / "tol.duckdb")
    store = Store(db)
    add_orders(store, order("xo_1", 150_000, date(2026, 10, 5)))
    add_ledger(store, (date(2026, 10, 5), "xo_1", 147_500))  # a gateway fee of Rp 2.500
    store.close()
    period = ("--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    for written in ("2.500", "2500", "Rp 2.500", "2500.00"):
        run = rekon("reconcile", *period, "--amount-tolerance", written)
        assert run.returncode == 0, run.stderr
        assert re.search(r"^  matched +1$", run.stdout, re.M), (written, run.stdout)
    one_rupiah = rekon("reconcile", *period, "--amount-tolerance", "1.00")
    assert re.search(r"^  amount_mismatch +1$", one_rupiah.stdout, re.M), one_rupiah.stdout
    junk = rekon("reconcile", *period, "--amount-tolerance", "dua ribu")
    assert junk.returncode == 1
    assert junk.stderr == (
        "rekon: --amount-tolerance 'dua ribu' is not an amount of rupiah: "
        "write 2500 or 2.500 for Rp 2.500\n"
    )


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    db = str(tmp_path / "pipe.duckdb")
    store = Store(db)
    add_ledger(store, *((date(2026, 10, 5), f"MANUAL-{i}", 1_000 + i) for i in range(1_000)))
    store.close()
    assert (
        rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db).returncode == 0
    )
    # 1.000 lines overflow the pipe's buffer, so the listing is still writing when head exits.
    piped = subprocess.run(
        [
            "bash",
            "-c",
            f"set -o pipefail; '{REKON}' review list --limit 1000 --db '{db}' | head -1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.stdout == "1.000 open exceptions in run 1\n"
    assert piped.stderr == ""
    assert piped.returncode == 141


def test_manual_matches_from_the_command_line(tmp_path: Path, db: str) -> None:
    store = Store(db)
    add_orders(store, order("xo_1", 100_000, date(2026, 10, 5)),
               order("xo_2", 50_000, date(2026, 10, 5)))  # fmt: skip
    ledger = add_ledger(store, (date(2026, 10, 6), "SETOR", 149_000))
    store.close()
    args = ("--order", "O:xepeng:xo_1", "--order", "O:xepeng:xo_2", "--line", f"L:{ledger}:2")
    refused = rekon("match", "add", *args, "--db", str(db))
    assert refused.returncode == 1
    assert refused.stderr == (
        "rekon: the lines and orders differ by -1000.00: give a reason (fee, rounding, "
        "partial_payment, write_off, other)\n"
    )
    made = rekon("match", "add", *args, "--reason", "fee", "--db", str(db))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Matched by hand as 1: ")
    listed = rekon("match", "list", "--db", str(db))
    assert listed.stdout.startswith("    1  match  orders O:xepeng:xo_1, O:xepeng:xo_2  lines ")
    assert "difference -1000.00 fee" in listed.stdout
    run = rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", str(db))
    assert "amount_mismatch              3" in run.stdout  # two orders and the line, one group
    nm = rekon("match", "add", "--order", "O:xepeng:xo_1", "--order", "O:xepeng:xo_2",
               "--line", f"L:{ledger}:2", "--line", f"L:{ledger}:2", "--reason", "fee",
               "--db", str(db))  # fmt: skip
    assert nm.returncode == 1 and "already in manual match 1" in nm.stderr
    removed = rekon("match", "remove", "1", "--note", "wrong deposit", "--db", str(db))
    assert removed.stdout == "Removed manual match 1; its history stays.\n"
    assert "(removed)" in rekon("match", "list", "--db", str(db)).stdout
    stale = rekon("match", "list", "--stale", "--db", str(db))
    assert stale.stdout == "No stale manual matches.\n"


def test_suggestions_from_the_command_line(tmp_path: Path, db: str) -> None:
    store = Store(db)
    add_orders(store, order("xo_1", 100_000, date(2026, 10, 5), merchant_ref="INV-A1"),
               order("xo_2", 55_000, date(2026, 10, 5)))  # fmt: skip
    ledger = add_ledger(store, (date(2026, 10, 5), "INV A1", 100_000),
                        (date(2026, 10, 5), "", 54_800))  # fmt: skip
    store.close()
    assert (
        rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", str(db)).returncode
        == 0
    )
    listed = rekon("suggest", "--db", str(db))
    assert listed.stdout.splitlines() == [
        f" 85  O:xepeng:xo_1 ↔ L:{ledger}:2  amount equal · same day · reference 100 % alike",
        f" 35  O:xepeng:xo_2 ↔ L:{ledger}:3  amount within 1 % (-200.00) · same day · line has no "
        "reference",
    ]
    bulk = rekon("suggest", "--accept-at-or-above", "30", "--db", str(db))
    assert bulk.stdout.splitlines()[0] == (
        "Accepted 1 suggestion(s) as manual matches; 1 at that score wait for a person "
        "(not every field agrees)."
    )
    assert "O:xepeng:xo_1" in rekon("match", "list", "--db", str(db)).stdout


def test_saved_rules_and_the_adjustments_export_from_the_command_line(
    tmp_path: Path, db: str
) -> None:
    store = Store(db)
    add_orders(store, order("xo_1", 100_000, date(2026, 10, 5)))
    add_ledger(store, (date(2026, 10, 5), "xo_1", 97_500),
               (date(2026, 10, 5), "SETOR TUNAI", 350_000))  # fmt: skip
    store.close()
    period = ("--from", "2026-10-01", "--to", "2026-10-31", "--db", str(db))
    assert rekon("reconcile", *period).returncode == 0
    tried = rekon("rule", "add", "cash", "--when-reference", "tunai", "--then", "excluded",
                  "--dry-run", "--db", str(db))  # fmt: skip
    assert tried.stdout.splitlines()[0].endswith("1 result(s) would change; nothing saved.")
    assert rekon("rule", "list", "--db", str(db)).stdout == "No saved rules.\n"
    for args in (
        ("cash", "--when-reference", "tunai", "--then", "excluded"),
        ("mdr", "--when-reference", "xo_", "--then", "fee", "--max-amount", "5.000"),
    ):
        assert rekon("rule", "add", *args, "--db", str(db)).returncode == 0  # fmt: skip
    run = rekon("reconcile", *period)
    assert "excluded                     1" in run.stdout
    listed = rekon("rule", "list", "--db", str(db)).stdout.splitlines()
    assert listed[0].startswith("  1  cash: when the line's reference contains 'tunai'")
    assert listed[0].endswith("(1 in the last run)") and listed[1].endswith("(1 in the last run)")
    out = tmp_path / "journal.csv"
    assert (
        rekon("export", "--kind", "adjustments", "--out", str(out), "--db", str(db)).returncode == 0
    )
    assert out.read_text().splitlines() == [
        "date,account,amount,reason,memo,group_id,rule",
        "2026-10-05,Bank and gateway fees,2500.00,fee,fee: O:xepeng:xo_1,,mdr",
    ]
    assert rekon("rule", "remove", "cash", "--db", str(db)).stdout.startswith("Removed rule cash")


def test_closing_a_month_from_the_command_line(tmp_path: Path, db: str) -> None:
    store = Store(db)
    add_orders(store, order("xo_1", 100_000, date(2026, 10, 5)),
               order("xo_2", 50_000, date(2026, 10, 5)))  # fmt: skip
    add_ledger(store, (date(2026, 10, 6), "xo_1", 100_000))
    store.close()
    on = ("--db", str(db))
    assert rekon("period", "status", "--month", "2026-10", *on).stdout == (
        "October 2026: open (not signed off)\n"
    )
    no_run = rekon("period", "signoff", "--month", "2026-10", *on)
    assert no_run.returncode == 1 and "has no reconciliation run: run it first" in no_run.stderr
    rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", *on)
    opened = rekon("period", "signoff", "--month", "2026-10", *on)
    assert opened.returncode == 1 and "1 exception(s) of run 1 are still open" in opened.stderr
    done = rekon("period", "signoff", "--month", "2026-10", "--confirm-open",
                 "--note", "xo_2 paid in November", *on)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"October 2026 signed off by ops@example\.co\.id at \S+ \S+ UTC on run 1 \(version 1\), "
        r"with 1 exception\(s\) still open; locked\.\n",
        done.stdout,
    )
    status = rekon("period", "status", "--month", "2026-10", *on)
    assert "signed off by ops@example.co.id" in status.stdout and "locked." in status.stdout
    # Every write touching October is refused in one line naming the period and who signed.
    locked = rekon("reconcile", "--from", "2026-10-15", "--to", "2026-11-15", *on)
    assert locked.returncode == 1
    assert locked.stderr.startswith("rekon: October 2026 is signed off (by ops@example.co.id at ")
    assert locked.stderr.count("\n") == 1
    decide = rekon("review", "accept", "O:xepeng:xo_2", *on)
    assert decide.returncode == 1 and "recording decisions there is refused" in decide.stderr
    # The export of a signed-off run carries its sign-off beside it.
    out = tmp_path / "october.csv"
    assert rekon("export", "--kind", "all", "--out", str(out), *on).returncode == 0
    sidecar = json.loads((tmp_path / "october-signoff.json").read_text())
    assert (sidecar["signed_by"], sidecar["version"], sidecar["open_exceptions"]) == (
        "ops@example.co.id", 1, 1,
    )  # fmt: skip
    again = rekon("export", "--kind", "all", "--out", str(out), *on)
    assert again.returncode == 1 and "--force" in again.stderr
    no_reason = rekon("period", "reopen", "--month", "2026-10", "--reason", " ", *on)
    assert no_reason.returncode == 1 and "needs a reason" in no_reason.stderr
    reopened = rekon("period", "reopen", "--month", "2026-10", "--reason", "late refund", *on)
    assert reopened.stdout == "October 2026 reopened: its dates are unlocked.\n"
    status = rekon("period", "status", "--month", "2026-10", *on)
    assert status.stdout.startswith("October 2026: reopened by ops@example.co.id at ")
    assert status.stdout.endswith(": late refund\n")
    # Four eyes: the operator who decides cannot also sign off, unless the team is one person.
    assert rekon("review", "accept", "O:xepeng:xo_2", *on).returncode == 0
    rerun = rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", *on)
    assert rerun.returncode == 0
    four = rekon("period", "signoff", "--month", "2026-10", *on)
    assert four.returncode == 1 and "four eyes: ops@example.co.id made decisions" in four.stderr
    alone = rekon("period", "signoff", "--month", "2026-10", *on, env={"REKON_FOUR_EYES": "0"})
    assert alone.returncode == 0 and "(version 2)" in alone.stdout

    trail = tmp_path / "audit.csv"
    wrote = rekon("audit", "--from", "2026-01-01", "--actor", "ops@example.co.id",
                  "--out", str(trail), *on)  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr
    with trail.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    actions = [r["action"] for r in rows]
    for expected in ("run", "period.signoff", "export", "period.reopen", "decision"):
        assert expected in actions
    assert {r["actor"] for r in rows} == {"ops@example.co.id"}
    assert rekon("audit", "--out", str(trail), *on).returncode == 1  # exists: needs --force


def test_a_store_the_dashboard_holds_is_named_with_the_way_out(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from rekon.store import Store; s = Store(sys.argv[1]);"
         " print('open', flush=True); time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        refused = rekon("ledger", "list", "--db", str(db))
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert f"(process {holder.pid}) has it open, a Rekon dashboard most likely" in refused.stderr
    assert "let the dashboard fetch by itself (Fetch page, Schedule)" in refused.stderr
    assert "keep the store in PostgreSQL so every program can share it" in refused.stderr


def test_a_postgresql_store_out_of_reach_is_named_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://finance:s3cret-pw@127.0.0.1:{port}/rekon"
    for how in (("--db", url), ()):
        refused = subprocess.run(
            [str(REKON), "ledger", "list", *how],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("REKON_")}
            | {"REKON_DB": url},
        )  # fmt: skip
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1
        assert refused.stderr.startswith("rekon: cannot use the PostgreSQL database: ")
        assert "s3cret" not in refused.stderr + refused.stdout
    assert list(tmp_path.iterdir()) == []  # no file or folder named after the address


def test_listing_runs_and_ledgers_starts_without_the_heavy_libraries(tmp_path: Path) -> None:
    """`rekon --help`, `rekon runs` and `rekon ledger list` load no polars, pyarrow, httpx or
    pandas: a command that lists a few rows starts in a fraction of a second."""
    db = str(tmp_path / "quick.duckdb")
    assert rekon("runs", "--db", db).returncode == 0  # the store exists, migrated
    probe = (
        "import atexit, sys; atexit.register(lambda: print(sorted(m for m in"
        " ('polars', 'pyarrow', 'httpx', 'pandas') if m in sys.modules), file=sys.stderr));"
        " from rekon.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    for args in (["--help"], ["runs", "--db", db], ["ledger", "list", "--db", db]):
        ran = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60,
            cwd=ROOT, env={k: v for k, v in os.environ.items() if not k.startswith("REKON_")},
        )  # fmt: skip
        assert ran.stderr.strip().splitlines()[-1] == "[]", (args, ran.stderr)
