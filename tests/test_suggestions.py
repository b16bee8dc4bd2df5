"""Suggested matches for leftovers: ranked, explained field by field, and nothing changes until
a reviewer accepts one (a manual match) or declines it (never suggested again)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rekon import pairing, suggestions
from rekon.matching import ReconcileParams, reconcile
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import OPERATOR, add_ledger, add_orders, by_order, fingerprint, order

OCT = ReconcileParams(*OCTOBER)
D5, D6 = date(2026, 10, 5), date(2026, 10, 6)


def test_a_line_with_a_near_reference_is_suggested_with_its_evidence(store: Store) -> None:
    add_orders(store, order("do_1", 1_500_000, D5, provider="durianpay",
                            merchant_ref="INV-202610-D006762"))  # fmt: skip
    ledger = add_ledger(store, (D6, "INV 202610 D006762.", 1_500_000))
    run = reconcile(store, OCT, by=OPERATOR)
    before = fingerprint(store)
    (found,) = suggestions.suggest(store, run.run_id)
    assert fingerprint(store) == before  # a suggestion changes nothing
    assert (found.orders, found.lines) == (("O:durianpay:do_1",), (f"L:{ledger}:2",))
    assert found.evidence == "amount equal · 1 day apart · reference 100 % alike"
    assert found.score == 40 + 17 + 25 and found.agrees


def test_a_contradicting_reference_scores_lower_and_never_agrees(store: Store) -> None:
    add_orders(store, order("do_1", 1_500_000, D5, provider="durianpay",
                            merchant_ref="INV-202609-D006762"))  # fmt: skip
    add_ledger(store, (D5, "INV-202609-Z099999", 1_500_000))
    (found,) = suggestions.suggest(store, reconcile(store, OCT, by=OPERATOR).run_id)
    assert found.evidence.startswith("amount equal · same day · reference ")
    assert not found.agrees  # the amount and the day agree; the reference does not


def test_a_fee_is_suggested_within_one_percent_and_says_so(store: Store) -> None:
    add_orders(store, order("xo_1", 200_000, D5))
    add_ledger(store, (D5, "", 198_500))
    (found,) = suggestions.suggest(store, reconcile(store, OCT, by=OPERATOR).run_id)
    assert found.evidence == "amount within 1 % (-1500.00) · same day · line has no reference"
    assert found.difference == -1500 and not found.agrees


def test_in_a_crowd_a_fee_pairs_only_by_the_reference_number(store: Store) -> None:
    # More orders within 1 % and the window than CROWD: amount and date tell them apart no
    # longer, so a line short by a fee meets only the order its reference's number names.
    crowd = [order(f"xo_{i:04}", 200_000, D5) for i in range(suggestions.CROWD + 1)]
    add_orders(store, *crowd, order("xo_named", 200_000, D6, merchant_ref="INV-77123"))
    add_ledger(store, (D5, "TRF 77123", 198_500), (D5, "TRF", 198_000))
    found = suggestions.suggest(store, reconcile(store, OCT, by=OPERATOR).run_id, limit=1_000)
    assert [(s.orders, s.difference) for s in found] == [(("O:xepeng:xo_named",), Decimal(-1500))]


def test_a_daily_deposit_is_suggested_as_a_group(store: Store) -> None:
    add_orders(store, order("xo_1", 100_000, D5), order("xo_2", 150_000, D5),
               order("do_9", 150_000, D5, provider="durianpay"))  # fmt: skip
    ledger = add_ledger(store, (D6, "SETOR XEPENG", 250_000))
    found = suggestions.suggest(store, reconcile(store, OCT, by=OPERATOR).run_id)
    group = next(s for s in found if len(s.orders) > 1)
    assert group.orders == ("O:xepeng:xo_1", "O:xepeng:xo_2")
    assert group.lines == (f"L:{ledger}:2",)
    assert (
        group.evidence
        == "amount equal to the sum of 2 Xepeng orders of one day · booked 1 day after"
    )


def test_accepting_makes_a_manual_match_and_declining_hides_it_for_good(store: Store) -> None:
    add_orders(store, order("xo_1", 123_000, D5), order("xo_2", 77_000, D6))
    add_ledger(store, (D5, "xo-1", 123_000), (D6, "", 76_500))
    run = reconcile(store, OCT, by=OPERATOR)
    first, second = sorted(suggestions.suggest(store, run.run_id), key=lambda s: s.orders)
    made = suggestions.accept(store, first, OPERATOR)
    assert made.orders == first.orders and "suggestion accepted" in (made.note or "")
    suggestions.decline(store, second, OPERATOR, "a different sale")
    rerun = reconcile(store, OCT, by=OPERATOR)
    assert by_order(store, rerun.run_id)["xo_1"] == ("matched", "manual")
    assert suggestions.suggest(store, rerun.run_id) == []  # declined, and the other is matched


def test_bulk_accept_takes_only_suggestions_where_every_field_agrees(store: Store) -> None:
    add_orders(
        store,
        order("xo_1", 100_000, D5, merchant_ref="INV-A1"),
        order("xo_2", 55_000, D5),  # no line names it: only its amount and day would agree
    )
    add_ledger(store, (D5, "INV A1", 100_000), (D5, "", 54_800))
    run = reconcile(store, OCT, by=OPERATOR)
    found = suggestions.suggest(store, run.run_id)
    made, left = suggestions.accept_at_or_above(store, found, 30, OPERATOR)
    assert [m.orders for m in made] == [("O:xepeng:xo_1",)]
    assert left == 1  # the amount-and-date one waits for a person
    assert pairing.list_matches(store)[0].made_by == "ana"


def test_a_line_naming_another_provider_is_never_suggested(store: Store) -> None:
    add_orders(store, order("xo_1", 50_000, D5))
    import_text = "Tanggal,Referensi,Jumlah,Provider\n2026-10-05,,50000,Durianpay\n"
    from rekon.ledger import import_ledger

    import_ledger(store, import_text.encode(), "named.csv", by=OPERATOR)
    assert suggestions.suggest(store, reconcile(store, OCT, by=OPERATOR).run_id) == []


@pytest.mark.parametrize("minimum", [0, 90])
def test_the_minimum_score_and_limit_bound_the_list(store: Store, minimum: int) -> None:
    add_orders(store, *(order(f"xo_{i}", 10_000 + i, D5) for i in range(5)))
    add_ledger(store, *((D5, "", 10_000 + i) for i in range(5)))
    run = reconcile(store, ReconcileParams(*OCTOBER, date_window=0), by=OPERATOR)
    # Tier 3 paired them all; nothing is left to suggest.
    assert suggestions.suggest(store, run.run_id, minimum, 2) == []


def test_two_orders_adding_up_to_a_line_are_suggested_as_a_handful(store: Store) -> None:
    add_orders(store, order("xo_1", 120_000, D5), order("xo_2", 85_000, D6),
               order("xo_3", 999_000, D6))  # fmt: skip
    ledger = add_ledger(store, (D6, "TRF 2 ORDERS", 205_000))
    found = suggestions.suggest(store, reconcile(store, OCT, by=OPERATOR).run_id)
    handful = [s for s in found if len(s.orders) == 2]
    assert [(s.orders, s.lines) for s in handful] == [
        (("O:xepeng:xo_1", "O:xepeng:xo_2"), (f"L:{ledger}:2",))
    ]
    assert handful[0].evidence == "amount equal to the sum of 2 Xepeng orders · up to 1 day apart"
    made = suggestions.accept(store, handful[0], OPERATOR)
    assert made.orders == ("O:xepeng:xo_1", "O:xepeng:xo_2")
