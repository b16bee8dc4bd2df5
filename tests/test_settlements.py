"""Settlements and fees: Durianpay's payout API against the sandbox over HTTP, the fetch that
stores them, the rate card, and the reconciliation of deposits, fees and late payouts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import polars as pl
import pytest

from rekon import fee_rates
from rekon import settlements as payouts
from rekon.access import AccessDenied
from rekon.classes import RESULTS
from rekon.config import Settings
from rekon.fetching import WHAT, OrderSource, fetch_orders, make_clients, parse_what
from rekon.ledger import import_ledger
from rekon.matching import ReconcileParams, reconcile
from rekon.providers.base import ProviderUnavailable
from rekon.providers.durianpay import DurianpayClient
from rekon.providers.durianpay_settlements import (
    Settlement,
    SettlementPayment,
    SettlementReader,
)
from rekon.reports import EXPORT_COLUMNS, SETTLEMENT_COLUMNS, csv_rows, export_bytes
from rekon.sandbox.app import Faults
from rekon.sandbox.data import (
    DEPOSITS_EXPECTED,
    DEPOSITS_LEDGER,
    DURIANPAY_TEST_KEY,
    XEPENG_REPORT,
    sandbox_settings,
)
from rekon.sandbox.samples import write_samples
from rekon.sandbox.server import RunningSandbox
from rekon.sandbox.settlements import METHODS, VAT
from rekon.sandbox.settlements import Settlement as SandboxPayout
from rekon.settlement_reports import (
    ReportError,
    ReportOptions,
    import_report,
    read_report,
    store_report,
)
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import (
    JAKARTA,
    OPERATOR,
    VIEWER,
    add_ledger,
    add_orders,
    check_invariant,
    fingerprint,
    order,
)
from tests.test_cli import rekon

ROOT = Path(__file__).resolve().parent.parent
OCT = ReconcileParams(*OCTOBER)
NOV_7 = date(2026, 11, 7)


def reader(durianpay: DurianpayClient) -> SettlementReader:
    return SettlementReader(durianpay)


def settled_in(sandbox: RunningSandbox, start: date, end: date) -> list[SandboxPayout]:
    lo = datetime.combine(start, time.min)
    hi = datetime.combine(end + timedelta(days=1), time.min)
    return [s for s in sandbox.state.settlements() if lo <= s.settled_at < hi]


# ---------------------------------------------------------------- the API client


def test_the_client_reads_every_settlement_and_payment_of_a_range_as_documented(
    sandbox: RunningSandbox, durianpay: DurianpayClient
) -> None:
    expected = settled_in(sandbox, *OCTOBER)
    found = list(reader(durianpay).iter_settlements(*OCTOBER))
    assert len(found) == len(expected) > 100  # more than one page of 100
    assert {s.settlement_id for s in found} == {s.settlement_id for s in expected}
    assert all(s.net == s.gross - s.fee for s in found if s.gross and s.fee)
    paid = list(reader(durianpay).iter_payments(*OCTOBER))
    assert len(paid) == sum(len(s.payouts) for s in expected)
    one = paid[0]
    assert isinstance(one, SettlementPayment) and one.method in {
        "QRIS",
        "BCA",
        "MANDIRI",
        "DANA",
        "OVO",
        "CARD",
    }
    assert one.net == one.gross - one.fee and isinstance(one.fee, Decimal)
    assert sum(p.net for p in paid) == sum(s.net for s in found)


def test_wrapped_answers_numbers_and_unix_times_read_the_same(
    sandbox: RunningSandbox, durianpay: DurianpayClient
) -> None:
    plain = list(reader(durianpay).iter_settlements(*OCTOBER))
    sandbox.state.faults = Faults(
        settlement_envelope="data", settlement_numbers=True, durianpay_epoch=True
    )
    odd = list(reader(durianpay).iter_settlements(*OCTOBER))
    key = [(s.settlement_id, s.net, s.fee, s.settled_at.replace(microsecond=0)) for s in plain]
    assert [(s.settlement_id, s.net, s.fee, s.settled_at) for s in odd] == key


def test_the_sandbox_takes_from_and_to_as_dates_or_unix_seconds(sandbox: RunningSandbox) -> None:
    def total(lo: str, hi: str) -> int:
        answer = httpx.get(
            f"{sandbox.url}/v1/settlements",
            params={"from": lo, "to": hi, "limit": 1},
            auth=(DURIANPAY_TEST_KEY, ""),
        )
        assert answer.status_code == 200
        return int(answer.json()["total_count"])

    start = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) - 1
    assert total("2026-10-01", "2026-10-31") == total(str(start), str(end)) > 0


def test_one_settlement_and_the_settlement_of_one_payment(
    sandbox: RunningSandbox, durianpay: DurianpayClient
) -> None:
    first = next(iter(reader(durianpay).iter_payments(*OCTOBER)))
    settlement = reader(durianpay).get_settlement(first.settlement_id)
    assert isinstance(settlement, Settlement) and settlement.settlement_id == first.settlement_id
    assert first.payment_id
    again = reader(durianpay).payment(first.payment_id)
    assert (again.settlement_id, again.net, again.method) == (
        first.settlement_id,
        first.net,
        first.method,  # named payment_subchannel in this answer
    )


def test_pages_that_fail_once_or_drop_mid_body_are_fetched_again(
    sandbox: RunningSandbox, durianpay: DurianpayClient
) -> None:
    sandbox.state.faults = Faults(
        fail_once=["durianpay:settlements:skip=0", "durianpay:details:skip=100"],
        drop_once=["durianpay:details:skip=0"],
    )
    paid = list(reader(durianpay).iter_payments(*OCTOBER))
    assert len(paid) == sum(len(s.payouts) for s in settled_in(sandbox, *OCTOBER))
    assert sandbox.state.faults.fail_once == ["durianpay:settlements:skip=0"]  # not asked yet
    assert list(reader(durianpay).iter_settlements(*OCTOBER))
    assert sandbox.state.faults.fail_once == [] and sandbox.state.faults.drop_once == []


# ---------------------------------------------------------------- fetching


def test_a_fetch_of_orders_and_settlements_lands_both_in_one_audited_run(
    sandbox: RunningSandbox, clients: dict[str, OrderSource], store: Store
) -> None:
    summary = fetch_orders(store, clients, *OCTOBER, by=OPERATOR, what=("orders", "settlements"))
    assert "Xepeng: settlements not verifiable from the API" in summary.line()
    counts = summary.settlements["durianpay"]
    # Settled in the range and the seven days after it: the month's last orders' payouts.
    expected = [
        s
        for s in sandbox.state.settlements()
        if date(2026, 10, 1) <= s.settled_at.replace(tzinfo=UTC).astimezone(JAKARTA).date() <= NOV_7
    ]
    assert counts.settlements == len(expected) and counts.new == len(expected)
    assert store.scalar("SELECT count(*) FROM settlements") == len(expected)
    assert store.scalar("SELECT max(settled_date) FROM settlements") > date(2026, 10, 31)
    source = store.query("SELECT * FROM settlement_sources").row(0, named=True)
    assert (source["kind"], source["covered_from"], source["covered_to"]) == (
        "api", date(2026, 10, 1), NOV_7,
    )  # fmt: skip
    assert store.scalar("SELECT what FROM fetch_runs") == "orders,settlements"
    audit = store.scalar("SELECT detail FROM audit_log WHERE action = 'fetch'")
    assert '"settlements": {"durianpay": ' in audit
    # Again: the same settlements, replaced rather than doubled.
    before = fingerprint(
        store,
        ("fetch_runs", "audit_log", "settlement_sources", "settlements", "settlement_payments"),
    )
    again = fetch_orders(store, clients, *OCTOBER, by=OPERATOR, what=("settlements",))
    assert again.settlements["durianpay"].new == 0
    assert store.scalar("SELECT count(*) FROM settlements") == len(expected)
    assert store.scalar("SELECT count(*) FROM settlement_payments") == sum(
        len(s.payouts) for s in expected
    )
    assert (
        fingerprint(
            store,
            ("fetch_runs", "audit_log", "settlement_sources", "settlements", "settlement_payments"),
        )
        == before
    )


def test_a_failed_settlement_fetch_leaves_the_store_as_it_was(
    sandbox: RunningSandbox, clients: dict[str, OrderSource], store: Store
) -> None:
    fetch_orders(store, clients, *OCTOBER, by=OPERATOR)
    before = fingerprint(store)
    sandbox.state.faults = Faults(always_fail="durianpay")
    with pytest.raises(ProviderUnavailable):
        fetch_orders(store, clients, *OCTOBER, by=OPERATOR, what=("orders", "settlements"))
    assert fingerprint(store) == before
    assert store.scalar("SELECT status FROM fetch_runs ORDER BY id DESC LIMIT 1") == "failed"


def test_what_a_fetch_brings_is_named_plainly() -> None:
    assert parse_what("orders") == ("orders",)
    assert parse_what(" Settlements , orders") == ("orders", "settlements")
    with pytest.raises(ValueError, match="orders, settlements"):
        parse_what("payouts")


# ---------------------------------------------------------------- the rate card


def test_the_rate_card_keeps_each_change_and_the_latest_rules(store: Store) -> None:
    fee_rates.set_rate(store, "durianpay", "qris", percent="0.7", by=OPERATOR)
    rate = fee_rates.set_rate(store, "durianpay", "QRIS", fixed="500", by=OPERATOR)
    assert (rate.percent, rate.fixed, rate.vat) == (Decimal("0.7"), Decimal(500), Decimal(11))
    card = fee_rates.current(store)
    assert card.select("provider", "method").rows() == [("durianpay", "QRIS")]
    assert store.scalar("SELECT count(*) FROM fee_rates") == 2
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'fee_rate'") == 2
    with pytest.raises(AccessDenied):
        fee_rates.set_rate(store, "durianpay", "*", percent="1", by=VIEWER)
    with pytest.raises(fee_rates.RateError, match="between 0 and 100"):
        fee_rates.set_rate(store, "durianpay", "*", percent="150", by=OPERATOR)
    with pytest.raises(fee_rates.RateError, match="not a number"):
        fee_rates.set_rate(store, "xepeng", "*", fixed="lots", by=OPERATOR)


# ---------------------------------------------------------------- matching


def settle(
    store: Store,
    settlement_id: str,
    day: date,
    *payments: tuple[str, int, int, str],
    provider: str = "durianpay",
    covered: tuple[date, date] = (date(2026, 10, 1), NOV_7),
) -> None:
    """A payout of (payment id, gross, fee, method) payments at 10:00 on `day`, landed as a
    fetch that covered `covered`."""
    at = datetime.combine(day, time(10), JAKARTA).astimezone(UTC).replace(tzinfo=None)
    items = [
        SettlementPayment(provider, settlement_id, pid, None, None, Decimal(g), Decimal(f),
                          Decimal(g - f), None, at, method)
        for pid, g, f, method in payments
    ]  # fmt: skip
    source = payouts.Source(provider, "api", *covered)
    with store.write() as cur:
        payouts.land(
            cur, store, source, payouts.settlements_table([]), payouts.payments_table(items),
            OPERATOR.name,
        )  # fmt: skip


def rows(store: Store, run_id: int) -> dict[str, dict[str, object]]:
    frame = store.query(
        "SELECT result_key, result::VARCHAR AS result, rule, fee, net_amount, settlement_id,"
        " reason, difference, group_id FROM recon_results WHERE run_id = ?",
        [run_id],
    )
    return {r["result_key"]: r for r in frame.iter_rows(named=True)}


def settlement_rows(store: Store, run_id: int) -> dict[str, dict[str, object]]:
    frame = store.query("SELECT * FROM settlement_results WHERE run_id = ?", [run_id])
    return {r["settlement_id"]: r for r in frame.iter_rows(named=True)}


def dp(order_id: str, amount: int, day: date, payment_id: str, status: str = "paid") -> object:
    return order(order_id, amount, day, status, "durianpay", payment_id=payment_id)


def test_a_deposit_naming_its_settlement_matches_its_orders_as_one_group(store: Store) -> None:
    add_orders(
        store,
        dp("ord_a", 100_000, date(2026, 10, 10), "pay_a"),  # type: ignore[arg-type]
        dp("ord_b", 50_000, date(2026, 10, 10), "pay_b"),  # type: ignore[arg-type]
    )
    settle(store, "set_A", date(2026, 10, 11), ("pay_a", 100_000, 2_000, "BCA"),
           ("pay_b", 50_000, 1_000, "BCA"))  # fmt: skip
    ledger = add_ledger(store, (date(2026, 10, 11), "SET_A", 147_000))
    run = reconcile(store, OCT, by=OPERATOR)
    got = rows(store, run.run_id)
    a, b, line = got["O:durianpay:ord_a"], got["O:durianpay:ord_b"], got[f"L:{ledger}:2"]
    assert [r["result"] for r in (a, b, line)] == ["matched"] * 3
    assert {r["rule"] for r in (a, b, line)} == {"settlement"}
    assert a["group_id"] == b["group_id"] == line["group_id"]
    assert (a["fee"], a["net_amount"], a["settlement_id"]) == (2_000, 98_000, "set_A")
    assert (line["fee"], line["net_amount"]) == (3_000, 147_000)
    assert a["reason"] == "fee" and a["difference"] is None  # never an amount mismatch
    assert run.counts["amount_mismatch"] == 0 and run.exceptions == 0
    assert run.lines()[-1].strip() == (
        "settlements: settled 1, settlement_missing_in_ledger 0, fee_mismatch 0"
    )
    done = settlement_rows(store, run.run_id)["set_A"]
    assert (done["result"], done["ledger_id"], done["line_no"], done["orders"]) == (
        "settled", ledger, 2, 2,
    )  # fmt: skip
    check_invariant(store, run.run_id)
    # The fee is booked once for the group, as the gateway kept it.
    adjustments = csv_rows(export_bytes(store, run.run_id, "adjustments"))
    assert adjustments.select("account", "amount").rows() == [("Bank and gateway fees", "3000.00")]


def test_a_deposit_without_reference_is_found_by_its_net_amount_when_only_it_fits(
    store: Store,
) -> None:
    add_orders(
        store,
        dp("ord_a", 100_000, date(2026, 10, 10), "pay_a"),  # type: ignore[arg-type]
        dp("ord_c", 60_000, date(2026, 10, 12), "pay_c"),  # type: ignore[arg-type]
        dp("ord_d", 60_000, date(2026, 10, 12), "pay_d"),  # type: ignore[arg-type]
    )
    settle(store, "set_A", date(2026, 10, 11), ("pay_a", 100_000, 2_000, "BCA"))
    # Two payouts of one net amount on one day: a line of that amount could be either.
    settle(store, "set_C", date(2026, 10, 13), ("pay_c", 60_000, 1_000, "BCA"))
    settle(store, "set_D", date(2026, 10, 13), ("pay_d", 60_000, 1_000, "QRIS"))
    ledger = add_ledger(
        store, (date(2026, 10, 12), "TRF DURIANPAY", 98_000), (date(2026, 10, 13), "", 59_000)
    )
    run = reconcile(store, OCT, by=OPERATOR)
    got = rows(store, run.run_id)
    assert (got["O:durianpay:ord_a"]["result"], got["O:durianpay:ord_a"]["rule"]) == (
        "matched", "settlement",
    )  # fmt: skip
    assert got[f"L:{ledger}:2"]["rule"] == "settlement"
    # Either payout, or either order's net amount: left for a person.
    assert got[f"L:{ledger}:3"]["result"] == "ambiguous"
    assert (
        got["O:durianpay:ord_c"]["result"]
        == got["O:durianpay:ord_d"]["result"]
        == ("missing_in_ledger")
    )
    outcome = settlement_rows(store, run.run_id)
    assert outcome["set_A"]["result"] == "settled"
    assert (
        outcome["set_C"]["result"] == outcome["set_D"]["result"] == ("settlement_missing_in_ledger")
    )
    check_invariant(store, run.run_id)


def test_a_line_of_one_orders_gross_or_net_still_matches_that_order(store: Store) -> None:
    add_orders(
        store,
        dp("ord_n", 100_000, date(2026, 10, 10), "pay_n"),  # type: ignore[arg-type]
        dp("ord_t", 80_123, date(2026, 10, 10), "pay_t"),  # type: ignore[arg-type]
        dp("ord_g", 70_000, date(2026, 10, 10), "pay_g"),  # type: ignore[arg-type]
    )
    settle(store, "set_N", date(2026, 10, 11), ("pay_n", 100_000, 2_220, "CARD"),
           ("pay_t", 80_123, 1_777, "CARD"), ("pay_g", 70_000, 1_554, "CARD"))  # fmt: skip
    ledger = add_ledger(
        store,
        (date(2026, 10, 10), "ord_n", 97_780),  # its net, by reference
        (date(2026, 10, 11), "", 78_346),  # its net, by amount and date
        (date(2026, 10, 10), "ord_g", 70_000),  # its gross
    )
    run = reconcile(store, OCT, by=OPERATOR)
    got = rows(store, run.run_id)
    n, t, g = (got[f"O:durianpay:ord_{k}"] for k in "ntg")
    assert (n["result"], n["rule"], n["fee"], n["net_amount"], n["reason"]) == (
        "matched", "order_id", 2_220, 97_780, "fee",
    )  # fmt: skip
    assert n["difference"] == -2_220 and n["settlement_id"] == "set_N"
    assert (t["result"], t["rule"], t["reason"]) == ("matched", "amount_date", "fee")
    assert (g["result"], g["rule"], g["reason"], g["fee"]) == ("matched", "order_id", None, 1_554)
    assert settlement_rows(store, run.run_id)["set_N"]["result"] == "settlement_missing_in_ledger"
    assert run.exceptions == 0 and ledger
    check_invariant(store, run.run_id)


def test_a_paid_order_without_payout_awaits_it_until_its_due_date_then_is_late(
    store: Store,
) -> None:
    add_orders(
        store,
        dp("ord_late", 40_000, date(2026, 10, 5), "pay_1"),  # type: ignore[arg-type]
        dp("ord_soon", 41_000, date(2026, 10, 18), "pay_2"),  # type: ignore[arg-type]
        dp("ord_paid_out", 42_000, date(2026, 10, 5), "pay_3"),  # type: ignore[arg-type]
        dp("ord_unpaid", 43_000, date(2026, 10, 5), "pay_4", status="pending"),  # type: ignore[arg-type]
        order("xo_none", 44_000, date(2026, 10, 5)),  # Xepeng: no payouts known at all
    )
    # Payouts known up to 20 October only.
    covered = (date(2026, 10, 1), date(2026, 10, 20))
    settle(store, "set_3", date(2026, 10, 6), ("pay_3", 42_000, 500, "BCA"), covered=covered)
    add_ledger(store, (date(2026, 10, 2), "MANUAL-1", 1_000))
    run = reconcile(store, OCT, by=OPERATOR)
    got = rows(store, run.run_id)
    assert got["O:durianpay:ord_late"]["result"] == "settlement_late"  # due 10 Oct, known to 20
    assert got["O:durianpay:ord_soon"]["result"] == "awaiting_settlement"  # due 23 Oct
    assert got["O:durianpay:ord_paid_out"]["result"] == "missing_in_ledger"  # paid out, unbooked
    assert got["O:durianpay:ord_paid_out"]["settlement_id"] == "set_3"
    assert got["O:durianpay:ord_unpaid"]["result"] == "unpaid"
    assert got["O:xepeng:xo_none"]["result"] == "missing_in_ledger"
    # Late is an exception; awaiting is information.
    assert run.counts["settlement_late"] == 1 and run.counts["awaiting_settlement"] == 1
    assert run.exceptions == 4  # late, missing ×2 (paid out; Xepeng), the manual line
    check_invariant(store, run.run_id)


def test_a_fee_above_the_rate_card_names_its_payments_and_the_difference(store: Store) -> None:
    add_orders(
        store,
        dp("ord_1", 100_000, date(2026, 10, 10), "pay_1"),  # type: ignore[arg-type]
        dp("ord_2", 50_000, date(2026, 10, 10), "pay_2"),  # type: ignore[arg-type]
        dp("ord_3", 50_000, date(2026, 10, 10), "pay_3"),  # type: ignore[arg-type]
        dp("ord_4", 20_000, date(2026, 10, 12), "pay_4"),  # type: ignore[arg-type]
    )
    fee_rates.set_rate(store, "durianpay", "*", percent="2", by=OPERATOR)  # + PPN 11 %
    fee_rates.set_rate(store, "durianpay", "BCA", fixed="4000", by=OPERATOR)
    # 2 % of 100.000 with VAT is 2.220; of 50.000, 1.110; BCA: 4.440 a payment.
    settle(store, "set_F", date(2026, 10, 11), ("pay_1", 100_000, 2_220, "QRIS"),
           ("pay_2", 50_000, 3_000, "QRIS"), ("pay_3", 50_000, 1_111, "OVO"))  # fmt: skip
    settle(store, "set_G", date(2026, 10, 13), ("pay_4", 20_000, 4_440, "BCA"))
    add_ledger(store, (date(2026, 10, 11), "set_F", 193_669), (date(2026, 10, 13), "set_G", 15_560))
    run = reconcile(store, OCT, by=OPERATOR)
    outcome = settlement_rows(store, run.run_id)
    f, g = outcome["set_F"], outcome["set_G"]
    assert f["result"] == "fee_mismatch" and f["ledger_id"] is not None  # deposit found too
    assert (f["expected_fee"], f["overcharged"], f["overcharged_payments"]) == (
        4_440, 1_890, ["pay_2"],  # a rupiah over on pay_3 is rounding
    )  # fmt: skip
    assert (g["result"], g["expected_fee"], g["overcharged"]) == ("settled", 4_440, None)
    exported = csv_rows(export_bytes(store, run.run_id, "settlements"))
    assert tuple(exported.columns) == SETTLEMENT_COLUMNS
    assert exported["result"].to_list() == ["settled", "fee_mismatch"]  # as classes are listed
    first = exported.row(1, named=True)
    assert (first["result"], first["overcharged"], first["overcharged_payments"]) == (
        "fee_mismatch", "1890.00", "pay_2",
    )  # fmt: skip
    assert first["settled_at"] == "2026-10-11T03:00:00Z" and first["net"] == "193669.00"
    every = csv_rows(export_bytes(store, run.run_id, "all"))
    assert tuple(every.columns) == EXPORT_COLUMNS
    assert every.filter(pl.col("order_id") == "ord_2").select(
        "fee", "net_amount", "settlement_id"
    ).row(0) == ("3000.00", "47000.00", "set_F")


# ---------------------------------------------------------------- the golden month


def sandbox_card(store: Store) -> None:
    """The sandbox gateways' published rates on the rate card."""
    for provider in ("xepeng", "durianpay"):
        for method, m in METHODS.items():
            fee_rates.set_rate(
                store, provider, method, percent=m.percent, fixed=m.fixed, vat=VAT, by=OPERATOR
            )


def test_the_golden_month_booked_as_net_deposits_gives_what_was_planned(
    golden_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    planned = json.loads((ROOT / DEPOSITS_EXPECTED).read_text())
    store = Store(tmp_path / "golden.duckdb")
    settings = sandbox_settings(Settings(db_path=tmp_path / "golden.duckdb"), golden_sandbox.url)
    fetch_orders(store, make_clients(settings), *OCTOBER, by=OPERATOR, what=WHAT)
    report = import_report(
        store, ROOT / XEPENG_REPORT, ReportOptions(provider="xepeng"), None, by=OPERATOR
    )
    assert report.counts.settlements > 100 and report.report.style.value == "comma"
    sandbox_card(store)
    import_ledger(store, ROOT / DEPOSITS_LEDGER, by=OPERATOR)
    run = reconcile(store, OCT, by=OPERATOR)
    assert run.counts == {name: planned["expected"].get(name, 0) for name in RESULTS}
    outcome = store.query(
        "SELECT result, count(*) FROM settlement_results WHERE run_id = ? GROUP BY result",
        [run.run_id],
    )
    assert dict(outcome.rows()) == planned["settlements"]
    assert run.counts["amount_mismatch"] == 0  # fees are fees, never mismatches
    check_invariant(store, run.run_id)


def test_the_committed_settlement_samples_are_what_the_seed_generates(tmp_path: Path) -> None:
    write_samples(tmp_path)
    for sample in (DEPOSITS_LEDGER, DEPOSITS_EXPECTED, XEPENG_REPORT):
        assert (tmp_path / sample).read_bytes() == (ROOT / sample).read_bytes(), sample


# ---------------------------------------------------------------- settlement reports


REPORT = (
    "Settlement ID;Order ID;Gross;Fee;Net;Settlement Date;Payment Method\n"
    "set_x1;xo_1;150.000,00;1.165,50;148.834,50;14/10/2026;QRIS\n"
    "set_x1;xo_2;50.000,00;388,50;49.611,50;14/10/2026;QRIS\n"
    "set_x2;xo_3;1.000.000,00;4.440,00;995.560,00;15/10/2026;BCA\n"
)


def test_a_settlement_report_is_read_as_ledgers_are_and_lands_once(store: Store) -> None:
    report = read_report(REPORT.encode(), "xp.csv", ReportOptions(), "Asia/Jakarta")
    assert report.mapping["settled_at"] == "Settlement Date" and report.settlements == 2
    assert (report.covered_from, report.covered_to) == (date(2026, 10, 14), date(2026, 10, 15))
    done = store_report(store, report, "October", OPERATOR)
    assert (done.counts.settlements, done.counts.payments) == (2, 3)
    net = store.scalar("SELECT net FROM settlements WHERE settlement_id = 'set_x1'")
    assert net == Decimal("198446.00")  # its payments' sum: a report lists no settlements
    day = store.scalar("SELECT settled_date FROM settlements WHERE settlement_id = 'set_x2'")
    assert day == date(2026, 10, 15)
    with pytest.raises(ReportError, match="imported before"):
        store_report(store, report, None, OPERATOR)
    assert store.scalar("SELECT count(*) FROM settlement_payments") == 3


def test_a_report_with_bad_rows_is_refused_whole_naming_their_lines(store: Store) -> None:
    bad = REPORT.replace("49.611,50", "banyak").replace("15/10/2026", "31/02/2026")
    with pytest.raises(ReportError) as caught:
        read_report(bad.encode(), "xp.csv", ReportOptions(), "Asia/Jakarta")
    message = str(caught.value)
    assert "2 row(s) cannot be read, so nothing was imported" in message
    assert "line 3: the net amount is not a number" in message
    assert "line 4: the settlement date cannot be read" in message
    sums = REPORT.replace("148.834,50", "148.000,00")
    with pytest.raises(ReportError, match="line 2: gross less fee is not the net amount"):
        read_report(sums.encode(), "xp.csv", ReportOptions(), "Asia/Jakarta")
    early = REPORT.replace("14/10", "02/10").replace("15/10", "03/10")
    with pytest.raises(ReportError, match="every day is 12 or less"):
        read_report(early.encode(), "xp.csv", ReportOptions(), "Asia/Jakarta")
    told = ReportOptions(date_format="%d/%m/%Y")
    assert read_report(early.encode(), "xp.csv", told).covered_to == date(2026, 10, 3)
    unnamed = "A;B;C\n1;2;3\n"
    with pytest.raises(ReportError, match="no column for settlement_id"):
        read_report(unnamed.encode(), "xp.csv", ReportOptions(), "Asia/Jakarta")
    assert store.scalar("SELECT count(*) FROM settlements") == 0


# ---------------------------------------------------------------- the command line


def test_the_commands_fetch_settlements_keep_the_rate_card_and_import_a_report(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "cli.duckdb")
    out = rekon("fetch", "--what", "orders,settlements", "--from", "2026-10-01", "--to",
                "2026-10-31", "--sandbox-url", sandbox.url, "--db", db)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Durianpay:" in out.stdout and "settlements (" in out.stdout
    assert "Xepeng: settlements not verifiable from the API" in out.stdout
    wrong = rekon("fetch", "--what", "payouts", "--from", "2026-10-01", "--to", "2026-10-31",
                  "--sandbox-url", sandbox.url, "--db", db)  # fmt: skip
    assert wrong.returncode != 0 and "orders, settlements" in wrong.stderr
    assert rekon("fees", "set", "durianpay", "--method", "qris", "--percent", "0.7",
                 "--db", db).returncode == 0  # fmt: skip
    card = rekon("fees", "list", "--db", db)
    assert card.returncode == 0 and "QRIS" in card.stdout and "0.7" in card.stdout
    bad = rekon("fees", "set", "durianpay", "--percent", "-1", "--db", db)
    assert bad.returncode != 0 and "between 0 and 100" in bad.stderr
    report = tmp_path / "xepeng.csv"
    report.write_text(REPORT)
    imported = rekon("settlements", "import", str(report), "--db", db)
    assert imported.returncode == 0, imported.stderr
    assert "2 settlements (2 new), 3 payments" in imported.stdout
    listed = rekon("settlements", "list", "--from", "2026-10-14", "--to", "2026-10-15", "--db", db)
    assert "set_x1" in listed.stdout
    run = rekon("reconcile", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db)
    assert run.returncode != 0  # no ledger yet: refused as before
    out_file = tmp_path / "s.csv"
    export = rekon("export", "--kind", "settlements", "--out", str(out_file), "--db", db)
    assert export.returncode != 0 and "no reconciliation run" in export.stderr


def test_a_payment_paid_out_again_counts_in_its_latest_payout_only(store: Store) -> None:
    add_orders(store, dp("ord_r", 100_000, date(2026, 10, 10), "pay_r"))  # type: ignore[arg-type]
    settle(store, "set_1", date(2026, 10, 11), ("pay_r", 100_000, 2_000, "BCA"))
    settle(store, "set_2", date(2026, 10, 12), ("pay_r", 100_000, 2_500, "BCA"))
    assert store.query(
        "SELECT settlement_id, fee FROM settlement_payments WHERE payment_id = 'pay_r'"
    ).rows() == [("set_2", Decimal(2_500))]
    add_ledger(store, (date(2026, 10, 12), "set_2", 97_500))
    run = reconcile(store, OCT, by=OPERATOR)
    got = rows(store, run.run_id)["O:durianpay:ord_r"]
    assert (got["result"], got["settlement_id"], got["fee"]) == ("matched", "set_2", 2_500)
    check_invariant(store, run.run_id)
