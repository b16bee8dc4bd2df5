"""The matching engine: tiers, classes, tolerance, window, month edges, invariant."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rekon.classes import RESULTS
from rekon.config import Settings
from rekon.fetching import fetch_orders, make_clients
from rekon.ledger import import_ledger
from rekon.matching import ReconcileError, ReconcileParams, RunSummary, reconcile
from rekon.sandbox.data import (
    SAMPLE_EXPECTED,
    SAMPLE_LEDGER,
    generate,
    ledger_csv,
    sandbox_settings,
)
from rekon.sandbox.server import RunningSandbox
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import (
    OPERATOR,
    add_ledger,
    add_orders,
    by_order,
    check_invariant,
    order,
    results,
)

ROOT = Path(__file__).resolve().parent.parent
OCT = ReconcileParams(*OCTOBER)


def test_golden_month_gives_the_counts_the_generator_planned(
    golden_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    planned = generate().expected  # from how the data was built, not from the engine
    store = Store(tmp_path / "golden.duckdb")
    settings_ = sandbox_settings(Settings(db_path=tmp_path / "golden.duckdb"), golden_sandbox.url)
    fetch_orders(store, make_clients(settings_), *OCTOBER, by=OPERATOR)
    import_ledger(store, ROOT / SAMPLE_LEDGER, by=OPERATOR)
    run = reconcile(store, OCT, by=OPERATOR)
    assert run.counts == {name: planned.get(name, 0) for name in RESULTS}
    # The sample holds every class but `excluded`, which only a saved rule makes, and the two
    # that need payouts (tests/test_settlements.py).
    assert set(planned) == set(RESULTS) - {"excluded", "awaiting_settlement", "settlement_late"}
    check_invariant(store, run.run_id)


def test_the_committed_sample_is_what_the_seed_generates() -> None:
    import json

    dataset = generate()
    assert (ROOT / SAMPLE_LEDGER).read_bytes() == ledger_csv(dataset)
    committed = json.loads((ROOT / SAMPLE_EXPECTED).read_text())["expected"]
    assert committed == dict(dataset.expected)


def test_tier_1_matches_order_id_and_payment_id(store: Store) -> None:
    add_orders(
        store,
        order("xo_1", 150_000, date(2026, 10, 5), payment_id="pay_1"),
        order("xo_2", 75_000, date(2026, 10, 6), payment_id="pay_2"),
    )
    add_ledger(store, (date(2026, 10, 5), "xo_1", 150_000), (date(2026, 10, 6), "pay_2", 75_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {
        "xo_1": ("matched", "order_id"),
        "xo_2": ("matched", "payment_id"),
    }


def test_a_reference_naming_several_orders_claims_one_order_ids_first(store: Store) -> None:
    add_orders(
        store,
        # "X-1" is an order id at both providers, and "X-2" is one order's id and another's
        # payment id: the order id wins, and between providers the first by name.
        order("X-1", 10_000, date(2026, 10, 5), provider="xepeng"),
        order("X-1", 10_000, date(2026, 10, 5), provider="durianpay"),
        order("X-2", 20_000, date(2026, 10, 6), provider="xepeng"),
        order("dp_9", 20_000, date(2026, 10, 6), provider="durianpay", payment_id="X-2"),
    )
    add_ledger(store, (date(2026, 10, 5), "X-1", 10_000), (date(2026, 10, 6), "X-2", 20_000))
    run = reconcile(store, OCT, by=OPERATOR)
    rows = store.query(
        "SELECT provider, order_id, result::VARCHAR AS result, rule::VARCHAR AS rule"
        " FROM recon_results WHERE run_id = ? ORDER BY order_id, provider",
        [run.run_id],
    ).rows()
    assert rows == [
        ("durianpay", "X-1", "matched", "order_id"),
        ("xepeng", "X-1", "missing_in_ledger", None),
        ("xepeng", "X-2", "matched", "order_id"),
        ("durianpay", "dp_9", "missing_in_ledger", None),
    ]
    check_invariant(store, run.run_id)


def test_a_line_that_names_its_provider_claims_that_providers_order_by_reference(
    store: Store,
) -> None:
    oct_5 = date(2026, 10, 5)
    add_orders(
        store,
        # "X-1" is an order id at both providers; the line says Xepeng, so Xepeng's it is,
        # though by name alone Durianpay's would come first.
        order("X-1", 10_000, oct_5, provider="xepeng"),
        order("X-1", 10_000, oct_5, provider="durianpay"),
        # INV-8 was paid at both gateways (a double payment): the line names Durianpay.
        order("xo_8", 80_000, oct_5, merchant_ref="INV-8"),
        order("dp_8", 80_000, oct_5, provider="durianpay", merchant_ref="INV-8"),
        # INV-9 names both too, but the line's provider column names no gateway: ambiguous.
        order("xo_9", 90_000, oct_5, merchant_ref="INV-9"),
        order("dp_9", 90_000, oct_5, provider="durianpay", merchant_ref="INV-9"),
        # INV-7 expired at Durianpay and was paid at Xepeng: the paid order still wins.
        order("xo_7", 70_000, oct_5, merchant_ref="INV-7"),
        order("dp_7", 70_000, oct_5, "expired", provider="durianpay", merchant_ref="INV-7"),
    )
    text = (
        "Tanggal;Referensi;Jumlah;Provider\n"
        "2026-10-05;X-1;10.000;Xepeng\n"
        "2026-10-05;inv-8;80.000;Durian Pay\n"
        "2026-10-05;INV-9;90.000;Kas Toko\n"
        "2026-10-05;INV-7;70.000;Durianpay\n"
    )
    import_ledger(store, text.encode(), "named.csv", by=OPERATOR)
    run = reconcile(store, OCT, by=OPERATOR)
    check_invariant(store, run.run_id)
    rows = store.query(
        "SELECT provider, order_id, result::VARCHAR AS result, rule::VARCHAR AS rule"
        " FROM recon_results WHERE run_id = ? AND order_id IS NOT NULL"
        " ORDER BY order_id, provider",
        [run.run_id],
    ).rows()
    assert rows == [
        ("durianpay", "X-1", "missing_in_ledger", None),
        ("xepeng", "X-1", "matched", "order_id"),
        ("durianpay", "dp_7", "unpaid", None),
        ("durianpay", "dp_8", "matched", "merchant_ref"),
        ("durianpay", "dp_9", "missing_in_ledger", None),
        ("xepeng", "xo_7", "matched", "merchant_ref"),
        ("xepeng", "xo_8", "missing_in_ledger", None),
        ("xepeng", "xo_9", "missing_in_ledger", None),
    ]
    assert run.counts["ambiguous"] == 1  # the INV-9 line


def test_tier_2_matches_merchant_ref_trimmed_and_case_insensitive(store: Store) -> None:
    add_orders(store, order("xo_1", 150_000, date(2026, 10, 5), merchant_ref="INV-2026-0001"))
    add_ledger(store, (date(2026, 10, 6), "  inv-2026-0001 ", 150_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {"xo_1": ("matched", "merchant_ref")}


def test_merchant_ref_shared_by_an_expired_retry_goes_to_the_paid_order(store: Store) -> None:
    add_orders(
        store,
        order("xo_old", 99_000, date(2026, 10, 5), "expired", merchant_ref="INV-7"),
        order("xo_new", 99_000, date(2026, 10, 5), "paid", merchant_ref="INV-7"),
    )
    add_ledger(store, (date(2026, 10, 5), "INV-7", 99_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {
        "xo_new": ("matched", "merchant_ref"),
        "xo_old": ("unpaid", None),
    }


def test_tier_3_matches_amount_and_date_when_unique_on_both_sides(store: Store) -> None:
    add_orders(store, order("xo_1", 123_457, date(2026, 10, 5)))
    add_ledger(store, (date(2026, 10, 7), "", 123_457))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {"xo_1": ("matched", "amount_date")}


def test_two_equal_candidates_leave_the_line_ambiguous_and_both_orders_unbooked(
    store: Store,
) -> None:
    add_orders(
        store, order("xo_1", 50_000, date(2026, 10, 5)), order("xo_2", 50_000, date(2026, 10, 6))
    )
    add_ledger(store, (date(2026, 10, 6), "", 50_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {
        "xo_1": ("missing_in_ledger", None),
        "xo_2": ("missing_in_ledger", None),
    }
    assert run.counts["ambiguous"] == 1 and run.counts["missing_in_provider"] == 0


def test_a_line_whose_reference_names_no_order_is_never_matched_on_amount_alone(
    store: Store,
) -> None:
    # The line's own reference contradicts the order's: amount and date are weak evidence
    # against it, so it is left for a person instead of being booked against that order.
    add_orders(
        store,
        order("do_1", 1_500_000, date(2026, 10, 5), merchant_ref="INV-202609-D006762",
              provider="durianpay"),
    )  # fmt: skip
    add_ledger(store, (date(2026, 10, 5), "INV-202609-Z099999", 1_500_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {"do_1": ("missing_in_ledger", None)}
    assert run.counts["missing_in_provider"] == 1 and run.counts["matched"] == 0
    # The same line without a reference is paired by amount and date, as before.
    add_ledger(store, (date(2026, 10, 5), "", 1_500_000))
    rerun = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, rerun.run_id) == {"do_1": ("matched", "amount_date")}


def test_one_order_two_unreferenced_lines_is_ambiguous_too(store: Store) -> None:
    add_orders(store, order("xo_1", 50_000, date(2026, 10, 5)))
    add_ledger(store, (date(2026, 10, 5), "", 50_000), (date(2026, 10, 6), "", 50_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert run.counts["ambiguous"] == 2 and run.counts["missing_in_ledger"] == 1


@pytest.mark.parametrize("tolerance", [0, 500])
def test_a_line_that_names_its_provider_pairs_only_with_that_providers_orders(
    store: Store, tolerance: int
) -> None:
    oct_5 = date(2026, 10, 5)
    add_orders(
        store,
        order("xo_twin", 75_000, oct_5),
        order("dp_twin", 75_000, oct_5, provider="durianpay"),  # same amount, same day
        order("xo_only", 60_000, oct_5),
        order("xo_any", 90_000, oct_5),
    )
    text = (
        "Tanggal;Referensi;Jumlah;Provider\n"
        "2026-10-05;;75.000;Durian Pay\n"  # decides between the twins
        "2026-10-05;;60.000;DURIANPAY\n"  # names Durianpay: not Xepeng's 60.000 order
        "2026-10-05;;90.000;Kas Toko\n"  # names no provider Rekon knows: any order will do
    )
    import_ledger(store, text.encode(), "named.csv", by=OPERATOR)
    run = reconcile(
        store, ReconcileParams(*OCTOBER, amount_tolerance=Decimal(tolerance)), by=OPERATOR
    )
    check_invariant(store, run.run_id)
    assert by_order(store, run.run_id) == {
        "dp_twin": ("matched", "amount_date"),
        "xo_twin": ("missing_in_ledger", None),
        "xo_only": ("missing_in_ledger", None),
        "xo_any": ("matched", "amount_date"),
    }
    assert run.counts["missing_in_provider"] == 1 and run.counts["ambiguous"] == 0


def test_with_a_tolerance_the_exact_amount_wins_and_only_equal_candidates_are_ambiguous(
    store: Store,
) -> None:
    oct_5 = date(2026, 10, 5)
    add_orders(
        store,
        order("exact", 100_000, oct_5),
        order("near", 101_000, oct_5),  # within Rp 2.500 of the line, but not its amount
        order("below", 49_000, oct_5),
        order("above", 51_000, oct_5),  # as close to the 50.000 line as "below" is
    )
    add_ledger(store, (oct_5, "", 100_000), (oct_5, "", 50_000))
    run = reconcile(store, ReconcileParams(*OCTOBER, amount_tolerance=Decimal(2500)), by=OPERATOR)
    assert by_order(store, run.run_id) == {
        "exact": ("matched", "amount_date"),
        "near": ("missing_in_ledger", None),
        "below": ("missing_in_ledger", None),
        "above": ("missing_in_ledger", None),
    }
    assert run.counts["ambiguous"] == 1  # the 50.000 line: two equally good candidates
    # Without a tolerance only the exact order is a candidate at all: the same match.
    strict = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, strict.run_id)["exact"] == ("matched", "amount_date")
    assert strict.counts["ambiguous"] == 0 and strict.counts["missing_in_provider"] == 1


def test_ledger_line_booked_twice_is_one_match_and_one_duplicate(store: Store) -> None:
    add_orders(store, order("xo_1", 150_000, date(2026, 10, 5), merchant_ref="INV-1"))
    add_ledger(store, (date(2026, 10, 5), "xo_1", 150_000), (date(2026, 10, 9), "INV-1", 150_000))
    run = reconcile(store, OCT, by=OPERATOR)
    rows = results(store, run.run_id)
    assert rows["result"].to_list() == ["duplicate_in_ledger", "matched"]
    assert rows.filter(rows["result"] == "duplicate_in_ledger")["line_no"].to_list() == [3]


def test_amount_mismatch_carries_ledger_minus_order_and_tolerance_forgives(
    store: Store,
) -> None:
    add_orders(store, order("xo_1", 150_000, date(2026, 10, 5)))
    add_ledger(store, (date(2026, 10, 5), "xo_1", "147500.00"))
    run = reconcile(store, OCT, by=OPERATOR)
    row = results(store, run.run_id).row(0, named=True)
    assert (row["result"], row["difference"]) == ("amount_mismatch", Decimal("-2500.00"))
    lenient = reconcile(
        store, ReconcileParams(*OCTOBER, amount_tolerance=Decimal(2500)), by=OPERATOR
    )
    assert lenient.counts["matched"] == 1


def test_booked_but_not_paid_is_a_status_mismatch_and_unbooked_unpaid_is_information(
    store: Store,
) -> None:
    add_orders(
        store,
        order("xo_1", 10_000, date(2026, 10, 5), "expired"),
        order("xo_2", 20_000, date(2026, 10, 5), "unknown"),
        order("xo_3", 30_000, date(2026, 10, 5), "failed"),
    )
    add_ledger(store, (date(2026, 10, 5), "xo_1", 10_000), (date(2026, 10, 5), "xo_2", 20_000))
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {
        "xo_1": ("status_mismatch", "order_id"),
        "xo_2": ("status_mismatch", "order_id"),
        "xo_3": ("unpaid", None),
    }


def test_a_line_outside_the_window_is_not_matched_by_amount(store: Store) -> None:
    add_orders(store, order("xo_1", 77_777, date(2026, 10, 5)))
    add_ledger(store, (date(2026, 10, 9), "", 77_777))
    strict = reconcile(store, OCT, by=OPERATOR)
    assert strict.counts["missing_in_ledger"] == strict.counts["missing_in_provider"] == 1
    wide = reconcile(store, ReconcileParams(*OCTOBER, date_window=4), by=OPERATOR)
    assert by_order(store, wide.run_id) == {"xo_1": ("matched", "amount_date")}


def test_month_edges_in_jakarta_and_a_line_booked_next_month(store: Store) -> None:
    add_orders(
        store,
        order("first_second", 10_000, datetime(2026, 10, 1, 0, 0, 5)),
        order("last_minute", 20_000, datetime(2026, 10, 31, 23, 59)),
        order("next_month", 30_000, datetime(2026, 11, 1, 0, 30)),
        order("prev_month", 40_000, datetime(2026, 9, 30, 23, 59, 59)),
    )
    add_ledger(
        store,
        (date(2026, 10, 1), "first_second", 10_000),
        (date(2026, 11, 1), "last_minute", 20_000),  # booked the next day
        (date(2026, 10, 31), "next_month", 30_000),  # a November order, booked early
        (date(2026, 10, 1), "prev_month", 40_000),
    )  # a September order, booked late
    october = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, october.run_id) == {
        "first_second": ("matched", "order_id"),
        "last_minute": ("matched", "order_id"),
    }
    assert sum(october.counts.values()) == 2  # the two neighbours' pairs are not October's
    november = reconcile(store, ReconcileParams(date(2026, 11, 1), date(2026, 11, 30)), by=OPERATOR)
    assert by_order(store, november.run_id) == {"next_month": ("matched", "order_id")}
    for run in (october, november):
        check_invariant(store, run.run_id)


def test_only_the_chosen_ledgers_take_part(store: Store) -> None:
    add_orders(store, order("xo_1", 150_000, date(2026, 10, 5)))
    first = add_ledger(store, (date(2026, 10, 5), "xo_1", 150_000))
    add_ledger(store, (date(2026, 10, 6), "xo_1", 150_000))
    run = reconcile(store, ReconcileParams(*OCTOBER, ledger_ids=(first,)), by=OPERATOR)
    assert run.counts["matched"] == sum(run.counts.values()) == 1
    with pytest.raises(ReconcileError, match="no ledger with id 99"):
        reconcile(store, ReconcileParams(*OCTOBER, ledger_ids=(99,)), by=OPERATOR)


def test_bad_parameters_are_refused(store: Store) -> None:
    with pytest.raises(ReconcileError, match="ends"):
        reconcile(store, ReconcileParams(date(2026, 10, 31), date(2026, 10, 1)), by=OPERATOR)
    with pytest.raises(ReconcileError, match="negative"):
        reconcile(store, ReconcileParams(*OCTOBER, amount_tolerance=Decimal(-1)), by=OPERATOR)
    with pytest.raises(ReconcileError, match="between 0 and 31 days"):
        reconcile(store, ReconcileParams(*OCTOBER, date_window=32), by=OPERATOR)
    add_orders(store, order("o1", 20_000, date(2026, 10, 5)))
    # Against no ledger at all, every paid order would read as missing from the books.
    with pytest.raises(ReconcileError, match="no ledger has been imported yet"):
        reconcile(store, ReconcileParams(*OCTOBER), by=OPERATOR)
    assert store.scalar("SELECT count(*) FROM recon_runs") == 0  # nothing half-written


# ---------------------------------------------------------------- property


orders_strategy = st.lists(
    st.tuples(
        st.sampled_from(["paid", "paid", "paid", "expired", "unknown"]),
        st.sampled_from([10_000, 20_000, 20_000, 35_500]),
        st.integers(1, 31),
        st.booleans(),
    ),
    min_size=0,
    max_size=25,
)
lines_strategy = st.lists(
    st.tuples(
        st.integers(-1, 30),
        st.sampled_from(["id", "pay", "ref", "none", "junk"]),
        st.sampled_from([10_000, 20_000, 35_500, 12_345]),
        st.integers(-4, 33),
        st.sampled_from(["", "", "Xepeng", "durian pay", "Kas Toko"]),  # the provider column
    ),
    min_size=0,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders_strategy, lines_strategy, st.integers(0, 5), st.sampled_from([0, 500]))
# Always: a line naming an order id that both providers use (orders 1 and 2 are twins).
@example(
    [("paid", 10_000, 5, False)] * 3,
    [(1, "id", 10_000, 5, ""), (1, "pay", 10_000, 6, "Xepeng")],
    3,
    0,
)
def test_every_order_and_line_lands_in_exactly_one_result(
    specs: list[tuple[str, int, int, bool]],
    lines: list[tuple[int, str, int, int, str]],
    window: int,
    tolerance: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "p.duckdb")
        # Every third order is a twin: the order id and payment id of the one before it, at
        # the other provider, so references that name several orders occur too.
        made = [
            order(
                f"o{i - twin}",
                amount,
                date(2026, 10, day),
                status,
                provider="durianpay" if twin else "xepeng",
                merchant_ref=f"REF-{i % 7}" if shared else f"REF-{i}",
                payment_id=f"p{i - twin}",
            )
            for i, (status, amount, day, shared) in enumerate(specs)
            for twin in [int(i % 3 == 2)]
        ]
        if made:
            add_orders(store, *made)
        rows = []
        for target, kind, amount, day, provider in lines:
            ref = {
                "id": f"o{target}",
                "pay": f"p{target}",
                "ref": f"ref-{target}",
                "none": "",
                "junk": "MANUAL-9",
            }[kind]
            rows.append((date(2026, 9, 30) + timedelta(days=day), ref, amount, provider))
        # A line months away: the ledger exists, whether or not any of its lines is in scope.
        text = "Tanggal,Referensi,Jumlah,Provider\n2026-06-15,far,1000,\n" + "".join(
            f"{d.isoformat()},{ref},{amount},{provider}\n" for d, ref, amount, provider in rows
        )
        import_ledger(store, text.encode(), "generated.csv", by=OPERATOR)
        run = reconcile(
            store,
            ReconcileParams(*OCTOBER, amount_tolerance=Decimal(tolerance), date_window=window),
            by=OPERATOR,
        )
        check_invariant(store, run.run_id)
        in_period_lines = sum(1 for r in rows if OCTOBER[0] <= r[0] <= OCTOBER[1])
        paired_or_lone_lines = store.scalar(
            "SELECT count(*) FROM recon_results WHERE run_id = ? AND line_no IS NOT NULL",
            [run.run_id],
        )
        # all orders are in October, so every October line must be in the run
        assert paired_or_lone_lines >= in_period_lines
        store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from([20_000, 20_300, 20_600]), st.integers(5, 8)), max_size=12),
    st.lists(st.tuples(st.sampled_from([20_000, 20_300, 20_600]), st.integers(5, 8)), max_size=12),
)
def test_a_tolerance_never_undoes_an_exact_amount_match(
    orders: list[tuple[int, int]], lines: list[tuple[int, int]]
) -> None:
    """Raising the tolerance adds near candidates; an exact pair stays each other's closest."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "t.duckdb")
        if orders:
            made = (order(f"o{i}", a, date(2026, 10, d)) for i, (a, d) in enumerate(orders))
            add_orders(store, *made)
        far = (date(2026, 6, 15), "far", 1_000)  # a ledger exists even when no line is drawn
        add_ledger(store, far, *((date(2026, 10, d), "", a) for a, d in lines))

        def pairs(tolerance: int) -> set[tuple[str, int]]:
            params = ReconcileParams(*OCTOBER, amount_tolerance=Decimal(tolerance), date_window=1)
            run = reconcile(store, params, by=OPERATOR)
            check_invariant(store, run.run_id)
            found = results(store, run.run_id).filter(pl.col("rule") == "amount_date")
            return set(zip(found["order_id"], found["line_no"], strict=True))

        exact = pairs(0)
        assert exact <= pairs(400)
        assert exact <= pairs(600)


def test_the_run_summary_groups_counts_as_the_pages_do() -> None:
    summary = RunSummary(7, OCT, {"matched": 7_475, "ambiguous": 1_008}, 0.17)
    head, matched, *rest = summary.lines()
    assert head.endswith("in 0.17s: 1.008 exceptions")
    assert matched == "  matched                  7.475"
    assert "  ambiguous                1.008" in rest


def test_a_refund_booked_both_ways_nets_to_one_refunded_group(store: Store) -> None:
    add_orders(
        store,
        order("xo_r", 250_000, date(2026, 10, 5), "refunded"),
        order("xo_s", 90_000, date(2026, 10, 6), "refunded"),
    )
    ledger = add_ledger(
        store,
        (date(2026, 10, 5), "xo_r", 250_000),
        (date(2026, 10, 8), "xo_r", -250_000),  # the reversal
        (date(2026, 10, 6), "xo_s", 90_000),  # sold and refunded, the refund never booked
    )
    run = reconcile(store, OCT, by=OPERATOR)
    rows = store.query(
        "SELECT result::VARCHAR AS result, result_key, group_id, reason FROM recon_results"
        " WHERE run_id = ? ORDER BY result_key",
        [run.run_id],
    ).rows()
    group = rows[0][2]
    assert group is not None and group < 0
    assert rows == [
        ("refunded", f"L:{ledger}:3", group, "refund"),
        ("refunded", "O:xepeng:xo_r", group, "refund"),
        ("status_mismatch", "O:xepeng:xo_s", None, "refund not booked"),
    ]
    assert run.counts["refunded"] == 2 and run.counts["duplicate_in_ledger"] == 0
    assert run.exceptions == 1  # refunded is information, like unpaid
    check_invariant(store, run.run_id)
