"""The dashboard with sign-in on (AppTest's `user`): the sign-in page, the no-access page, and
what each role sees and may do — a refused action refused by the library call, not only by a
hidden button. Without sign-in: the one local user, and no serving beyond this machine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from rekon import reviews
from rekon.access import AccessDenied, Role
from rekon.store import Store

ROOT = Path(__file__).resolve().parents[1]
ACCESS = {
    "viewer": ["*@example.co.id"],
    "reviewer": ["ana@example.co.id"],
    "approver": ["budi@example.co.id"],
    "admin": ["it@example.co.id"],
}
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret",
    "client_id": "rekon",
    "client_secret": "a-test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


pytestmark = pytest.mark.usefixtures("no_live_keys")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox's sample month, seeded once; each test works on its own copy."""
    db = tmp_path_factory.mktemp("people") / "seed.duckdb"
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()  # warm imports
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["REKON_DB"] = str(db)
    at.run()
    assert not at.exception
    return db


@pytest.fixture
def db(seeded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "rekon.duckdb"
    shutil.copy(seeded, copy)
    return copy


def app(db: Path, email: str | None, page: str | None = None, **secrets: Any) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["REKON_DB"] = str(db)
    at.secrets["auth"] = AUTH
    at.secrets["rekon"] = {"access": ACCESS}
    at.secrets.update(secrets)
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def texts(at: AppTest) -> str:
    kinds = ("title", "markdown", "info", "warning", "error", "success", "caption")
    return "\n".join(str(getattr(e, "value", "")) for k in kinds for e in at.get(k))


def test_a_visitor_not_signed_in_sees_only_the_sign_in_page(db: Path) -> None:
    at = app(db, None)
    assert [t.value for t in at.title] == ["Rekon"]
    assert button(at, "Sign in")
    assert not at.dataframe and not at.metric and not at.sidebar.selectbox
    for page in ("pages/reconcile.py", "pages/exports.py", "pages/audit.py"):
        # No page of Rekon's is registered at all (a bookmark shows the sign-in page: the
        # browser test follows one).
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_a_signed_in_person_on_no_list_is_told_whom_to_ask(db: Path) -> None:
    at = app(db, "mallory@elsewhere.com")
    assert [t.value for t in at.title] == ["No access"]
    assert "mallory@elsewhere.com is signed in but has no role" in at.error[0].value
    assert "Ask it@example.co.id" in texts(at)
    assert not at.dataframe and button(at, "Sign out")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/reconcile.py")


def test_a_viewer_reads_but_a_decision_is_refused_by_the_library(db: Path) -> None:
    at = app(db, "siti@example.co.id", "pages/reconcile.py")
    assert "Signed in as **siti@example.co.id** · viewer" in texts(at)
    assert not any(t.label == "Reviewer" for t in at.sidebar.text_input)  # no free-text name
    assert at.dataframe  # the results are there to read
    assert button(at, "Record decision").disabled
    assert "Your role (viewer) cannot record decisions" in texts(at)
    assert button(at, "Run reconciliation").disabled
    # Not an approver: the Audit page is not there, and the Close page only says so.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/audit.py")
    at.switch_page("pages/close.py").run()
    assert "Your role (viewer) cannot sign off a period" in texts(at)


def test_a_role_taken_away_while_the_page_is_open_is_refused_by_the_library(db: Path) -> None:
    at = app(db, "ana@example.co.id", "pages/reconcile.py")
    record = button(at, "Record decision")
    assert not record.disabled
    # An admin moves Ana to the viewers while her page still shows the enabled button: her
    # next click is a viewer's, and records nothing.
    at.secrets["rekon"] = {"access": ACCESS | {"reviewer": []}}
    next(r for r in at.radio if r.label == "Decision").set_value("accept")
    record.click().run()
    assert button(at, "Record decision").disabled and not at.success
    assert "Your role (viewer) cannot record decisions" in texts(at)
    assert _count(db, "SELECT count(*) FROM reviews") == 0
    # And the actor the page hands to the library is that viewer, whom the library refuses
    # whatever the page draws (a request crafted by hand meets the same check).
    key = next(s for s in at.selectbox if s.label == "Look at").value
    acting = at.session_state["rekon_actor"]
    assert (acting.name, acting.role) == ("ana@example.co.id", Role.VIEWER)
    store = Store(db)
    try:
        with pytest.raises(AccessDenied, match="is a viewer and cannot record decisions"):
            reviews.record(store, [str(key)], "accepted", acting)
    finally:
        store.close()


def _count(db: Path, sql: str) -> int:
    store = Store(db)
    try:
        return int(store.scalar(sql))
    finally:
        store.close()


def test_a_reviewer_decides_under_the_signed_in_email(db: Path) -> None:
    at = app(db, "ana@example.co.id", "pages/reconcile.py")
    key = next(s for s in at.selectbox if s.label == "Look at").value
    next(r for r in at.radio if r.label == "Decision").set_value("resolve")
    at.text_area[0].input("booked in November")
    button(at, "Record decision").click().run()
    assert "Recorded resolved for 1 item(s)." in [s.value for s in at.success]
    at.switch_page("pages/close.py").run()
    assert "Your role (reviewer) cannot sign off a period" in texts(at)
    store = Store(db)
    try:
        assert store.query("SELECT reviewer FROM reviews WHERE result_key = ?", [key]).row(0) == (
            "ana@example.co.id",
        )
        signed_in = store.query(
            "SELECT actor, detail FROM audit_log WHERE action = 'sign-in'"
        ).rows()
        assert signed_in == [("ana@example.co.id", '{"role": "reviewer"}')]  # once a session
    finally:
        store.close()


def test_an_approver_signs_off_and_the_month_locks(db: Path) -> None:
    at = app(db, "budi@example.co.id", "pages/close.py")
    assert "October 2026: open (not signed off)." in texts(at)
    sign = button(at, "Sign off October 2026")
    sign.click().run()
    assert "still open (not accepted, resolved or manually matched)" in at.error[0].value
    next(c for c in at.checkbox if c.label.startswith("Sign off with")).check()
    at.text_area[0].input("sample month, differences carried")
    button(at, "Sign off October 2026").click().run()
    assert any(
        s.value.startswith("October 2026 signed off by budi@example.co.id") for s in at.success
    )
    assert button(at, "Reopen October 2026")
    # The month is locked for everyone, reviewers included.
    at = app(db, "ana@example.co.id", "pages/reconcile.py")
    assert "is signed off by budi@example.co.id" in texts(at)
    next(r for r in at.radio if r.label == "Decision").set_value("accept")
    button(at, "Record decision").click().run()
    assert "recording decisions there is refused" in at.error[0].value
    at.switch_page("pages/overview.py").run()
    assert "and locked" in at.info[0].value or any("and locked" in i.value for i in at.info)
    # The approver reopens it with a reason; the history keeps both.
    at = app(db, "budi@example.co.id", "pages/close.py")
    at.text_input[0].input("late refund")
    button(at, "Reopen October 2026").click().run()
    assert "October 2026 reopened: its dates are unlocked." in [s.value for s in at.success]
    history = next(df.value for df in at.dataframe if "event" in df.value.columns)
    assert history["event"].tolist() == ["reopened", "signed off"]


def test_an_admin_reads_and_downloads_the_audit_trail(db: Path) -> None:
    app(db, "ana@example.co.id")  # a sign-in on the trail
    at = app(db, "it@example.co.id", "pages/audit.py")
    assert at.title[0].value == "Audit · October 2026"
    trail = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert {"sign-in", "run", "fetch", "ledger.import"} <= set(trail["action"])
    next(s for s in at.selectbox if s.label == "Person").set_value("ana@example.co.id").run()
    trail = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert set(trail["action"]) == {"sign-in"}
    button(at, "Prepare the CSV download").click().run()
    assert any(getattr(b, "label", "") == "Download audit CSV" for b in at.get("download_button"))
    # An approver reads it, but the download is an admin's.
    at = app(db, "budi@example.co.id", "pages/audit.py")
    assert "Your role (approver) cannot export the audit trail" in texts(at)


@pytest.fixture
def wide_open() -> Iterator[None]:
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    yield
    st_config.set_option("server.address", before)


def test_serving_beyond_this_machine_without_sign_in_is_refused(db: Path, wide_open: None) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["REKON_DB"] = str(db)
    at.run()
    assert [e.value for e in at.error] == [
        "Rekon will not serve on 0.0.0.0 without sign-in: add an \\[auth\\] section to "
        ".streamlit/secrets.toml (see the README, Signing in), serve on 127.0.0.1, or set "
        "REKON_ALLOW_ANONYMOUS=1 on a network you trust"
    ]
    assert not at.dataframe and not at.metric
    at.secrets["REKON_ALLOW_ANONYMOUS"] = "1"
    at.run()
    assert not at.error and at.metric
    assert "Sign-in is off (REKON_ALLOW_ANONYMOUS=1)" in at.warning[0].value
    # With sign-in configured, the same address is served to those who sign in.
    signed = app(db, "ana@example.co.id")
    assert signed.metric and not signed.error
