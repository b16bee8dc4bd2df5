"""The settlement pages in Streamlit's AppTest: the rate card and a settlement report on
Settings, settlements with a fetch, and the payouts on Reconcile, Overview and Charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rekon.sandbox.data import XEPENG_REPORT
from rekon.store import Store
from tests.test_app import app, assert_clean
from tests.test_app_people import app as app_as
from tests.test_app_people import button, db, seeded  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("no_live_keys")


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert_clean(at)
    return at


def test_payouts_from_settings_and_a_fetch_reach_reconcile_overview_and_charts(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "seeded.duckdb"
    at = app(db_path).switch_page("pages/settings.py").run()
    assert_clean(at)
    assert "The rate card is empty" in at.info[0].value or any(
        "rate card is empty" in i.value for i in at.info
    )
    # A rate on the card, by the form.
    next(s for s in at.selectbox if s.label == "Provider").set_value("xepeng")
    # Below what the sandbox charges (0.7 % and more): Xepeng's payouts are above the card.
    next(t for t in at.text_input if t.label == "Percent of the payment").set_value("0.5")
    next(b for b in at.button if b.label == "Save rate").click().run()
    assert_clean(at)
    assert any("Xepeng" in s.value and "0.5 %, VAT 11 %" in s.value for s in at.success)
    # Xepeng's settlement report: read, shown, imported.
    at.file_uploader[0].upload(XEPENG_REPORT.name, (ROOT / XEPENG_REPORT).read_bytes(), "text/csv")
    at.run()
    assert_clean(at)
    assert any("payments in" in s.value and "settlements" in s.value for s in at.success)
    click(at, "Import report")
    assert any("Imported Xepeng's settlement report" in s.value for s in at.success)
    # Durianpay's payouts with a fetch.
    at.switch_page("pages/fetch.py").run()
    next(c for c in at.checkbox if c.label.startswith("Settlements too")).check()
    click(at, "Fetch orders")
    assert any("Durianpay:" in s.value and "settlements (" in s.value for s in at.success)
    # A run now judges every payout of October.
    at.switch_page("pages/reconcile.py").run()
    click(at, "Run reconciliation")
    shown = next(df.value for df in at.dataframe if "settlement_id" in df.value.columns)
    assert len(shown) > 100 and set(shown["provider"]) == {"Xepeng", "Durianpay"}
    # The sample ledger books each order's gross: no payout's deposit is in it.
    assert set(shown["result"]) == {"settlement missing in ledger", "fee mismatch"}
    store = Store(db_path)
    above = store.query(
        "SELECT DISTINCT provider FROM settlement_results WHERE result = 'fee_mismatch'"
    )
    store.close()
    assert above["provider"].to_list() == ["xepeng"]  # Durianpay has no rate on the card
    at.switch_page("pages/overview.py").run()
    assert_clean(at)
    payouts = next(df.value for df in at.dataframe if "fee" in df.value.columns)
    assert list(payouts["provider"]) == ["Durianpay", "Xepeng"]
    assert all(v.startswith("Rp ") for v in payouts["fee"])
    at.switch_page("pages/charts.py").run()
    assert_clean(at)
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Fees per day and payment method" in t for t in titles)
    assert any("Settlement delay" in t for t in titles)


def test_a_viewer_sees_the_rate_card_but_cannot_change_it(db: Path) -> None:  # noqa: F811
    at = app_as(db, "vera@example.co.id", "pages/settings.py")
    assert button(at, "Save rate").disabled
    at = app_as(db, "ana@example.co.id", "pages/settings.py")
    assert not button(at, "Save rate").disabled
