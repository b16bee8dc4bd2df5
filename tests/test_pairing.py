"""Manual matches and breaks: which line pays which order, said by a reviewer, applied first
in every later run, kept with its history."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rekon import pairing
from rekon.access import operator
from rekon.matching import ReconcileParams, reconcile
from rekon.pairing import PairingError
from rekon.reports import csv_rows, export_bytes
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import (
    OPERATOR,
    add_ledger,
    add_orders,
    by_order,
    check_invariant,
    import_lines,
    order,
    results,
)

OCT = ReconcileParams(*OCTOBER)
D5, D6, D7 = date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)


def rows(store: Store, run_id: int) -> list[tuple[object, ...]]:
    """(result, rule, key, group, reason) of a run's rows, by key."""
    return sorted(
        (r["result"], r["rule"], r["result_key"], r["group_id"], r["reason"])
        for r in store.query(
            "SELECT result::VARCHAR AS result, rule, result_key, group_id, reason"
            " FROM recon_results WHERE run_id = ?",
            [run_id],
        ).iter_rows(named=True)
    )


def test_one_order_and_one_line_matched_by_hand_is_one_manual_row(store: Store) -> None:
    add_orders(store, order("xo_1", 150_000, D5))
    ledger = add_ledger(store, (D6, "BCA TRF 0099", 150_000))
    assert (
        reconcile(store, OCT, by=OPERATOR).counts["missing_in_provider"] == 1
    )  # the reference names none
    made = pairing.add_match(store, ["O:xepeng:xo_1"], [f"L:{ledger}:2"], OPERATOR)
    assert (made.kind, made.difference) == ("match", Decimal("0.00"))
    run = reconcile(store, OCT, by=OPERATOR)
    assert rows(store, run.run_id) == [("matched", "manual", "O:xepeng:xo_1", made.id, None)]
    check_invariant(store, run.run_id)


def test_a_daily_deposit_pays_several_orders_as_one_group(store: Store) -> None:
    add_orders(
        store,
        order("xo_1", 100_000, D5),
        order("xo_2", 250_000, D5),
        order("xo_3", 47_500, D5),
    )
    ledger = add_ledger(store, (D6, "SETOR 05/10", 397_500))
    made = pairing.add_match(
        store,
        ["O:xepeng:xo_1", "O:xepeng:xo_2", "O:xepeng:xo_3"],
        [f"L:{ledger}:2"],
        OPERATOR,
    )
    run = reconcile(store, OCT, by=OPERATOR)
    assert rows(store, run.run_id) == [
        ("matched", "manual", f"L:{ledger}:2", made.id, None),
        ("matched", "manual", "O:xepeng:xo_1", made.id, None),
        ("matched", "manual", "O:xepeng:xo_2", made.id, None),
        ("matched", "manual", "O:xepeng:xo_3", made.id, None),
    ]
    check_invariant(store, run.run_id)


def test_a_partial_payment_in_two_lines_with_a_fee_carries_its_reason(store: Store) -> None:
    add_orders(store, order("xo_1", 1_000_000, D5))
    ledger = add_ledger(store, (D5, "DP 1", 500_000), (D7, "DP 2", 497_500))
    with pytest.raises(PairingError, match=r"differ by -2500.00: give a reason"):
        pairing.add_match(store, ["O:xepeng:xo_1"], [f"L:{ledger}:2", f"L:{ledger}:3"], OPERATOR)
    made = pairing.add_match(
        store, ["O:xepeng:xo_1"], [f"L:{ledger}:2", f"L:{ledger}:3"], OPERATOR, reason="fee"
    )
    run = reconcile(store, OCT, by=OPERATOR)
    assert {r[0] for r in rows(store, run.run_id)} == {"amount_mismatch"}
    assert {(r[3], r[4]) for r in rows(store, run.run_id)} == {(made.id, "fee")}
    assert len(rows(store, run.run_id)) == 3  # one order, two lines
    # Within the run's tolerance the same group is a match.
    tolerant = reconcile(
        store, ReconcileParams(*OCTOBER, amount_tolerance=Decimal(2500)), by=OPERATOR
    )
    assert {r[0] for r in rows(store, tolerant.run_id)} == {"matched"}
    # Exports carry the group and its reason.
    exported = csv_rows(export_bytes(store, run.run_id, "all"))
    assert set(exported["group_id"]) == {str(made.id)} and set(exported["reason"]) == {"fee"}


def test_several_orders_with_several_lines_are_refused_by_name(store: Store) -> None:
    add_orders(store, order("xo_1", 1, D5), order("xo_2", 1, D5))
    ledger = add_ledger(store, (D5, "A", 1), (D5, "B", 1))
    with pytest.raises(PairingError, match="2 orders with 2 lines cannot be matched as one"):
        pairing.add_match(
            store,
            ["O:xepeng:xo_1", "O:xepeng:xo_2"],
            [f"L:{ledger}:2", f"L:{ledger}:3"],
            OPERATOR,
        )


@pytest.mark.parametrize(
    ("orders", "lines", "why"),
    [
        (["O:xepeng:nope"], ["L:1:2"], "no order O:xepeng:nope"),
        (["O:xepeng:xo_1"], ["L:1:99"], "no ledger line L:1:99"),
        (["xo_1"], ["L:1:2"], "is not an order key like O:xepeng:ord_123"),
        (["O:xepeng:xo_1"], ["17"], "is not a line key like L:3:17"),
        (["O:xepeng:xo_1"], [], "at least one order with at least one line"),
    ],
)
def test_unknown_or_malformed_keys_are_refused_by_name(
    store: Store, orders: list[str], lines: list[str], why: str
) -> None:
    add_orders(store, order("xo_1", 1, D5))
    add_ledger(store, (D5, "A", 1))
    with pytest.raises(PairingError, match=why):
        pairing.add_match(store, orders, lines, OPERATOR)


def test_a_line_already_matched_by_hand_is_refused_for_another_match(store: Store) -> None:
    add_orders(store, order("xo_1", 1_000, D5), order("xo_2", 1_000, D5))
    ledger = add_ledger(store, (D5, "A", 1_000))
    first = pairing.add_match(store, ["O:xepeng:xo_1"], [f"D:{ledger}:2"], OPERATOR)
    with pytest.raises(PairingError, match=f"L:{ledger}:2 is already in manual match {first.id}"):
        pairing.add_match(store, ["O:xepeng:xo_2"], [f"L:{ledger}:2"], operator("budi"))


def test_a_broken_pair_is_never_paired_again_and_both_come_back_as_leftovers(
    store: Store,
) -> None:
    add_orders(store, order("xo_1", 75_000, D5))
    ledger = add_ledger(store, (D5, "xo_1", 75_000))
    assert by_order(store, reconcile(store, OCT, by=OPERATOR).run_id) == {
        "xo_1": ("matched", "order_id")
    }
    with pytest.raises(PairingError, match="needs a note"):
        pairing.add_break(store, "O:xepeng:xo_1", f"L:{ledger}:2", OPERATOR, " ")
    made = pairing.add_break(store, "O:xepeng:xo_1", f"L:{ledger}:2", OPERATOR, "a cash refund")
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {"xo_1": ("missing_in_ledger", None)}
    assert run.counts["missing_in_provider"] == 1
    check_invariant(store, run.run_id)
    with pytest.raises(PairingError, match=f"broken apart by manual match {made.id}"):
        pairing.add_match(store, ["O:xepeng:xo_1"], [f"L:{ledger}:2"], operator("budi"))
    # Removed, the break stops applying; its history stays.
    pairing.remove(store, made.id, operator("budi"), "it was the sale after all")
    assert by_order(store, reconcile(store, OCT, by=OPERATOR).run_id) == {
        "xo_1": ("matched", "order_id")
    }
    assert pairing.history(store, made.id)["action"].to_list() == ["break.add", "match.remove"]


def test_a_manual_match_follows_its_line_through_a_ledger_correction(store: Store) -> None:
    add_orders(store, order("xo_1", 150_000, D5))
    first = import_lines(store, (D5, "TRF", 150_000), (D6, "OTHER", 9_000))
    made = pairing.add_match(store, ["O:xepeng:xo_1"], [f"L:{first.ledger_id}:2"], OPERATOR)
    # The corrected export moves the line down one row.
    second = import_lines(
        store, (D5, "NEW FIRST", 1_000), (D5, "TRF", 150_000), (D6, "OTHER", 9_000),
        corrects=first.ledger_id,
    )  # fmt: skip
    run = reconcile(store, OCT, by=OPERATOR)
    manual = [r for r in results(store, run.run_id).iter_rows(named=True) if r["rule"] == "manual"]
    assert [(r["order_id"], r["line_no"]) for r in manual] == [("xo_1", 3)]
    assert manual[0]["result_key"] == "O:xepeng:xo_1"
    assert second.ledger_id != first.ledger_id
    assert pairing.list_matches(store, stale=True) == []
    assert made.lines == (f"L:{first.ledger_id}:2",)  # kept as made


def test_a_match_whose_ledger_was_deleted_is_reported_stale_not_dropped(store: Store) -> None:
    from rekon.ledger import delete_ledger

    add_orders(store, order("xo_1", 150_000, D5))
    ledger = add_ledger(store, (D5, "TRF", 150_000))
    made = pairing.add_match(store, ["O:xepeng:xo_1"], [f"L:{ledger}:2"], OPERATOR)
    delete_ledger(store, ledger, by=OPERATOR)
    add_ledger(store, (D6, "OTHER", 1_000))
    assert [m.id for m in pairing.list_matches(store, stale=True)] == [made.id]
    run = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, run.run_id) == {"xo_1": ("missing_in_ledger", None)}


def test_removing_a_match_is_recorded_and_the_pair_returns_to_the_tiers(store: Store) -> None:
    add_orders(store, order("xo_1", 10_000, D5))
    ledger = add_ledger(store, (D5, "xo_1", 10_000))
    made = pairing.add_match(store, ["O:xepeng:xo_1"], [f"L:{ledger}:2"], OPERATOR)
    assert by_order(store, reconcile(store, OCT, by=OPERATOR).run_id) == {
        "xo_1": ("matched", "manual")
    }
    with pytest.raises(PairingError, match="needs a note"):
        pairing.remove(store, made.id, operator("budi"), "")
    gone = pairing.remove(store, made.id, operator("budi"), "the tiers find it")
    assert gone.removed
    with pytest.raises(PairingError, match="already removed"):
        pairing.remove(store, made.id, operator("budi"), "again")
    assert by_order(store, reconcile(store, OCT, by=OPERATOR).run_id) == {
        "xo_1": ("matched", "order_id")
    }
    listed = pairing.list_matches(store)
    assert [(m.id, m.removed) for m in listed] == [(made.id, True)]  # the history stays
    assert store.scalar("SELECT count(*) FROM manual_matches") == 1


def test_a_group_straddling_the_month_end_belongs_to_its_first_order_s_month(
    store: Store,
) -> None:
    add_orders(
        store, order("xo_1", 60_000, date(2026, 10, 31)), order("xo_2", 40_000, date(2026, 10, 31))
    )
    ledger = add_ledger(store, (date(2026, 11, 2), "SETOR", 100_000))
    pairing.add_match(store, ["O:xepeng:xo_1", "O:xepeng:xo_2"], [f"L:{ledger}:2"], OPERATOR)
    october = reconcile(store, OCT, by=OPERATOR)
    assert october.counts["matched"] == 3
    november = reconcile(store, ReconcileParams(date(2026, 11, 1), date(2026, 11, 30)), by=OPERATOR)
    assert sum(november.counts.values()) == 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(["paid", "expired"]), st.sampled_from([10_000, 20_000]),
                       st.integers(1, 28)), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["id", "none", "junk"]),
                       st.sampled_from([10_000, 20_000, 30_000]), st.integers(1, 28)),
             min_size=1, max_size=8),
    st.lists(st.tuples(st.sampled_from(["match", "break"]), st.lists(st.integers(0, 9), min_size=1,
                       max_size=3), st.lists(st.integers(0, 9), min_size=1, max_size=3)),
             max_size=5),
)  # fmt: skip
def test_every_order_and_line_lands_once_with_random_manual_matches_and_breaks(
    specs: list[tuple[str, int, int]],
    lines: list[tuple[int, str, int, int]],
    manual: list[tuple[str, list[int], list[int]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "p.duckdb")
        add_orders(
            store, *(order(f"o{i}", a, date(2026, 10, d), s) for i, (s, a, d) in enumerate(specs))
        )
        refs = {"id": "o{}", "none": "", "junk": "MANUAL-{}"}
        ledger = add_ledger(
            store,
            *((date(2026, 10, d), refs[k].format(t), a) for t, k, a, d in lines),
        )
        for kind, order_picks, line_picks in manual:
            order_keys = [f"O:xepeng:o{i % len(specs)}" for i in order_picks]
            line_keys = [f"L:{ledger}:{2 + i % len(lines)}" for i in line_picks]
            try:
                if kind == "match":
                    pairing.add_match(store, order_keys, line_keys, OPERATOR, reason="other",
                                      note="generated")  # fmt: skip
                else:
                    pairing.add_break(store, order_keys[0], line_keys[0], OPERATOR, "generated")
            except PairingError:
                pass  # N with M, or a key already in another match: refused, as it should be
        run = reconcile(store, OCT, by=OPERATOR)
        check_invariant(store, run.run_id)
        for group in store.query(
            "SELECT group_id, count(*) AS n FROM recon_results WHERE run_id = ?"
            " AND group_id IS NOT NULL GROUP BY ALL",
            [run.run_id],
        ).iter_rows(named=True):
            made = next(m for m in pairing.list_matches(store) if m.id == group["group_id"])
            # A pair is one row; a group a row per order and per line.
            expected = (
                1
                if len(made.orders) + len(made.lines) == 2
                else len(made.orders) + len(set(made.lines))
            )
            assert group["n"] == expected
        store.close()
