"""Roles and the audit trail: who may do what (checked in the library call), every action on the
trail, and the trail only ever growing."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rekon import audit, closing, pairing, reviews, rules, suggestions
from rekon.access import AccessConfigError, AccessDenied, AccessList, Actor, Role, operator
from rekon.config import ConfigError, Settings, check_serving, load_settings
from rekon.fetching import OrderSource, fetch_orders
from rekon.ledger import (
    ColumnMapping,
    ImportOptions,
    SavedMapping,
    correct_ledger,
    delete_ledger,
    import_ledger,
    save_mapping,
)
from rekon.matching import ReconcileParams, reconcile
from rekon.order_updates import update_xepeng_order
from rekon.providers.xepeng import XepengClient
from rekon.sandbox.server import RunningSandbox
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import APPROVER, OPERATOR, REVIEWER, VIEWER, add_ledger

ROOT = Path(__file__).resolve().parents[1]
OCT = ReconcileParams(*OCTOBER)
D5 = date(2026, 10, 5)
MAPPING = SavedMapping(ColumnMapping(date="Tanggal", amount="Jumlah"))
ACCESS = AccessList.parse(
    {
        "viewer": ["*@example.co.id"],
        "reviewer": ["ana@example.co.id"],
        "approver": ["budi@example.co.id"],
        "admin": ["it@example.co.id", "*@rekon.internal"],
    }
)


def test_roles_come_from_exact_emails_or_a_whole_domain_and_the_highest_wins() -> None:
    assert ACCESS.role_for("Ana@Example.co.id ") is Role.REVIEWER  # also on the domain's list
    assert ACCESS.role_for("budi@example.co.id") is Role.APPROVER
    assert ACCESS.role_for("siti@example.co.id") is Role.VIEWER
    assert ACCESS.role_for("ops@rekon.internal") is Role.ADMIN
    assert ACCESS.role_for("ana@example.co.id.evil.com") is None
    assert ACCESS.role_for("mallory@evil.com") is None
    assert ACCESS.role_for("") is None and ACCESS.role_for(None) is None
    assert ACCESS.admins() == ["it@example.co.id"]  # whom the no-access page names


@pytest.mark.parametrize(
    ("section", "why"),
    [
        ({"owner": ["a@b.co"]}, "the roles are viewer, reviewer, approver and admin"),
        ({"viewer": "*@*"}, "give an email"),
        ({"viewer": [1]}, "must be a list of emails"),
        ({"viewer": ["ana"]}, "give an email"),
    ],
)
def test_an_allow_list_rekon_cannot_read_is_named(section: dict[str, Any], why: str) -> None:
    with pytest.raises(AccessConfigError, match=why):
        AccessList.parse(section)


def test_settings_read_the_allow_lists_and_the_auth_table_from_secrets() -> None:
    s = load_settings(
        env={},
        secrets={"auth": {"client_id": "x"}, "rekon": {"access": {"admin": ["it@x.co.id"]}}},
    )
    assert s.sign_in and s.access.role_for("it@x.co.id") is Role.ADMIN
    assert s.four_eyes and not s.allow_anonymous
    off = load_settings(env={"REKON_FOUR_EYES": "0", "REKON_ALLOW_ANONYMOUS": "1"}, secrets={})
    assert not off.sign_in and not off.four_eyes and off.allow_anonymous


def test_serving_beyond_this_machine_needs_sign_in_or_a_stated_trust() -> None:
    laptop = Settings()
    for address in ("127.0.0.1", "localhost", "::1"):
        check_serving(laptop, address)
    wide: str | None
    for wide in ("0.0.0.0", "192.168.1.20", "", None):
        with pytest.raises(ConfigError, match=r"will not serve on .* without sign-in: add an"):
            check_serving(laptop, wide)
    check_serving(Settings(sign_in=True), "0.0.0.0")
    check_serving(Settings(allow_anonymous=True), "0.0.0.0")


@pytest.fixture
def october(store: Store) -> tuple[Store, int, int]:
    from tests.factories import add_orders, order

    add_orders(store, order("xo_ok", 100_000, D5), order("xo_lost", 50_000, D5))
    ledger = add_ledger(store, (D5, "xo_ok", 100_000), (D5, "BCA 77", 25_000))
    return store, reconcile(store, OCT, OPERATOR).run_id, ledger


def _reviewer_writes(store: Store, run_id: int, ledger: int) -> dict[str, Callable[[], Any]]:
    text = b"Tanggal;Referensi;Jumlah\n20/10/2026;X-1;10.000\n"
    suggestion = suggestions.Suggestion(
        50, ("O:xepeng:xo_lost",), (f"L:{ledger}:3",), "", Decimal(0), False
    )
    return {
        "fetch": lambda: fetch_orders(store, {}, *OCTOBER, by=VIEWER),
        "import": lambda: import_ledger(store, text, "x.csv", by=VIEWER),
        "save mapping": lambda: save_mapping(store, "m", MAPPING, VIEWER),
        "delete": lambda: delete_ledger(store, ledger, VIEWER),
        "correct": lambda: correct_ledger(store, ledger, ledger + 1, VIEWER),
        "run": lambda: reconcile(store, OCT, VIEWER),
        "decide": lambda: reviews.record(store, [f"L:{ledger}:3"], "accepted", VIEWER),
        "match": lambda: pairing.add_match(store, ["O:xepeng:xo_lost"], [f"L:{ledger}:3"], VIEWER),
        "break": lambda: pairing.add_break(store, "O:xepeng:xo_ok", f"L:{ledger}:2", VIEWER, "n"),
        "remove match": lambda: pairing.remove(store, 1, VIEWER, "n"),
        "accept suggestion": lambda: suggestions.accept(store, suggestion, VIEWER),
        "decline suggestion": lambda: suggestions.decline(store, suggestion, VIEWER),
        "add rule": lambda: rules.add_rule(
            store, rules.Rule("r", "reference", "BCA", False, "excluded"), VIEWER
        ),
        "remove rule": lambda: rules.remove_rule(store, "r", VIEWER),
        "update order": lambda: update_xepeng_order(store, None, "xo_ok", VIEWER, "d"),  # type: ignore[arg-type]
    }


def test_a_viewer_is_refused_by_every_library_write_and_nothing_is_written(
    october: tuple[Store, int, int], tmp_path: Path
) -> None:
    from tests.factories import fingerprint

    store, run_id, ledger = october
    before = fingerprint(store, leave_out=())
    for name, write in _reviewer_writes(store, run_id, ledger).items():
        with pytest.raises(AccessDenied, match=r"vera@example\.co\.id is a viewer and cannot"):
            write()
        assert fingerprint(store, leave_out=()) == before, name
    for who in (VIEWER, REVIEWER):
        with pytest.raises(AccessDenied, match="read the audit trail"):
            audit.trail(store, audit.TrailFilter(), who)
    with pytest.raises(AccessDenied, match="export the audit trail: that needs the admin role"):
        audit.export_trail(store, audit.TrailFilter(), tmp_path / "audit.csv", APPROVER)
    assert audit.trail(store, audit.TrailFilter(), APPROVER).height > 0


def _rows(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT * FROM audit_log ORDER BY logged_at, action, subject").rows()


def test_every_action_is_on_the_trail_and_no_write_changes_an_earlier_row(
    store: Store,
    sandbox: RunningSandbox,
    clients: dict[str, OrderSource],
    xepeng: XepengClient,
    tmp_path: Path,
) -> None:
    seen: list[tuple[Any, ...]] = []

    def step(action: Callable[[], Any]) -> Any:
        """Do one write; every row logged before it is still there, unchanged."""
        result = action()
        now = _rows(store)
        assert [r for r in now if r in seen] == seen, "an earlier audit row changed or went"
        assert len(now) > len(seen), "the write left no row on the trail"
        seen[:] = now
        return result

    ana, budi = REVIEWER, APPROVER
    step(lambda: audit.signed_in(store, ana))
    step(lambda: audit.record_settings(store, Settings(db_path=tmp_path / "x.duckdb"), "start"))
    step(lambda: fetch_orders(store, clients, *OCTOBER, by=ana))
    first = step(lambda: add_ledger(store, (D5, "nothing", 1_000), (D5, "BCA 9", 2_000)))
    opts = ImportOptions(name="fixed", date_format="%d/%m/%Y")
    text = b"Tanggal;Referensi;Jumlah\n05/10/2026;nothing;1.000\n05/10/2026;BCA 9;2.000\n"
    second = step(lambda: import_ledger(store, text, "fixed.csv", opts, by=ana)).ledger_id
    step(lambda: save_mapping(store, "bank", MAPPING, ana))
    step(lambda: correct_ledger(store, first, second, ana))
    third = step(lambda: add_ledger(store, (date(2026, 9, 5), "sep", 3_000)))
    step(lambda: delete_ledger(store, third, ana))
    first_run = step(lambda: reconcile(store, OCT, ana)).run_id
    key = f"L:{second}:3"
    step(lambda: reviews.record(store, [key], "resolved", ana, "bank fee", first_run))
    lost = store.scalar(
        "SELECT 'O:' || provider || ':' || order_id FROM recon_results"
        " WHERE run_id = ? AND result = 'missing_in_ledger' ORDER BY 1 LIMIT 1",
        [first_run],
    )
    made = step(
        lambda: suggestions.accept(
            store,
            suggestions.Suggestion(80, (lost,), (f"L:{second}:2",), "test", Decimal(0), False),
            ana,
            reason="other",
            note="test",
        )
    )
    step(lambda: pairing.remove(store, made.id, ana, "wrong"))
    step(
        lambda: rules.add_rule(store, rules.Rule("bca", "reference", "BCA", False, "excluded"), ana)
    )
    paid = store.scalar(
        "SELECT order_id FROM orders WHERE provider = 'xepeng' ORDER BY order_id LIMIT 1"
    )
    step(lambda: update_xepeng_order(store, xepeng, paid, ana, description="Kopi susu"))
    run = step(lambda: reconcile(store, OCT, ana)).run_id
    step(lambda: closing.signoff(store, *OCTOBER, run, budi, "carried", confirm_open=True))
    step(lambda: audit.export_downloaded(store, VIEWER, "rekon-2026-10-run2-all.csv", run, "all"))
    other = store.scalar(
        "SELECT order_id FROM orders WHERE provider = 'xepeng' AND order_id <> ?"
        " AND status = 'paid' ORDER BY order_id LIMIT 1",
        [paid],
    )
    sandbox.state.set_status(other, "refunded")
    step(lambda: fetch_orders(store, clients, *OCTOBER, by=ana))
    step(lambda: closing.reopen(store, *OCTOBER, budi, "late refund"))
    out = tmp_path / "trail.csv"
    step(lambda: audit.export_trail(store, audit.TrailFilter(), out, operator("it")))

    actions = {r[2] for r in seen}
    assert actions >= {
        "sign-in", "settings.change", "fetch", "ledger.import", "mapping.save",
        "ledger.correct", "ledger.delete", "run", "decision", "match.add",
        "suggestion.accept", "match.remove", "rule.add", "xepeng.update_order",
        "period.signoff", "export", "order.changed", "period.lapse", "period.reopen",
        "audit.export",
    }  # fmt: skip
    decision = next(r for r in seen if r[2] == "decision")
    assert (decision[1], decision[3]) == (ana.name, key)
    assert json.loads(decision[4]) == {"decision": "resolved", "note": "bank fee", "run": first_run}
    with out.open(newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert list(exported[0]) == list(audit.COLUMNS)
    assert len(exported) == len(seen) - 1  # all but the export's own row, written after it


def test_no_code_path_updates_or_deletes_the_trail() -> None:
    """The behavioural test above covers the write paths that exist; this keeps a new one from
    editing the trail in place."""
    sources = "\n".join(p.read_text() for p in (ROOT / "lib" / "rekon").rglob("*.py"))
    assert not re.search(
        r"(?i)(UPDATE\s+audit_log|DELETE\s+FROM\s+audit_log|audit_log\s+SET)", sources
    )
    assert not re.search(r"(?i)(DROP|ALTER|TRUNCATE)\s+TABLE\s+audit_log", sources)


def test_the_trail_is_filtered_by_period_person_and_action(october: tuple[Store, int, int]) -> None:
    store, run_id, ledger = october
    reviews.record(store, [f"L:{ledger}:3"], "accepted", REVIEWER, None, run_id)
    everyone = audit.trail(store, audit.TrailFilter(), APPROVER)
    assert set(everyone["action"]) >= {"ledger.import", "run", "decision"}
    ana = audit.trail(store, audit.TrailFilter(actor="ANA@example.co.id"), APPROVER)
    assert ana["action"].to_list() == ["decision"]
    runs = audit.trail(store, audit.TrailFilter(actions=("run",)), APPROVER)
    assert runs["subject"].to_list() == [f"run:{run_id}"]
    assert audit.trail(
        store, audit.TrailFilter(date(2020, 1, 1), date(2020, 1, 31)), APPROVER
    ).is_empty()
    assert audit.count(store, audit.TrailFilter(), APPROVER) == everyone.height


def test_settings_are_recorded_when_they_change_never_a_key(store: Store) -> None:
    first = load_settings(env={"XEPENG_API_KEY": "xk_live_SECRET"}, secrets={}, db_path=store.path)
    assert audit.record_settings(store, first, "dashboard start")
    assert audit.record_settings(store, first, "dashboard start") == {}  # unchanged: no row
    moved = load_settings(
        env={"XEPENG_API_KEY": "xk_live_SECRET", "REKON_TIMEZONE": "Asia/Makassar"},
        secrets={},
        db_path=store.path,
    )
    assert audit.record_settings(store, moved, "ops") == {
        "timezone": ["Asia/Jakarta", "Asia/Makassar"]
    }
    trail = store.query("SELECT actor, detail FROM audit_log WHERE action = 'settings.change'")
    assert trail.height == 2 and trail["actor"].to_list() == ["dashboard start", "ops"]
    assert not any("SECRET" in d for d in trail["detail"])


def test_a_role_includes_every_lower_one() -> None:
    admin = Actor("it@example.co.id", Role.ADMIN)
    for role in Role:
        admin.require(role, "anything")
    with pytest.raises(AccessDenied, match="needs the admin role"):
        APPROVER.require(Role.ADMIN, "export the audit trail")
