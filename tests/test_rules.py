"""Saved rules: lines that are not gateway sales are excluded, and differences a rule names as
a fee or rounding are cleared and booked; a rule is tried before it is saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rekon import pairing, rules
from rekon.access import operator
from rekon.matching import ReconcileParams, reconcile
from rekon.reports import csv_rows, export_bytes
from rekon.rules import Rule, RuleError
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import (
    OPERATOR,
    add_ledger,
    add_orders,
    check_invariant,
    fingerprint,
    order,
    results,
)

OCT = ReconcileParams(*OCTOBER)
D5 = date(2026, 10, 5)


def month(store: Store) -> int:
    add_orders(store, order("xo_1", 100_000, D5), order("xo_2", 200_000, D5))
    return add_ledger(
        store,
        (D5, "xo_1", 97_500),  # MDR fee deducted
        (D5, "xo_2", 200_000),
        (D5, "SETOR TUNAI TOKO", 350_000),  # a cash deposit, not a gateway sale
    )


def test_a_cash_deposit_rule_is_tried_first_then_excludes_the_line(store: Store) -> None:
    ledger = month(store)
    first = reconcile(store, OCT, by=OPERATOR)
    cash = Rule("Setoran tunai", "reference", "tunai", False, "excluded")
    before = fingerprint(store)
    tried = rules.dry_run(store, cash, first.run_id)
    assert fingerprint(store) == before  # a dry run changes nothing
    assert tried.select("result_key", "now", "after").rows() == [
        (f"L:{ledger}:4", "missing_in_provider", "excluded")
    ]
    rules.add_rule(store, cash, OPERATOR)
    run = reconcile(store, OCT, by=OPERATOR)
    row = (
        results(store, run.run_id)
        .filter(results(store, run.run_id)["result_key"] == f"L:{ledger}:4")
        .row(0, named=True)
    )
    assert (row["result"], row["rule"]) == ("excluded", "Setoran tunai")
    assert run.counts["excluded"] == 1 and run.exceptions == 1  # only the fee pair is left
    assert rules.list_rules(store)["last_run"].to_list() == [1]
    check_invariant(store, run.run_id)


def test_a_fee_rule_clears_the_difference_and_the_adjustments_export_books_it(
    store: Store,
) -> None:
    month(store)
    fee = Rule("MDR Xepeng", "reference", r"^xo_\d+$", True, "fee", max_amount=Decimal(5_000))
    rules.add_rule(store, fee, OPERATOR)
    run = reconcile(store, OCT, by=OPERATOR)
    by_key = {r["result_key"]: r for r in results(store, run.run_id).iter_rows(named=True)}
    assert (by_key["O:xepeng:xo_1"]["result"], by_key["O:xepeng:xo_1"]["rule"]) == (
        "matched", "MDR Xepeng")  # fmt: skip
    journal = csv_rows(export_bytes(store, run.run_id, "adjustments", accounts={"fee": "6110"}))
    assert journal.rows() == [
        ("2026-10-05", "6110", "2500.00", "fee", "fee: O:xepeng:xo_1", None, "MDR Xepeng")
    ]


def test_a_manual_group_with_a_reason_is_one_journal_line(store: Store) -> None:
    add_orders(store, order("xo_1", 100_000, D5), order("xo_2", 50_000, D5))
    ledger = add_ledger(store, (D5, "SETOR", 149_000))
    made = pairing.add_match(
        store, ["O:xepeng:xo_1", "O:xepeng:xo_2"], [f"L:{ledger}:2"], OPERATOR, reason="fee"
    )
    run = reconcile(store, OCT, by=OPERATOR)
    journal = csv_rows(export_bytes(store, run.run_id, "adjustments"))
    assert journal.rows() == [
        ("2026-10-05", "Bank and gateway fees", "1000.00", "fee",
         f"fee: L:{ledger}:2, O:xepeng:xo_1, O:xepeng:xo_2", str(made.id), "manual"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        (Rule("", "reference", "x", False, "fee"), "needs a name"),
        (Rule("r", "memo", "x", False, "fee"), "description or the reference"),
        (Rule("r", "reference", "x", False, "hide"), "unknown action"),
        (Rule("r", "reference", "(", True, "fee"), "is not a regular expression"),
        (Rule("r", "reference", "x", False, "fee", "ovo"), "unknown provider"),
        (Rule("r", "reference", "x", False, "fee", None, Decimal(5), Decimal(1)), "above the"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_by_name(store: Store, rule: Rule, why: str) -> None:
    with pytest.raises(RuleError, match=why):
        rules.add_rule(store, rule, OPERATOR)


def test_a_removed_rule_stops_applying_and_its_name_is_free_again(store: Store) -> None:
    month(store)
    cash = Rule("cash", "reference", "tunai", False, "excluded")
    rules.add_rule(store, cash, OPERATOR)
    with pytest.raises(RuleError, match="named 'cash' already"):
        rules.add_rule(store, cash, OPERATOR)
    rules.remove_rule(store, "cash", operator("budi"))
    assert reconcile(store, OCT, by=OPERATOR).counts["excluded"] == 0
    rules.add_rule(store, cash, OPERATOR)
    assert rules.list_rules(store)["name"].to_list() == ["cash"]
