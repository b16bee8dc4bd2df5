"""Closing a month: sign-off on a run, the lock it puts on every write touching the period, the
lapse a changed order brings (fetched over HTTP from the sandbox), reopening, four eyes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from rekon import closing, pairing, reviews, rules, suggestions
from rekon.access import AccessDenied, operator
from rekon.closing import ClosingError, OpenExceptions
from rekon.fetching import OrderSource, fetch_orders
from rekon.ledger import ImportOptions, correct_ledger, delete_ledger, import_ledger
from rekon.locks import PeriodLocked
from rekon.matching import ReconcileParams, reconcile
from rekon.reports import run_sheet
from rekon.sandbox.server import RunningSandbox
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import (
    APPROVER,
    OPERATOR,
    REVIEWER,
    VIEWER,
    add_ledger,
    add_orders,
    fingerprint,
    import_lines,
    order,
)

OCT = ReconcileParams(*OCTOBER)
D5, D6 = date(2026, 10, 5), date(2026, 10, 6)


@pytest.fixture
def october(store: Store) -> tuple[Store, int, int]:
    """October with one matched order, one missing from the ledger, one unknown line; and a
    November order and line outside it. Returns the store, the run and the ledger."""
    add_orders(
        store,
        order("xo_ok", 100_000, D5),
        order("xo_lost", 50_000, D5),
        order("xo_nov", 70_000, date(2026, 11, 3)),
    )
    ledger = add_ledger(store, (D5, "xo_ok", 100_000), (D6, "BCA 77", 25_000))
    run = reconcile(store, OCT, OPERATOR)
    return store, run.run_id, ledger


def signed(store: Store, run_id: int) -> closing.SignOff:
    return closing.signoff(
        store, *OCTOBER, run_id, APPROVER, "two items carried to November", confirm_open=True
    )


def test_a_sign_off_with_open_exceptions_needs_a_confirmation_and_a_note(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, _ = october
    with pytest.raises(OpenExceptions, match=r"2 exception\(s\) of run \d+ are still open") as e:
        closing.signoff(store, *OCTOBER, run_id, APPROVER)
    assert e.value.open_count == 2
    with pytest.raises(OpenExceptions):  # confirmed, but without a note
        closing.signoff(store, *OCTOBER, run_id, APPROVER, confirm_open=True)
    made = signed(store, run_id)
    assert (made.version, made.open_exceptions, made.signed_by) == (1, 2, APPROVER.name)
    assert made.classes["matched"] == {
        "count": 1,
        "order_amount": "100000.00",
        "ledger_amount": "100000.00",
    }
    assert [entry["sha256"] for entry in made.ledgers] == [
        store.scalar("SELECT content_hash FROM ledgers")
    ]
    assert made.orders == 2 and len(made.fingerprint) == 64  # November's order is not in it
    assert closing.status(store, *OCTOBER).state == "signed off"


def test_with_every_exception_decided_or_matched_by_hand_no_confirmation_is_needed(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, ledger = october
    reviews.record(store, [f"L:{ledger}:3"], "resolved", REVIEWER, "bank interest", run_id)
    pairing.add_match(store, ["O:xepeng:xo_lost"], [f"L:{ledger}:3"], REVIEWER, reason="other",
                      note="paid with the interest line")  # fmt: skip
    made = closing.signoff(store, *OCTOBER, run_id, APPROVER)
    assert made.open_exceptions == 0


def test_a_sign_off_stands_on_a_run_of_exactly_that_period(
    october: tuple[Store, int, int],
) -> None:
    store, _, _ = october
    first_half = reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 15)), OPERATOR)
    with pytest.raises(ClosingError, match="covered 1–15 Oct 2026, not October 2026"):
        closing.signoff(store, *OCTOBER, first_half.run_id, APPROVER, "x", confirm_open=True)
    with pytest.raises(ClosingError, match="no finished reconciliation run 999"):
        closing.signoff(store, *OCTOBER, 999, APPROVER)


def test_four_eyes_keeps_whoever_decided_from_signing_off(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, ledger = october
    budi_decides = operator(APPROVER.name.upper())  # the same person, however it is typed
    reviews.record(store, [f"L:{ledger}:3"], "accepted", budi_decides, None, run_id)
    with pytest.raises(ClosingError, match=r"four eyes: budi@example\.co\.id made decisions"):
        signed(store, run_id)
    assert closing.current(store, *OCTOBER) is None
    # A one-person team turns it off.
    made = closing.signoff(
        store, *OCTOBER, run_id, APPROVER, "alone", confirm_open=True, four_eyes=False
    )
    assert made.open_exceptions == 1


def test_only_an_approver_signs_off_or_reopens(october: tuple[Store, int, int]) -> None:
    store, run_id, _ = october
    for who in (VIEWER, REVIEWER):
        with pytest.raises(AccessDenied, match=f"is a {who.role.label} and cannot sign off"):
            closing.signoff(store, *OCTOBER, run_id, who, "x", confirm_open=True)
    signed(store, run_id)
    with pytest.raises(AccessDenied, match="cannot reopen a period: that needs the approver"):
        closing.reopen(store, *OCTOBER, REVIEWER, "late refund")


def _writes(store: Store, run_id: int, ledger: int) -> dict[str, Callable[[], Any]]:
    """Every write that touches October's dates, as a reviewer would make it."""
    text = b"Tanggal;Referensi;Jumlah\n30/10/2026;LATE-1;10.000\n"
    return {
        "run": lambda: reconcile(store, OCT, REVIEWER),
        "run of a range inside": lambda: reconcile(
            store, ReconcileParams(date(2026, 10, 20), date(2026, 11, 5)), REVIEWER
        ),
        "decision": lambda: reviews.record(
            store, [f"L:{ledger}:3"], "accepted", REVIEWER, None, run_id
        ),
        "manual match": lambda: pairing.add_match(
            store, ["O:xepeng:xo_lost"], [f"L:{ledger}:3"], REVIEWER, reason="other", note="n"
        ),
        "break": lambda: pairing.add_break(
            store, "O:xepeng:xo_ok", f"L:{ledger}:2", REVIEWER, "not it"
        ),
        "suggestion declined": lambda: suggestions.decline(
            store,
            suggestions.Suggestion(
                50, ("O:xepeng:xo_lost",), (f"L:{ledger}:3",), "", Decimal(0), False
            ),
            REVIEWER,
        ),
        "ledger import": lambda: import_ledger(store, text, "late.csv", by=REVIEWER),
        "ledger deletion": lambda: delete_ledger(store, ledger, REVIEWER),
        "ledger correction": lambda: correct_ledger(store, ledger, _november(store), REVIEWER),
    }


def _november(store: Store) -> int:
    """A ledger outside October (imported before the lock) to correct October's with."""
    found = store.scalar("SELECT id FROM ledgers WHERE name = 'november'")
    assert found is not None
    return int(found)


def test_a_signed_off_period_refuses_every_write_touching_its_dates(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, ledger = october
    text = b"Tanggal;Referensi;Jumlah\n03/11/2026;xo_nov;70.000\n"
    import_ledger(store, text, "nov.csv", import_options("november"), by=OPERATOR)
    made = pairing.add_match(store, ["O:xepeng:xo_nov"], [f"L:{_november(store)}:2"], REVIEWER)
    signed(store, run_id)
    before = fingerprint(store, leave_out=())
    for name, write in _writes(store, run_id, ledger).items():
        with pytest.raises(PeriodLocked) as refused:
            write()
        assert str(refused.value).startswith(
            "October 2026 is signed off (by budi@example.co.id at "
        ), name
        assert "An approver can reopen it with a reason" in str(refused.value), name
    assert fingerprint(store, leave_out=()) == before  # nothing was written, not even a trail row
    # November is not locked: its match can be taken back, and a November run goes ahead.
    pairing.remove(store, made.id, REVIEWER, "wrong line")
    reconcile(store, ReconcileParams(date(2026, 11, 1), date(2026, 11, 30)), REVIEWER)
    # Reopened with a reason, October takes writes again; its history keeps both.
    closing.reopen(store, *OCTOBER, APPROVER, "late refund on 30 October")
    writes = _writes(store, run_id, ledger)
    for name in ("run", "decision", "ledger import", "ledger correction"):
        writes[name]()
    history = closing.status(store, *OCTOBER).history
    assert history["event"].to_list() == ["reopened", "signed off"]
    assert closing.status(store, *OCTOBER).state == "reopened"


def import_options(name: str) -> ImportOptions:
    return ImportOptions(name=name, date_format="%d/%m/%Y")


def test_an_order_update_at_xepeng_is_refused_before_anything_is_sent(
    october: tuple[Store, int, int],
) -> None:
    from rekon.order_updates import update_xepeng_order

    store, run_id, _ = october
    signed(store, run_id)

    class Untouchable:  # any call to Xepeng would fail the test
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"Xepeng was called: {name}")

    with pytest.raises(PeriodLocked, match="correcting an order there is refused"):
        update_xepeng_order(store, Untouchable(), "xo_ok", REVIEWER, description="x")  # type: ignore[arg-type]


def test_rules_still_change_for_later_runs_while_a_period_is_locked(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, _ = october
    signed(store, run_id)
    rules.add_rule(store, rules.Rule("interest", "reference", "BCA", False, "excluded"), REVIEWER)
    rules.remove_rule(store, "interest", REVIEWER)


def test_signing_off_again_after_a_reopen_makes_a_new_version(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, _ = october
    assert signed(store, run_id).version == 1
    with pytest.raises(PeriodLocked, match="signing off again there is refused"):
        signed(store, run_id)
    with pytest.raises(ClosingError, match="needs a reason"):
        closing.reopen(store, *OCTOBER, APPROVER, "  ")
    closing.reopen(store, *OCTOBER, APPROVER, "a late refund")
    with pytest.raises(ClosingError, match="October 2026 is not signed off"):
        closing.reopen(store, *OCTOBER, APPROVER, "again")
    again = closing.signoff(
        store, *OCTOBER, reconcile(store, OCT, REVIEWER).run_id, APPROVER, "v2", confirm_open=True
    )
    assert again.version == 2
    assert closing.status(store, *OCTOBER).history["event"].to_list() == [
        "signed off",
        "reopened",
        "signed off",
    ]


def test_a_changed_order_fetched_later_lapses_the_sign_off(
    store: Store, sandbox: RunningSandbox, clients: dict[str, OrderSource]
) -> None:
    fetch_orders(store, clients, *OCTOBER, by=REVIEWER)
    add_ledger(store, (D5, "nothing", 1_000))
    run = reconcile(store, OCT, REVIEWER)
    made = closing.signoff(store, *OCTOBER, run.run_id, APPROVER, "n", confirm_open=True)
    # Nothing changed at the providers: a re-fetch lands and lapses nothing.
    assert fetch_orders(store, clients, *OCTOBER, by=REVIEWER).lapsed == 0
    paid = store.query(
        "SELECT order_id, amount FROM orders WHERE provider = 'xepeng' AND status = 'paid'"
        " ORDER BY order_id LIMIT 1"
    ).row(0)
    sandbox.state.set_status(paid[0], "refunded")  # a late refund at Xepeng
    summary = fetch_orders(store, clients, *OCTOBER, by=REVIEWER)
    assert summary.lapsed == 1 and "LAPSED" in summary.line()
    status = closing.status(store, *OCTOBER)
    assert status.state == "lapsed" and status.current is not None
    assert status.current.id == made.id  # still the sign-off, still locking the month
    (change,) = status.changes.iter_rows(named=True)
    assert (change["order_id"], change["old_status"], change["new_status"]) == (
        paid[0],
        "paid",
        "refunded",
    )
    assert change["old_amount"] == change["new_amount"] == paid[1]
    assert any(line.startswith("LAPSED: 1 order(s) changed") for line in status.lines())
    # The provider's change is on the trail too, old and new.
    detail = store.scalar(
        "SELECT detail FROM audit_log WHERE action = 'order.changed' AND subject = ?",
        [f"xepeng:{paid[0]}"],
    )
    assert json.loads(detail)["status"] == ["paid", "refunded"]
    with pytest.raises(PeriodLocked):
        reconcile(store, OCT, REVIEWER)
    # The fingerprint a new sign-off records differs from the lapsed one's.
    closing.reopen(store, *OCTOBER, APPROVER, "the refund is booked in November")
    again = closing.signoff(
        store, *OCTOBER, reconcile(store, OCT, REVIEWER).run_id, APPROVER, "v2", confirm_open=True
    )
    assert again.fingerprint != made.fingerprint and again.version == 2


def test_a_new_order_fetched_into_a_signed_off_month_lapses_it_too(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, _ = october
    signed(store, run_id)

    class Late:
        provider = "xepeng"

        def iter_orders(self, start: date, end: date, progress: Any = None) -> Any:
            yield order("xo_late", 5_000, date(2026, 10, 31))

        def close(self) -> None: ...

        def redact(self, text: str) -> str:
            return text

    fetch_orders(store, {"xepeng": Late()}, *OCTOBER, by=REVIEWER)
    (change,) = closing.status(store, *OCTOBER).changes.iter_rows(named=True)
    assert (change["order_id"], change["old_amount"], change["new_amount"]) == (
        "xo_late",
        None,
        Decimal("5000.00"),
    )


def test_the_run_sheet_and_the_sidecar_carry_the_sign_off(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, _ = october
    assert dict(run_sheet(store, run_id).iter_rows())["signed off"] == "no"
    made = signed(store, run_id)
    sheet = dict(run_sheet(store, run_id).iter_rows())
    assert sheet["signed off"] == "yes"
    assert sheet["signed off by"] == APPROVER.name and sheet["sign-off version"] == "1"
    assert sheet["orders fingerprint (sha256)"] == made.fingerprint
    sidecar = json.loads(made.sidecar_json())
    assert sidecar["signed_by"] == APPROVER.name and sidecar["run_id"] == run_id
    assert sidecar["classes"]["missing_in_ledger"]["count"] == 1
    assert sidecar["orders_fingerprint_sha256"] == made.fingerprint


def test_a_sign_off_import_ledger_is_refused_when_one_line_falls_in_the_locked_month(
    october: tuple[Store, int, int],
) -> None:
    store, run_id, _ = october
    signed(store, run_id)
    lines = ((date(2026, 11, 2), "x", 1_000), (date(2026, 10, 31), "y", 2_000))
    with pytest.raises(PeriodLocked, match="importing ledger lines there is refused"):
        import_lines(store, *lines)
    assert store.scalar("SELECT count(*) FROM ledgers") == 1
