"""The real sign-in flow in headless Chromium: Streamlit's OIDC login against a local OpenID
Connect provider (oidc-provider-mock) on 127.0.0.1, with the test's own secrets file.

A visitor sees only the sign-in page, signs in, records a decision that carries their email,
and signing out brings the sign-in page back. Screenshots land in test-output/e2e-signin/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rekon.sandbox.server import wait_for_http
from rekon.store import Store
from tests.test_e2e import CHROMIUM, free_port

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "e2e-signin"
EMAIL = "ana@example.co.id"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="no Chromium: `apt-get install chromium` to run the browser test",
    ),
]


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    out = log.open("wb")  # a PIPE nobody reads would block the server
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """The OpenID provider and the dashboard; yields the dashboard's address, its store and
    its process (stopped by the test to read the store: DuckDB lets one process hold it)."""
    tmp = tmp_path_factory.mktemp("signin")
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XEPENG_", "DURIANPAY_", "REKON_"))
    }
    idp_port, app_port = free_port(), free_port()
    idp = _start(
        [
            sys.executable, "-m", "oidc_provider_mock", "--port", str(idp_port),
            "--user-claims", json.dumps({"sub": "ana", "email": EMAIL, "name": "Ana"}),
        ],
        SHOTS / "oidc.log",
        env,
    )  # fmt: skip
    idp_url = f"http://127.0.0.1:{idp_port}"
    db = tmp / "rekon.duckdb"
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        f"""
REKON_DB = "{db}"

[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "a-cookie-secret-for-this-test-only"
client_id = "rekon"
client_secret = "a-client-secret-for-this-test-only"
server_metadata_url = "{idp_url}/.well-known/openid-configuration"

[rekon.access]
reviewer = ["{EMAIL}"]
"""
    )
    app = _start(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(app_port), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--secrets.files", str(secrets),
        ],
        SHOTS / "streamlit.log",
        env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{app_port}"
    try:
        if not wait_for_http(f"{idp_url}/.well-known/openid-configuration", timeout=60):
            pytest.fail("the OpenID provider did not start")
        if not wait_for_http(f"{url}/_stcore/health", timeout=60):
            pytest.fail("streamlit did not start")
        yield url, db, app
    finally:
        for proc in (app, idp):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        yield context.new_page()
        browser.close()


def test_sign_in_decide_under_the_email_and_sign_out(
    servers: tuple[str, Path, subprocess.Popen[bytes]], page: Page
) -> None:
    url, db, app = servers
    # A visitor, even one who follows a bookmark, sees only the sign-in page.
    page.goto(f"{url}/reconcile")
    sign_in = page.get_by_role("button", name="Sign in")
    sign_in.wait_for(timeout=90_000)
    expect(page.get_by_role("heading", name="Reconcile")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "01-sign-in.png"), full_page=True)

    sign_in.click()
    page.get_by_role("button", name="ana").wait_for(timeout=30_000)  # the provider's form
    page.screenshot(path=str(SHOTS / "02-provider.png"), full_page=True)
    page.get_by_role("button", name="ana").click()

    page.get_by_role("heading", name="Overview · October 2026").wait_for(timeout=120_000)
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible()
    page.screenshot(path=str(SHOTS / "03-signed-in.png"), full_page=True)

    page.get_by_role("link", name="Reconcile").click()
    page.get_by_role("heading", name="Reconcile · October 2026").wait_for(timeout=60_000)
    # The results grid and the item panel paint after the heading: wait for the item being
    # looked at and the decision form, then check each choice took before recording it.
    page.get_by_text("Look at", exact=True).wait_for(timeout=60_000)
    page.get_by_role("button", name="Record decision").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    try:
        resolve = page.get_by_role("radio", name="resolve", exact=True)
        page.get_by_text("resolve", exact=True).click()
        expect(resolve).to_be_checked(timeout=10_000)
        note = page.get_by_label("Note (required to resolve, and for several items at once)")
        note.fill("Fee booked net, signed in")
        expect(note).to_have_value("Fee booked net, signed in", timeout=10_000)
        page.get_by_role("button", name="Record decision").click()
        page.get_by_text("Recorded resolved for 1 item(s).").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(SHOTS / "04-failed.png"), full_page=True)
        raise
    page.screenshot(path=str(SHOTS / "04-decided.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    # Streamlit ends the session at the provider too, which asks to confirm.
    page.get_by_role("button", name="End session").click(timeout=60_000)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "05-signed-out.png"), full_page=True)
    page.goto(f"{url}/reconcile")  # the session cookie went with the sign-out
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)

    # The store, once the dashboard has let go of it: the decision and the sign-in carry the
    # signed-in email, not a typed name.
    app.terminate()
    app.wait(timeout=20)
    store = Store(db)
    try:
        assert store.query(
            "SELECT reviewer, note FROM reviews ORDER BY reviewed_at DESC LIMIT 1"
        ).row(0) == (EMAIL, "Fee booked net, signed in")
        assert store.query("SELECT actor FROM audit_log WHERE action = 'sign-in'").rows() == [
            (EMAIL,)
        ]
    finally:
        store.close()
