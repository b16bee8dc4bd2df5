"""The main flow in a real headless Chromium against `streamlit run` on a free port.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`; `.ci/run` does it).
Screenshots of every step land in test-output/e2e/.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Page

from rekon.classes import EXCEPTIONS
from rekon.sandbox.data import SAMPLE_LEDGER, generate
from rekon.sandbox.server import wait_for_http

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-output" / "e2e"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="no Chromium: `apt-get install chromium` to run the browser test",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XEPENG_", "DURIANPAY_", "REKON_"))
    }
    env |= {
        "REKON_DB": str(tmp_path_factory.mktemp("e2e") / "e2e.duckdb"),
        "REKON_BOOTSTRAP": "0",
        "REKON_REVIEWER": "ana@finance",
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = (SHOTS / "streamlit.log").open("wb")  # a PIPE nobody reads would block the server
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    if not wait_for_http(f"{url}/_stcore/health", timeout=60):
        proc.kill()
        pytest.fail("streamlit did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(
            viewport={"width": 1400, "height": 1200}, accept_downloads=True
        )
        yield context.new_page()
        browser.close()


def open_page(page: Page, server: str, path: str, title: str) -> None:
    page.goto(f"{server}/{path}")
    page.get_by_role("heading", name=title).first.wait_for(timeout=90_000)
    page.wait_for_timeout(1500)  # let data grids and charts paint before a screenshot


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(1000)  # tables and charts paint after the text that was waited for
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_month_end_in_the_browser(page: Page, server: str) -> None:
    # Finance networks block the internet, and a request out says who uses Rekon: every
    # request the pages make must stay on this server.
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server, "data:", "blob:")) else outside.append(r.url),
    )
    # A bookmark is the first address this fresh server sees: the page still comes with the
    # app's navigation and banner, not as a bare file of pages/.
    open_page(page, server, "orders", "Orders")
    page.get_by_text("Sandbox mode").first.wait_for(timeout=30_000)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Overview" in nav and "shared" not in nav
    shot(page, "0-bookmark")

    open_page(page, server, "", "Overview · October 2026")
    page.get_by_text("Sandbox mode").first.wait_for()
    shot(page, "1-overview-empty")

    open_page(page, server, "fetch", "Fetch orders")
    page.get_by_role("button", name="Fetch orders").click()
    page.get_by_text("Xepeng: 5.003 orders (5.003 new").wait_for(timeout=120_000)
    shot(page, "2-fetch")

    open_page(page, server, "ledger", "Ledger import")
    page.locator("input[type=file]").set_input_files(str(ROOT / SAMPLE_LEDGER))
    page.get_by_text("lines read").wait_for(timeout=60_000)
    page.get_by_role("button", name="Import ledger").click()
    page.get_by_text("Imported ledger 1").wait_for(timeout=60_000)
    shot(page, "3-ledger")

    open_page(page, server, "reconcile", "Reconcile · October 2026")
    page.get_by_role("button", name="Run reconciliation").click()
    page.get_by_text("Run 1:").wait_for(timeout=60_000)
    planned = generate().expected
    page.get_by_text(
        f"{sum(planned[k] for k in EXCEPTIONS):,}".replace(",", ".") + " results"
    ).first.wait_for(timeout=30_000)
    shot(page, "4-reconcile")

    page.get_by_text("resolve", exact=True).click()
    page.locator("textarea").first.fill("Fee deducted by the gateway; booked net")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Recorded resolved for 1 item(s).").wait_for(timeout=30_000)
    shot(page, "5-review")
    # The form starts afresh: that note must not ride along with the next decision.
    assert page.locator("textarea").first.input_value() == ""
    # The panel moved on to the next open item: this decision lands on row 2, not row 1.
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Recorded accepted for 1 item(s).").wait_for(timeout=30_000)

    # Two rows ticked in the results table (its first column; rows are 35 px under a 35 px
    # header), then one decision on both.
    page.get_by_label("Reviewer").fill("budi@finance")  # someone else takes over
    page.get_by_label("Reviewer").press("Enter")
    page.wait_for_timeout(1500)
    results = page.locator('[class*="st-key-results_"] [data-testid="stDataFrame"]').first
    results.scroll_into_view_if_needed()
    grid = results.bounding_box()
    assert grid is not None  # shown on screen, so it can be clicked
    for row in (3, 5):
        page.mouse.click(grid["x"] + 15, grid["y"] + 35 * row + 17)
        page.wait_for_timeout(1500)
    page.get_by_text("the 2 selected results").click()
    page.wait_for_timeout(1500)
    page.get_by_text("accept", exact=True).click()
    page.locator("textarea").first.fill("Both booked on the bank statement")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Recorded accepted for 2 item(s).").wait_for(timeout=30_000)
    shot(page, "5b-selected")
    assert page.get_by_role("radio", name="this result").is_checked()  # not the 2 again
    assert page.get_by_label("Reviewer").input_value() == "budi@finance"  # the name stays

    # The whole page at once: the resolved and accepted rows keep their decisions.
    page.get_by_text("all 100 results on this page").click()
    page.wait_for_timeout(1500)
    page.get_by_text("accept", exact=True).click()
    page.locator("textarea").first.fill("Month-end sweep")
    page.get_by_text("Yes, record this decision for all 100 items").click()
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text(
        "Recorded accepted for 96 item(s). 4 already decided item(s) left as they were."
    ).wait_for(timeout=30_000)
    shot(page, "5c-bulk")

    # Leftovers paired by hand: two unbooked orders found by search, then a line no order
    # explains, gathered in one match across the searches, matched with a reason.
    dataset = generate()
    unbooked = [o.order_id for o in dataset.orders if o.fate == "not_booked"][:2]
    search = page.get_by_label("Search id, reference, description, customer or amount")
    for text in (*unbooked, "MANUAL-0002"):
        search.fill(text)
        search.press("Enter")
        page.wait_for_timeout(2000)
        found = page.locator('[class*="st-key-results_"] [data-testid="stDataFrame"]').first
        box = found.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Add the 1 ticked leftover(s) to the match").click()
        page.wait_for_timeout(1500)
    page.get_by_text("In the match: 2 order(s)").wait_for(timeout=30_000)
    page.get_by_label("Reason, when the sums differ").click()
    page.get_by_role("option", name="other").click()
    page.get_by_label("Note (required with 'other')").fill("Cash paid in at the counter")
    page.get_by_role("button", name="Match selected").click()
    page.get_by_text("Matched by hand as 1; the next run of the period applies it.").wait_for(
        timeout=30_000
    )
    shot(page, "5f-manual-group")
    # One suggestion accepted, with its evidence in view.
    page.get_by_role("tab", name="Suggestions").click()
    page.get_by_text("Find suggested matches for the leftovers").click()
    page.get_by_role("button", name="Accept", exact=True).first.wait_for(timeout=60_000)
    shot(page, "5g-suggestions")
    page.get_by_role("button", name="Accept", exact=True).first.click()
    page.get_by_text("Accepted as manual match 2.").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Results").click()

    # A filtered view survives a reload: the search is in the address.
    search.fill("INV-202610")
    search.press("Enter")
    page.wait_for_timeout(2000)
    assert "q=INV-202610" in page.url
    counted = page.get_by_text(re.compile(r"^Page \(of \d+; [\d.]+ results\)")).first.inner_text()
    page.reload()
    page.get_by_role("heading", name="Reconcile · October 2026").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert search.input_value() == "INV-202610"
    assert page.get_by_text(counted).first.is_visible()
    shot(page, "5d-reloaded")

    # Another month's run form starts from that month: the October ledger (29 Sep – 2 Nov)
    # is not carried over to August.
    page.goto(f"{server}/reconcile?month=2026-08")
    page.get_by_role("heading", name="Reconcile · August 2026").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    form = page.locator('[data-testid="stForm"]').first
    assert "ledger-2026-10.csv" not in form.inner_text()
    assert "the default tolerance and window" in form.inner_text()
    shot(page, "5e-august")

    open_page(page, server, "charts", "Charts · October 2026")
    page.locator(".js-plotly-plot").nth(4).wait_for(timeout=60_000)
    shot(page, "6-charts")

    open_page(page, server, "exports", "Exports · October 2026")
    shot(page, "7-exports")
    with page.expect_download(timeout=60_000) as info:
        page.locator(".st-key-dl_exceptions_csv button").click()
    download = info.value
    assert download.suggested_filename == "rekon-2026-10-run1-exceptions.csv"
    rows = pl.read_csv(io.BytesIO(Path(download.path()).read_bytes()), infer_schema=False)
    assert rows.height == sum(planned[k] for k in EXCEPTIONS)
    resolved = rows.filter(pl.col("review_status") == "resolved")
    assert resolved["review_note"].to_list() == ["Fee deducted by the gateway; booked net"]
    # The audit trail: each decision made above, by whom, with its note.
    with page.expect_download(timeout=60_000) as info:
        page.locator(".st-key-dl_reviews_csv button").click()
    trail = pl.read_csv(io.BytesIO(Path(info.value.path()).read_bytes()), infer_schema=False)
    # Row by row of the page as it was listed (the exceptions export keeps its order): which
    # result got which decision.
    listed = (
        rows.select(
            pl.when(pl.col("result") == "duplicate_in_ledger")
            .then(pl.format("D:{}:{}", "ledger_id", "ledger_line"))
            .when(pl.col("order_id").is_not_null())
            .then(pl.format("O:{}:{}", "provider", "order_id"))
            .otherwise(pl.format("L:{}:{}", "ledger_id", "ledger_line"))
        )
        .to_series()
        .to_list()
    )
    decided = {k: list(zip(g["decision"], g["reviewer"], g["note"], strict=True))
               for (k,), g in trail.group_by("result_key")}  # fmt: skip
    assert decided[listed[0]] == [
        ("resolved", "ana@finance", "Fee deducted by the gateway; booked net")
    ]
    assert decided[listed[1]] == [("accepted", "ana@finance", None)]
    for k in (listed[2], listed[4]):
        assert decided[k] == [("accepted", "budi@finance", "Both booked on the bank statement")]
    assert decided[listed[3]] == [("accepted", "budi@finance", "Month-end sweep")]
    assert len(decided) == 100

    for path, title in (("orders", "Orders"),):
        open_page(page, server, path, title)
        shot(page, f"8-{path}")
    assert outside == []
