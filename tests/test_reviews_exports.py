"""Reviews survive re-runs with full history; exports match the store to the rupiah."""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rekon import reviews
from rekon.access import AccessDenied, operator
from rekon.classes import EXCEPTIONS, KINDS, RESULTS
from rekon.errors import RekonError
from rekon.ledger import (
    Correction,
    ImportOptions,
    LedgerError,
    correct_ledger,
    import_ledger,
    list_ledgers,
)
from rekon.matching import (
    ReconcileError,
    ReconcileParams,
    reconcile,
    resolve_run,
    run_params,
)
from rekon.order_lookup import find_orders
from rekon.reports import (
    EXPORT_COLUMNS,
    REVIEW_COLUMNS,
    ExportError,
    csv_rows,
    export_bytes,
    export_name,
    export_rows,
    write_export,
)
from rekon.results import (
    ResultFilter,
    class_totals,
    moved_results,
    order_results,
    result_detail,
    results_page,
    run_changes,
)
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import OPERATOR, add_ledger, add_orders, import_lines, order

OCT = ReconcileParams(*OCTOBER)


@pytest.fixture
def reconciled(store: Store) -> tuple[Store, int]:
    add_orders(
        store,
        order("xo_ok", 150_000, date(2026, 10, 5), merchant_ref="INV-1"),
        order("xo_fee", 100_000, date(2026, 10, 6)),
        order("xo_lost", 80_000, date(2026, 10, 7)),
        order("xo_exp", 60_000, date(2026, 10, 8), "expired"),
        order("xo_dup", 40_000, date(2026, 10, 9)),
        order("xo_open", 30_000, date(2026, 10, 10), "pending"),
    )
    add_ledger(
        store,
        (date(2026, 10, 5), "INV-1", 150_000),
        (date(2026, 10, 6), "xo_fee", 97_500),
        (date(2026, 10, 8), "xo_exp", 60_000),
        (date(2026, 10, 9), "xo_dup", 40_000),
        (date(2026, 10, 10), "xo_dup", 40_000),
        (date(2026, 10, 11), '=HYPERLINK("http://x")', 12_345),
    )
    return store, reconcile(store, OCT, by=OPERATOR).run_id


def test_a_resolution_is_kept_with_its_history_and_survives_a_rerun(
    reconciled: tuple[Store, int],
) -> None:
    store, run_id = reconciled
    key = "O:xepeng:xo_fee"
    reviews.record(store, [key], "accepted", OPERATOR, run_id=run_id)
    reviews.record(store, [key], "reopened", operator("budi"), run_id=run_id)
    reviews.record(store, [key], "resolved", OPERATOR, "MDR 2.5% booked net", run_id)
    rerun = reconcile(store, OCT, by=OPERATOR).run_id
    page, _ = results_page(store, rerun, ResultFilter(results=("amount_mismatch",)))
    assert page.select("result_key", "review_status", "review_note").rows() == [
        (key, "resolved", "MDR 2.5% booked net")
    ]
    history = reviews.history(store, key)
    assert history["decision"].to_list() == ["accepted", "reopened", "resolved"]
    assert history["reviewer"].to_list() == ["ana", "budi", "ana"]


def test_an_order_shows_what_every_run_made_of_it_newest_first(
    reconciled: tuple[Store, int],
) -> None:
    store, first = reconciled
    reviews.record(store, ["O:xepeng:xo_fee"], "resolved", OPERATOR, "MDR booked net", first)
    second = reconcile(store, OCT, by=OPERATOR).run_id
    fee = order_results(store, "xepeng", "xo_fee")
    assert fee.select("run_id", "result", "difference", "review_status", "review_note").rows() == [
        (second, "amount_mismatch", Decimal("-2500.00"), "resolved", "MDR booked net"),
        (first, "amount_mismatch", Decimal("-2500.00"), "resolved", "MDR booked net"),
    ]
    # A line booked twice: the match, then the duplicate, within each run.
    dup = order_results(store, "xepeng", "xo_dup").filter(pl.col("run_id") == second)
    assert dup.select("result", "ledger_date").rows() == [
        ("matched", date(2026, 10, 9)),
        ("duplicate_in_ledger", date(2026, 10, 10)),
    ]
    assert order_results(store, "durianpay", "xo_fee").is_empty()


def test_a_rerun_says_which_results_moved_and_which_are_new(
    reconciled: tuple[Store, int],
) -> None:
    store, first = reconciled
    add_ledger(store, (date(2026, 10, 7), "xo_lost", 80_000), (date(2026, 10, 12), "CASH-2", 5_000))
    second = reconcile(store, OCT, by=OPERATOR).run_id
    assert run_changes(store, first, second).rows() == [
        ("missing_in_ledger", "matched", 1),  # xo_lost, booked at last
        (None, "missing_in_provider", 1),  # CASH-2, new in the later run
    ]
    assert run_changes(store, second, second).is_empty()
    # Which ones: by key, with the order or line and its amounts.
    booked = moved_results(store, first, second, "missing_in_ledger", "matched")
    assert booked.select("result_key", "order_amount", "ledger_amount").rows() == [
        ("O:xepeng:xo_lost", Decimal("80000.00"), Decimal("80000.00"))
    ]
    (new_line,) = moved_results(store, first, second, None, "missing_in_provider").rows(named=True)
    assert (new_line["ledger_line"], new_line["order_id"]) == (3, None)
    assert moved_results(store, first, second, "matched", None).is_empty()


def test_a_decision_on_a_ledger_line_survives_re_importing_the_same_file(
    store: Store,
) -> None:
    text = b"Tanggal;Referensi;Jumlah\n21/10/2026;KAS-9;50.000\n"
    first = import_ledger(store, text, "oct.csv", by=OPERATOR)
    run = reconcile(store, OCT, by=OPERATOR)
    key = f"L:{first.ledger_id}:2"
    assert results_page(store, run.run_id, ResultFilter())[0]["result_key"].to_list() == [key]
    reviews.record(store, [key], "resolved", OPERATOR, "cash sale, no gateway")
    again = import_ledger(store, text, "oct.csv", ImportOptions(replace=True), by=OPERATOR)
    rerun = reconcile(store, OCT, by=OPERATOR)
    row = results_page(store, rerun.run_id, ResultFilter())[0].row(0, named=True)
    assert (again.ledger_id, row["result_key"], row["review_status"]) == (
        first.ledger_id,
        key,
        "resolved",
    )


def test_bulk_review_and_its_rules(reconciled: tuple[Store, int]) -> None:
    store, run_id = reconciled
    open_items, total = results_page(
        store, run_id, ResultFilter(results=EXCEPTIONS, review=("open",))
    )
    assert total == open_items.height == 5
    done = reviews.record(store, open_items["result_key"].to_list(), "accepted", OPERATOR, "ok")
    assert done == reviews.Recorded(5)
    _, still_open = results_page(store, run_id, ResultFilter(results=EXCEPTIONS, review=("open",)))
    assert still_open == 0
    with pytest.raises(reviews.ReviewError, match="needs a note"):
        reviews.record(store, ["O:xepeng:xo_fee"], "resolved", OPERATOR, "  ")
    with pytest.raises(
        reviews.ReviewError,
        match=r"1 of the selected items are not in any reconciliation run "
        r"\(first: O:xepeng:nope\)",
    ):
        reviews.record(store, ["O:xepeng:xo_fee", "O:xepeng:nope"], "accepted", OPERATOR, "ok")
    refusals: list[tuple[tuple[Any, ...], str]] = [
        ((["O:xepeng:xo_fee"], "approved", OPERATOR), "unknown decision 'approved'"),
        (([], "accepted", OPERATOR), "nothing selected"),
        ((["O:xepeng:xo_fee"], "accepted", OPERATOR, None, run_id + 1), f"not in run {run_id + 1}"),
        (
            (["O:xepeng:xo_ok", "O:xepeng:xo_fee"], "accepted", OPERATOR, "ok", run_id),
            "1 of the selected items are matched or unpaid, not exceptions, and need no decision",
        ),
    ]
    for args, why in refusals:
        with pytest.raises(reviews.ReviewError, match=why):
            reviews.record(store, *args)
    with pytest.raises(AccessDenied, match="needs to know who is acting"):
        reviews.record(store, ["O:xepeng:xo_fee"], "accepted", operator("  "))
    assert reviews.history(store, "O:xepeng:xo_fee").height == 1  # refusals record nothing


def test_a_bulk_accept_leaves_resolved_items_as_they_were_and_says_how_many(
    reconciled: tuple[Store, int],
) -> None:
    store, run_id = reconciled
    page, _ = results_page(store, run_id, ResultFilter(results=EXCEPTIONS))
    keys = page["result_key"].to_list()
    reviews.record(store, ["O:xepeng:xo_fee"], "resolved", OPERATOR, "MDR booked net", run_id)
    done = reviews.record(store, keys, "accepted", operator("budi"), "month-end sweep", run_id)
    assert done == reviews.Recorded(4, 1)
    assert done.line("accepted") == (
        "Recorded accepted for 4 item(s). 1 already decided item(s) left as they were."
    )
    assert reviews.status(store, "O:xepeng:xo_fee") == "resolved"
    assert reviews.history(store, "O:xepeng:xo_fee")["note"].to_list() == ["MDR booked net"]
    # Asked for explicitly, the decided one is replaced too.
    again = reviews.record(store, keys, "accepted", operator("budi"), "all of them", run_id,
                           include_decided=True)  # fmt: skip
    assert again == reviews.Recorded(5)
    assert reviews.status(store, "O:xepeng:xo_fee") == "accepted"


def test_a_decision_on_several_items_needs_a_note(reconciled: tuple[Store, int]) -> None:
    store, _ = reconciled
    with pytest.raises(reviews.ReviewError, match="a decision on 2 items at once needs a note"):
        reviews.record(store, ["O:xepeng:xo_fee", "O:xepeng:xo_lost"], "accepted", OPERATOR)


def test_a_decision_made_on_a_stale_view_is_refused_naming_who_changed_it(
    reconciled: tuple[Store, int],
) -> None:
    store, run_id = reconciled
    key = "O:xepeng:xo_fee"
    # Two tabs drew the item while it was open (no review yet).
    reviews.record(store, [key], "resolved", OPERATOR, "MDR booked net", run_id, seen={key: 0})
    with pytest.raises(reviews.ReviewError, match=rf"{key} was resolved by ana at .* after this"):
        reviews.record(store, [key], "accepted", operator("budi"), None, run_id, seen={key: 0})
    assert reviews.history(store, key)["decision"].to_list() == ["resolved"]
    # Drawn again, the view is current and the decision lands.
    reviews.record(
        store, [key], "reopened", operator("budi"), "not yet booked", run_id, seen={key: 1}
    )
    assert reviews.status(store, key) == "open"


def test_a_run_is_named_by_id_or_latest_and_unknown_ones_are_refused(
    reconciled: tuple[Store, int],
) -> None:
    store, run_id = reconciled
    assert resolve_run(store, "latest") == resolve_run(store, None) == run_id
    assert resolve_run(store, str(run_id)) == run_id
    assert run_params(store, run_id) == OCT
    with pytest.raises(ReconcileError, match="'last' is not a run id or 'latest'"):
        resolve_run(store, "last")
    with pytest.raises(ReconcileError, match=f"there is no reconciliation run {run_id + 1}"):
        resolve_run(store, run_id + 1)


OCT_5, OCT_6, OCT_7, OCT_8 = (date(2026, 10, d) for d in (5, 6, 7, 8))


def statuses(store: Store, run_id: int) -> dict[str, tuple[str, str | None]]:
    page, _ = results_page(store, run_id, ResultFilter(results=EXCEPTIONS))
    return {
        r["result_key"]: (r["review_status"], r["review_note"]) for r in page.iter_rows(named=True)
    }


def test_a_corrected_export_takes_its_ledgers_place_and_settled_decisions_follow_its_lines(
    store: Store,
) -> None:
    add_orders(store, order("xo_1", 100_000, OCT_5))
    first = import_lines(
        store,
        (OCT_5, "xo_1", 100_000),  # line 2: matched
        (OCT_6, "MANUAL-1", 50_000),  # line 3: resolved below
        (OCT_7, "MANUAL-2", 70_000),  # line 4: accepted, then corrected to 75.000
        (OCT_8, "MANUAL-3", 80_000),  # line 5: accepted, then reopened
        (OCT_5, "xo_1", 100_000),  # line 6: booked twice, accepted
    ).ledger_id
    run_id = reconcile(store, OCT, by=OPERATOR).run_id
    reviews.record(store, [f"L:{first}:3"], "resolved", OPERATOR, "bank transfer, no gateway")
    reviews.record(
        store,
        [f"L:{first}:4", f"L:{first}:5", f"D:{first}:6"],
        "accepted",
        OPERATOR,
        "checked",
    )
    reviews.record(store, [f"L:{first}:5"], "reopened", operator("budi"), run_id=run_id)

    corrected = import_lines(  # the same books, re-ordered, one amount corrected
        store,
        (OCT_6, "MANUAL-1", 50_000),
        (OCT_5, "xo_1", 100_000),
        (OCT_7, "MANUAL-2", 75_000),
        (OCT_8, "MANUAL-3", 80_000),
        (OCT_5, "xo_1", 100_000),
        corrects=first,
    )
    second = corrected.ledger_id
    assert corrected.correction == Correction(first, second, 4, 1, 2)
    assert corrected.shared == []  # the ledger it repeats is gone
    assert "2 decisions on unchanged lines carried over" in corrected.line()
    assert list_ledgers(store)["id"].to_list() == [second]

    rerun = reconcile(store, OCT, by=OPERATOR).run_id
    assert statuses(store, rerun) == {
        f"L:{second}:2": (
            "resolved",
            f"From ledger {first} line 3 (ana): bank transfer, no gateway",
        ),
        f"L:{second}:4": ("open", None),  # its amount changed: decided afresh
        f"L:{second}:5": ("open", None),  # it was open again when the ledger was corrected
        f"D:{second}:6": ("accepted", f"From ledger {first} line 6 (ana): checked"),
    }
    carried = reviews.history(store, f"L:{second}:2").row(0, named=True)
    assert (carried["reviewer"], carried["run_id"]) == ("ana", None)  # who imported the correction
    assert reviews.history(store, f"L:{first}:3").height == 1  # the old history stays


def test_runs_on_either_side_of_corrections_compare_line_by_line(store: Store) -> None:
    add_orders(store, order("xo_1", 100_000, OCT_5))
    first = import_lines(
        store, (OCT_5, "xo_1", 100_000), (OCT_6, "MANUAL-1", 50_000), (OCT_7, "MANUAL-2", 70_000)
    ).ledger_id
    before = reconcile(store, OCT, by=OPERATOR).run_id
    second = import_lines(  # re-ordered; MANUAL-2 booked into the gateway's order at last
        store, (OCT_7, "xo_gone", 70_000), (OCT_6, "MANUAL-1", 50_000), (OCT_5, "xo_1", 100_000),
        corrects=first,
    ).ledger_id  # fmt: skip
    middle = reconcile(store, OCT, by=OPERATOR).run_id
    # Only the changed line moved: MANUAL-1 is the same result under its new key.
    assert run_changes(store, before, middle).rows() == [
        ("missing_in_provider", None, 1),  # MANUAL-2 as it was
        (None, "missing_in_provider", 1),  # the corrected line, xo_gone
    ]
    third = import_lines(  # corrected again: MANUAL-1 moves a second time, a line is added
        store, (OCT_5, "xo_1", 100_000), (OCT_7, "xo_gone", 70_000), (OCT_6, "MANUAL-1", 50_000),
        (OCT_8, "CASH-8", 8_000), corrects=second,
    ).ledger_id  # fmt: skip
    after = reconcile(store, OCT, by=OPERATOR).run_id
    assert run_changes(store, middle, after).rows() == [(None, "missing_in_provider", 1)]
    gone = moved_results(store, before, after, "missing_in_provider", None)
    assert gone["result_key"].to_list() == [f"L:{first}:4"]  # MANUAL-2, as it was then
    assert run_changes(store, before, after).rows() == [
        (None, "missing_in_provider", 2),
        ("missing_in_provider", None, 1),
    ]
    assert list_ledgers(store)["id"].to_list() == [third]


def test_correcting_after_the_import_keeps_decisions_already_made_on_the_new_lines(
    store: Store,
) -> None:
    first = add_ledger(store, (OCT_6, "MANUAL-1", 50_000), (OCT_7, "MANUAL-2", 70_000))
    reconcile(store, OCT, by=OPERATOR)
    reviews.record(store, [f"L:{first}:2", f"L:{first}:3"], "accepted", OPERATOR, "checked")
    second = add_ledger(  # the same two lines and one booked late
        store, (OCT_6, "MANUAL-1", 50_000), (OCT_7, "MANUAL-2", 70_000), (OCT_8, "LATE", 5_000)
    )
    run_id = reconcile(store, replace(OCT, ledger_ids=(second,)), by=OPERATOR).run_id
    reviews.record(store, [f"L:{second}:3"], "resolved", operator("budi"), "paid in cash")

    assert correct_ledger(store, first, second, operator("budi")) == Correction(
        first, second, 2, 0, 1
    )
    assert statuses(store, run_id)[f"L:{second}:3"] == ("resolved", "paid in cash")
    assert statuses(store, run_id)[f"L:{second}:2"][0] == "accepted"


def test_a_correction_that_cannot_be_made_changes_nothing(store: Store) -> None:
    first = add_ledger(store, (OCT_6, "MANUAL-1", 50_000))
    with pytest.raises(LedgerError, match="there is no ledger 99"):
        import_lines(store, (OCT_6, "MANUAL-1", 55_000), corrects=99)
    assert list_ledgers(store)["id"].to_list() == [first]  # the new file did not land either
    with pytest.raises(LedgerError, match=f"ledger {first} cannot correct itself"):
        correct_ledger(store, first, first, OPERATOR)
    assert store.scalar("SELECT count(*) FROM ledger_lines") == 1


ledger_lines = st.lists(
    st.tuples(st.integers(10, 12), st.sampled_from(["A", "B", ""]), st.sampled_from([1, 2])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger_lines, ledger_lines, st.data())
def test_a_correction_pairs_lines_copy_by_copy_and_carries_only_settled_decisions(
    old_lines: list[tuple[int, str, int]], new_lines: list[tuple[int, str, int]], data: Any
) -> None:
    assume(new_lines != old_lines)  # the very same file is refused, not a correction
    as_lines = [(date(2026, 10, d), ref, amount * 1_000) for d, ref, amount in old_lines]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "c.duckdb")
        first = import_lines(store, *as_lines).ledger_id
        run_id = reconcile(
            store, OCT, by=OPERATOR
        ).run_id  # no orders: every line is missing at a provider
        decided = data.draw(st.lists(st.sampled_from(range(len(old_lines))), unique=True))
        for i in decided:
            reviews.record(store, [f"L:{first}:{i + 2}"], "accepted", OPERATOR, run_id=run_id)
        reopened = data.draw(st.sampled_from([None, *decided]))
        if reopened is not None:  # line index 0 is a real choice, not "none"
            reviews.record(store, [f"L:{first}:{reopened + 2}"], "reopened", OPERATOR)
        new = [(date(2026, 10, d), ref, amount * 1_000) for d, ref, amount in new_lines]
        correction = import_lines(store, *new, corrects=first)

        # The model: the k-th copy of a line in the old file is the k-th copy in the new one.
        def copies(lines: list[tuple[date, str, int]]) -> dict[tuple[object, ...], int]:
            seen: dict[tuple[date, str, int], int] = {}
            out: dict[tuple[object, ...], int] = {}
            for line_no, line in enumerate(lines, start=2):
                seen[line] = seen.get(line, 0) + 1
                out[(*line, seen[line])] = line_no
            return out

        old_copies, new_copies = copies(as_lines), copies(new)
        pairs = {old_copies[c]: new_copies[c] for c in old_copies.keys() & new_copies.keys()}
        settled = {i + 2 for i in decided} - ({reopened + 2} if reopened is not None else set())
        assert correction.correction == Correction(
            first,
            correction.ledger_id,
            len(pairs),
            len(as_lines) - len(pairs),
            len(settled & pairs.keys()),
        )
        carried = store.query(
            "SELECT result_key FROM reviews WHERE result_key LIKE $k ORDER BY ALL",
            {"k": f"L:{correction.ledger_id}:%"},
        )["result_key"].to_list()
        second = correction.ledger_id
        assert carried == sorted(f"L:{second}:{pairs[o]}" for o in settled & pairs.keys())
        store.close()


def test_results_are_paged_filtered_and_searchable(reconciled: tuple[Store, int]) -> None:
    store, run_id = reconciled
    page, total = results_page(store, run_id, offset=0, limit=3)
    assert (page.height, total) == (3, 8)  # 6 orders, 1 duplicate, 1 lone line
    second, _ = results_page(store, run_id, offset=3, limit=3)
    assert not set(page["result_key"]) & set(second["result_key"])
    found, n = results_page(store, run_id, ResultFilter(search="fee"))
    assert n == 1 and found["order_id"].to_list() == ["xo_fee"]
    # An amount as a reviewer types it finds either side: the ledger's 97.500, the order's 100k.
    for typed in ("97.500", "Rp 97.500,00", "100.000"):
        found, n = results_page(store, run_id, ResultFilter(search=typed))
        assert found["order_id"].to_list() == ["xo_fee"], typed
    assert results_page(store, run_id, ResultFilter(search="12.345"))[1] == 1  # the lone line
    detail = result_detail(store, run_id, "O:xepeng:xo_fee")
    assert detail["order"]["raw"] == '{"id": "xo_fee"}'
    assert detail["line"]["amount"] == Decimal("97500.00")


def test_search_finds_what_was_typed_not_a_pattern(store: Store) -> None:
    oct_5 = date(2026, 10, 5)
    add_orders(
        store,
        order("ord_1", 10_000, oct_5, merchant_ref="INV-100%"),
        order("ordX1", 20_000, oct_5, merchant_ref="INV-1000"),
    )
    add_ledger(store, (oct_5, "ord_1", 10_000), (oct_5, "ordX1", 20_000))
    run_id = reconcile(store, ReconcileParams(*OCTOBER), by=OPERATOR).run_id
    for typed in ("ord_1", "ORD_1", "inv-100%"):
        found, _ = results_page(store, run_id, ResultFilter(search=typed))
        assert found["order_id"].to_list() == ["ord_1"], typed
        assert find_orders(store, typed)["order_id"].to_list() == ["ord_1"], typed
    assert results_page(store, run_id, ResultFilter(search="%"))[1] == 1
    assert find_orders(store, "ord")["order_id"].sort().to_list() == ["ordX1", "ord_1"]


def test_csv_export_columns_values_and_totals_match_the_store(
    reconciled: tuple[Store, int], tmp_path: Path
) -> None:
    store, run_id = reconciled
    rows = write_export(store, run_id, "all", tmp_path / "all.csv")
    frame = pl.read_csv(tmp_path / "all.csv", infer_schema=False)
    assert tuple(frame.columns) == EXPORT_COLUMNS and frame.height == rows == 8
    fee = frame.filter(pl.col("order_id") == "xo_fee").row(0, named=True)
    assert (fee["order_amount"], fee["ledger_amount"], fee["difference"]) == (
        "100000.00",
        "97500.00",
        "-2500.00",
    )
    assert fee["order_date"] == "2026-10-06" and fee["result"] == "amount_mismatch"
    totals = class_totals(store, run_id)
    for col in ("order_amount", "ledger_amount"):
        exported = sum((Decimal(v) for v in frame[col].drop_nulls()), Decimal(0))
        assert exported == sum(totals[col].to_list())
    assert dict(frame["result"].value_counts().rows()) == {
        r: c for r, c in totals.select("result", "count").rows() if c
    }


def test_kinds_select_their_rows_and_text_cells_cannot_run_as_formulas(
    reconciled: tuple[Store, int],
) -> None:
    store, run_id = reconciled
    exceptions = csv_rows(export_bytes(store, run_id, "exceptions"))
    assert set(exceptions["result"]) <= set(EXCEPTIONS) and exceptions.height == 5
    matched = csv_rows(export_bytes(store, run_id, "matched"))
    assert matched["order_id"].to_list() == ["xo_ok", "xo_dup"]
    lone = exceptions.filter(pl.col("result") == "missing_in_provider").row(0, named=True)
    assert lone["ledger_reference"] == '\'=HYPERLINK("http://x")'


def test_no_cell_from_outside_can_run_as_a_formula_in_either_format(store: Store) -> None:
    # A provider's currency, a ledger's name and description, a reviewer's name and note on
    # an amount mismatch.
    add_orders(store, order("xo_1", 10_000, date(2026, 10, 5), currency="=1+2"))
    import_ledger(
        store,
        b"Tanggal,Referensi,Jumlah,Keterangan\n2026-10-05,xo_1,9000,http://example.co.id\n",
        "ledger.csv",
        ImportOptions(name='=HYPERLINK("http://x","y")'),
        by=OPERATOR,
    )
    run_id = reconcile(store, OCT, by=operator("=5+6")).run_id
    reviews.record(store, ["O:xepeng:xo_1"], "accepted", operator("+ana"), "@SUM(A1)", run_id)
    (row,) = csv_rows(export_bytes(store, run_id, "all")).iter_rows(named=True)
    assert (row["currency"], row["review_note"]) == ("'=1+2", "'@SUM(A1)")
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(store, run_id, "all", "xlsx")))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f" or c.hyperlink]
    about = {row[0].value: row[1].value for row in book["run"].iter_rows(min_row=2)}
    assert about["reconciled by"] == "'=5+6"
    assert about["ledger 1"].startswith("'=HYPERLINK(")
    assert book["reviews"]["J2"].value == "'+ana"  # the reviewer column
    assert "http://example.co.id" in [c.value for c in cells]  # text, not a link


def test_a_csv_export_is_csv_whatever_the_file_is_called(
    reconciled: tuple[Store, int], tmp_path: Path
) -> None:
    store, run_id = reconciled
    # DuckDB would pick the format by the extension (and fail on .xlsx or .parquet).
    for name in ("all.xlsx", "all.parquet", "all.json", "all.txt"):
        assert write_export(store, run_id, "all", tmp_path / name, "csv") == 8
        assert csv_rows((tmp_path / name).read_bytes()).columns == list(EXPORT_COLUMNS)
    with pytest.raises(ExportError, match="is a folder: give a file name, such as"):
        write_export(store, run_id, "all", tmp_path, "csv")


def test_summary_totals_equal_the_results(reconciled: tuple[Store, int]) -> None:
    store, run_id = reconciled
    summary = csv_rows(export_bytes(store, run_id, "summary"))
    by_provider = summary.filter(pl.col("section") == "provider")
    by_day = summary.filter(pl.col("section") == "day")
    per_class = summary.filter((pl.col("section") == "total") & (pl.col("result") != "all"))
    for part in (by_provider, by_day, per_class):
        assert sum(int(c) for c in part["count"]) == 8
        assert sum(Decimal(v) for v in part["ledger_amount"].drop_nulls()) == Decimal("399845.00")
    # The sections come in order: totals first, ending with everything in one row.
    assert summary["section"].unique(maintain_order=True).to_list() == ["total", "provider", "day"]
    grand = summary.filter(pl.col("result") == "all").row(0, named=True)
    assert (grand["count"], grand["ledger_amount"], grand["open"]) == ("8", "399845.00", "5")


def test_the_summary_counts_open_and_decided_exceptions(reconciled: tuple[Store, int]) -> None:
    store, run_id = reconciled
    reviews.record(store, ["O:xepeng:xo_fee"], "resolved", OPERATOR, "MDR booked net", run_id)
    summary = csv_rows(export_bytes(store, run_id, "summary"))
    mismatch = summary.filter(
        (pl.col("section") == "total") & (pl.col("result") == "amount_mismatch")
    ).row(0, named=True)
    assert (mismatch["open"], mismatch["decided"]) == ("0", "1")
    grand = summary.filter(pl.col("result") == "all").row(0, named=True)
    assert (grand["open"], grand["decided"]) == ("4", "1")


def test_export_names_carry_the_run() -> None:
    from rekon.reports import export_name

    oct_ = (date(2026, 10, 1), date(2026, 10, 31))
    assert export_name(*oct_, "exceptions", "csv", 3) == "rekon-2026-10-run3-exceptions.csv"
    assert export_name(*oct_, "all", "xlsx", 2) != export_name(*oct_, "all", "xlsx", 3)


def test_the_reviews_export_is_the_audit_trail_of_every_decision(
    reconciled: tuple[Store, int],
) -> None:
    store, run_id = reconciled
    assert csv_rows(export_bytes(store, run_id, "reviews")).height == 0
    reviews.record(store, ["O:xepeng:xo_fee"], "accepted", OPERATOR, run_id=run_id)
    reviews.record(store, ["O:xepeng:xo_fee"], "reopened", operator("budi"), "=looks wrong", run_id)
    reviews.record(store, ["O:xepeng:xo_fee"], "resolved", OPERATOR, "MDR 2.5% booked net", run_id)
    reviews.record(store, ["O:xepeng:xo_lost"], "accepted", OPERATOR, run_id=run_id)
    trail = csv_rows(export_bytes(store, run_id, "reviews"))
    assert tuple(trail.columns) == REVIEW_COLUMNS
    assert trail.select("result_key", "seq", "decision", "note", "reviewer").rows() == [
        ("O:xepeng:xo_fee", "1", "accepted", None, "ana"),
        ("O:xepeng:xo_fee", "2", "reopened", "'=looks wrong", "budi"),  # cannot run as a formula
        ("O:xepeng:xo_fee", "3", "resolved", "MDR 2.5% booked net", "ana"),
        ("O:xepeng:xo_lost", "1", "accepted", None, "ana"),
    ]
    assert set(trail["result"]) == {"amount_mismatch", "missing_in_ledger"}
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in trail["reviewed_at_utc"]
    )
    assert export_rows(store, run_id, "reviews") == 4
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(store, run_id, "reviews", "xlsx")))
    sheet = book["reviews"]
    assert [c.value for c in sheet[1]] == list(REVIEW_COLUMNS)
    assert isinstance(sheet.cell(2, REVIEW_COLUMNS.index("reviewed_at_utc") + 1).value, datetime)


def test_xlsx_has_a_sheet_per_kind_with_typed_numbers(reconciled: tuple[Store, int]) -> None:
    store, run_id = reconciled
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(store, run_id, "all", "xlsx")))
    assert book.sheetnames == [*KINDS, "run"]
    # Every data sheet keeps its header in view and offers a filter on each column.
    for name in ("all", "exceptions", "summary"):
        assert book[name].freeze_panes == "A2", name
        (data,) = book[name].tables.values()  # polars writes each sheet as an Excel table
        assert data.ref.startswith("A1:") and data.autoFilter is not None, name
    # Whoever receives the workbook can tell what produced it: the run and the ledger file.
    about = {row[0].value: row[1].value for row in book["run"].iter_rows(min_row=2)}
    (ledger,) = list_ledgers(store).iter_rows(named=True)
    assert about == {
        "run": str(run_id),
        "period (business dates, Asia/Jakarta)": "2026-10-01 to 2026-10-31",
        "amount tolerance": "0.00",
        "date window (days)": "3",
        "ledgers chosen": "all",
        "reconciled at (UTC)": about["reconciled at (UTC)"],
        "reconciled by": "ana",
        f"ledger {ledger['id']}": f"{ledger['name']} (file {ledger['file_name']}, sha256 "
        f"{store.scalar('SELECT content_hash FROM ledgers')})",
        "signed off": "no",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", about["reconciled at (UTC)"])
    sheet = book["all"]
    header = [c.value for c in sheet[1]]
    assert tuple(header) == EXPORT_COLUMNS
    col = header.index("order_amount")
    amounts = [row[col].value for row in sheet.iter_rows(min_row=2) if row[col].value is not None]
    assert all(isinstance(a, int | float) for a in amounts)
    assert Decimal(str(sum(amounts))) == sum(class_totals(store, run_id)["order_amount"].to_list())


def test_xlsx_refuses_more_rows_than_a_sheet_holds_and_writes_nothing(
    reconciled: tuple[Store, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rekon.reports

    store, run_id = reconciled
    rows = write_export(store, run_id, "all", tmp_path / "all.csv")
    monkeypatch.setattr(rekon.reports, "XLSX_MAX_ROWS", rows - 1)  # a sheet one row short
    shown = f"has {rows:,} rows and an Excel sheet holds {rows - 1:,}; export it as CSV".replace(
        ",", "."
    )
    with pytest.raises(ExportError, match=shown):
        write_export(store, run_id, "all", tmp_path / "all.xlsx", "xlsx")
    assert not (tmp_path / "all.xlsx").exists()
    monkeypatch.setattr(rekon.reports, "XLSX_MAX_ROWS", rows)
    assert write_export(store, run_id, "all", tmp_path / "all.xlsx", "xlsx") == rows


def test_unknown_export_kinds_formats_and_results_are_refused(
    reconciled: tuple[Store, int], tmp_path: Path
) -> None:
    store, run_id = reconciled
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="unknown format 'pdf': use csv or xlsx"):
        write_export(store, run_id, "all", out / "x.pdf", "pdf")
    with pytest.raises(ExportError, match="unknown export kind 'everything'"):
        write_export(store, run_id, "everything", out / "x.csv")
    assert not out.exists()  # nothing written, not even the folder
    with pytest.raises(RekonError, match=f"no result O:xepeng:nope in run {run_id}"):
        result_detail(store, run_id, "O:xepeng:nope")


def test_file_names_carry_the_period() -> None:
    assert (
        export_name(date(2026, 1, 1), date(2026, 1, 31), "exceptions", "csv")
        == "rekon-2026-01-exceptions.csv"
    )
    assert (
        export_name(date(2026, 1, 5), date(2026, 1, 31), "all", "xlsx")
        == "rekon-2026-01-05_2026-01-31-all.xlsx"
    )


def test_every_class_is_listed_even_when_empty(reconciled: tuple[Store, int]) -> None:
    store, run_id = reconciled
    totals = class_totals(store, run_id)
    assert totals["result"].to_list() == list(RESULTS)
    assert totals.filter(pl.col("result") == "ambiguous")["count"].item() == 0


def test_a_range_inside_a_reconciled_month_reads_that_month_s_run(
    reconciled: tuple[Store, int],
) -> None:
    from rekon.results import class_totals, covering_runs

    store, run_id = reconciled
    inside = (date(2026, 10, 6), date(2026, 10, 8))
    assert covering_runs(store, *inside)["id"].to_list() == [run_id]
    assert covering_runs(store, date(2026, 9, 30), date(2026, 10, 2)).is_empty()
    page, total = results_page(store, run_id, ResultFilter(within=inside))
    assert {d for d in page["anchor_date"]} <= {date(2026, 10, d) for d in (6, 7, 8)}
    assert total == 3  # xo_fee (6th), xo_lost (7th), xo_exp (8th)
    totals = class_totals(store, run_id, within=inside)
    assert int(totals["count"].sum()) == 3
