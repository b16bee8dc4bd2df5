"""Every page through Streamlit's AppTest, against a real sandbox and DuckDB file."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pages.ui.text import plain
from pages.ui.workspace import PAGES as PAGE_LIST
from rekon import reviews
from rekon.access import operator
from rekon.classes import EXCEPTIONS, RESULTS
from rekon.ledger import import_ledger, list_ledgers, load_mapping
from rekon.matching import ReconcileParams, reconcile
from rekon.results import ResultFilter, results_page
from rekon.sandbox.data import SAMPLE_LEDGER, generate, sandbox_settings
from rekon.store import Store
from tests.factories import OPERATOR, add_ledger, add_orders, order

ROOT = Path(__file__).resolve().parent.parent
PAGES = [path for path, *_ in PAGE_LIST]


pytestmark = pytest.mark.usefixtures("no_live_keys")


def app(db: Path, **secrets: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["REKON_DB"] = str(db)
    at.secrets["REKON_REVIEWER"] = "ana@finance"
    for key, value in secrets.items():
        at.secrets[key] = value
    return at.run()


def grid(at: AppTest) -> Any:
    """The reconcile page's results table (the one with a key per row)."""
    return next(df for df in at.dataframe if "result_key" in df.value.columns)


def classes(at: AppTest) -> dict[str, dict[str, str]]:
    """The reconcile page's summary, one row per class, as shown."""
    table = next(df.value for df in at.dataframe if "still_open" in df.value.columns)
    return {r["result"]: dict(r) for r in table.fillna("").to_dict("records")}


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_a_setting_rekon_cannot_use_stops_every_page_with_the_reason(tmp_path: Path) -> None:
    at = app(tmp_path / "x.duckdb", REKON_TIMEZONE="Asia/Jakrta")
    for page in [None, *PAGES[1:]]:
        if page:
            at.switch_page(page).run()
        assert_clean(at)
        assert at.error[0].value.startswith("Rekon cannot start: REKON_TIMEZONE is 'Asia/Jakrta'")
    assert not (tmp_path / "x.duckdb").exists()  # nothing was opened


def test_a_database_cut_short_is_named_on_every_page(tmp_path: Path) -> None:
    whole = tmp_path / "whole.duckdb"
    store = Store(whole)
    with store.write() as cur:
        cur.execute("CREATE TABLE ballast AS SELECT range AS i, md5(range::VARCHAR) AS m"
                    " FROM range(300000)")  # fmt: skip
    store.close()
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(whole.read_bytes()[:300_000])
    at = app(cut)
    for page in [None, *PAGES[1:]]:
        if page:
            at.switch_page(page).run()
        assert_clean(at)
        assert "the file is damaged or cut short" in at.error[0].value


def test_every_page_renders_on_an_empty_database(tmp_path: Path) -> None:
    at = app(tmp_path / "empty.duckdb", REKON_BOOTSTRAP="0")
    assert_clean(at)
    assert "Sandbox mode" in at.info[0].value
    assert "No orders for this period yet. Fetch them on the **Fetch** page." in [
        i.value for i in at.info
    ]
    assert not at.metric
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
        assert at.title, page
        # Each page comes inside app.py: the banner and the period picker are there too.
        assert "Sandbox mode" in at.info[0].value, page
        assert any(r.label == "Period" for r in at.sidebar.radio), page


def test_every_page_renders_on_the_sandbox_month(tmp_path: Path) -> None:
    at = app(tmp_path / "seeded.duckdb")
    assert_clean(at)
    assert at.title[0].value == "Overview · October 2026"
    metrics = {m.label: m.value for m in at.metric}  # all providers
    assert metrics["Orders"] == "10.006"
    assert re.fullmatch(r"\d\d,\d %", metrics["Matched"]), metrics  # 91,2 %, as counts read
    exceptions = next(m for m in at.metric if m.label == "Exceptions")
    assert (exceptions.value, exceptions.delta) == ("1.106", "1.106 still open")  # none decided
    # The parts add up: 523 Xepeng + 538 Durianpay + 45 ledger lines naming no provider's
    # order (40 missing at a provider, 5 ambiguous).
    by_provider = at.dataframe[0].value
    assert by_provider["provider"].tolist() == [
        "Durianpay",
        "Xepeng",
        "Ledger only",
        "All providers",
    ]
    assert by_provider["exceptions"].tolist() == ["538", "523", "45", "1.106"]
    assert by_provider["orders"].tolist()[-1] == "10.006"
    assert re.fullmatch(r"\d\d,\d %", by_provider["matched_pct"].tolist()[-1])
    assert by_provider["matched_pct"].tolist()[2] == ""  # ledger lines have no paid orders
    link = at.get("page_link")[0].proto  # and the way to them
    assert (link.page, link.label) == ("reconcile", "Work the 1.106 open exceptions")
    # Headline amounts in words a reader of either language takes the same way.
    paid = next(m for m in at.metric if m.label == "Paid amount")
    assert re.fullmatch(r"Rp \d,\d\d miliar", paid.value), paid.value
    assert re.fullmatch(r"Rp \d\.\d{3}\.\d{3}\.\d{3} from \d\.\d{3} paid orders", paid.help)
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
    assert not at.error


def test_reconcile_page_shows_the_planned_counts(tmp_path: Path) -> None:
    at = app(tmp_path / "seeded.duckdb").switch_page("pages/reconcile.py").run()
    assert_clean(at)
    shown = classes(at)
    planned = generate().expected
    assert {k: int(v["count"].replace(".", "")) for k, v in shown.items()} == {
        name.replace("_", " "): planned.get(name, 0) for name in RESULTS
    }
    # Each class's amount beside its count.
    assert all(v["amount"].startswith("Rp") for v in shown.values())
    run = next(s for s in at.selectbox if s.label == "Run")
    assert re.fullmatch(
        r"Run 1 · \d\d \w{3} \d\d:\d\d WIB · sandbox start · ledgers all"
        r" · tolerance Rp 0 · window 3 d",
        run.options[0],
    ), run.options
    search = next(t for t in at.text_input if t.label.startswith("Search"))
    search.input("no-such-thing").run()
    assert "No result matches these filters." in [i.value for i in at.info]
    assert not [df for df in at.dataframe if "result_key" in df.value.columns]
    search.input("").run()
    # Dates read as dates, not midnight timestamps; the item names its order before the JSON.
    columns = json.loads(grid(at).proto.columns)
    day = {"type": "date", "format": "D MMM YYYY"}  # 29 Sep 2026: read one way by everyone
    assert columns["order_date"] == {"label": "Order date", "type_config": day}
    # What a reviewer decides on comes first, under words rather than column names.
    # The amounts come before anything that could push them off a 1024 px screen.
    assert list(grid(at).value.columns[:6]) == [
        "result",
        "order_amount",
        "ledger_amount",
        "difference",
        "review_status",
        "item",
    ]
    assert columns["review_status"]["label"] == "Review"
    # Classes and providers in words, as the summary above names them; exports keep the codes.
    shown = grid(at).value
    assert set(shown["result"]) == {"amount mismatch"}  # the first page of exceptions
    assert all(i.startswith(("Xepeng ", "Durianpay ")) for i in shown["item"])
    # Each exception class says how many still need a decision.
    ambiguous = classes(at)["ambiguous"]
    assert (ambiguous["still_open"], ambiguous["decided"]) == ("5", "0")
    assert classes(at)["matched"]["still_open"] == ""  # matched results take no decision
    # A ledger-only row names its line and reference where the order would stand.
    next(m for m in at.multiselect if m.label == "Result").set_value(["missing_in_provider"]).run()
    items = grid(at).value["item"]
    assert all(re.fullmatch(r"Ledger 1 line \d+ · \S.*", i) for i in items), items[:3]
    assert "None" not in grid(at).value.to_string()  # no ledger line shows "None"
    next(m for m in at.multiselect if m.label == "Result").set_value(["amount_mismatch"]).run()
    assert "order id" in set(shown["rule"])
    assert (
        next(m for m in at.multiselect if m.label == "Result").format_func("duplicate_in_ledger")
        == "duplicate in ledger"
    )
    key = str(next(s for s in at.selectbox if s.label == "Look at").value)
    _, provider, order_id = key.split(":")
    summary = next(m.value for m in at.markdown if order_id in m.value)
    assert summary.startswith(f"{provider.capitalize()} {order_id} · ") and "· Rp " in summary
    assert re.search(r" · \d{1,2} (Sep|Oct|Nov) 2026 · Rp ", summary), summary  # as tables write
    # Each result to look at is named as a reviewer would: class, order, both amounts.
    look_at = next(s for s in at.selectbox if s.label == "Look at")
    assert re.fullmatch(
        rf"amount mismatch · {provider.capitalize()} {order_id} · Rp [\d.]+ vs Rp [\d.]+",
        look_at.format_func(key),
    ), look_at.format_func(key)


def test_a_run_with_every_ledger_unticked_is_refused_not_run_on_all(tmp_path: Path) -> None:
    at = app(tmp_path / "none.duckdb").switch_page("pages/reconcile.py").run()
    next(m for m in at.multiselect if m.label == "Ledgers").set_value([])
    next(b for b in at.button if b.label == "Run reconciliation").click().run()
    assert_clean(at)
    assert [e.value for e in at.error] == ["Choose at least one ledger to reconcile against."]
    assert len(next(s for s in at.selectbox if s.label == "Run").options) == 1  # no run 2


def test_a_run_before_any_ledger_is_refused_with_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "noledger.duckdb"
    at = app(db, REKON_BOOTSTRAP="0").switch_page("pages/reconcile.py").run()
    assert "Import a ledger on the **Ledger** page first." in at.info[-1].value
    next(b for b in at.button if b.label == "Run reconciliation").click().run()
    assert_clean(at)
    assert "no ledger has been imported yet" in at.error[0].value
    assert not [s for s in at.selectbox if s.label == "Run"]  # no run was stored


def test_a_second_run_shows_what_moved_since_the_first(tmp_path: Path) -> None:
    at = app(tmp_path / "rerun.duckdb").switch_page("pages/reconcile.py").run()
    before = {k: int(v["count"].replace(".", "")) for k, v in classes(at).items()}
    next(n for n in at.number_input if n.label == "Amount tolerance (Rp)").set_value(2500)
    next(b for b in at.button if b.label == "Run reconciliation").click().run()
    after = {k: int(v["count"].replace(".", "")) for k, v in classes(at).items()}
    assert after["amount mismatch"] < before["amount mismatch"]  # fees within Rp 2.500 match
    next(t for t in at.toggle if t.label == "What changed since run 1").set_value(True).run()
    assert_clean(at)
    moved = next(df.value for df in at.dataframe if "before" in df.value.columns)
    pairs = {(r.before, r.after): r.results for r in moved.itertuples()}
    assert all(b != a for b, a in pairs)
    # Every amount mismatch that left did so by matching (its key, the order's, stays).
    left = {a: n for (b, a), n in pairs.items() if b == "amount mismatch"}
    assert left == {"matched": before["amount mismatch"] - after["amount mismatch"]}
    # A line with a reference of its own is never paired on amount and date, however wide the
    # tolerance; what matched exactly stays matched (an exact amount beats a near one).
    assert ("missing in ledger", "matched") not in pairs
    assert not [p for p in pairs if p[0] == "matched"]
    # Which ones: pick a pair of classes and its results are listed by key.
    show = next(s for s in at.selectbox if s.label == "Show the results that moved")
    pick = next(i for i, o in enumerate(show.options) if o.startswith("amount mismatch →"))
    show.set_value(pick).run()
    assert_clean(at)
    which = next(df.value for df in at.dataframe if "ledger_line" in df.value.columns)
    assert len(which) == min(100, left["matched"])
    assert which["result_key"].str.startswith("O:").all()
    assert set(which["provider"]) <= {"Xepeng", "Durianpay"}


def test_orders_not_in_rupiah_are_flagged_on_the_period_pages(tmp_path: Path) -> None:
    db = tmp_path / "usd.duckdb"
    store = Store(db)
    try:
        add_orders(
            store,
            order("ord_usd", 20, date(2026, 10, 9), provider="durianpay", currency="USD"),
            order("ord_sgd", 30, date(2026, 10, 9), provider="durianpay", currency="SGD"),
        )
    finally:
        store.close()
    at = app(db, REKON_BOOTSTRAP="0").run()
    assert_clean(at)
    # (Beside the warnings that no fetch covered October: these orders were stored directly.)
    assert [w.value for w in at.warning if "rupiah" in w.value] == [
        f"1 Durianpay orders of this period are in {code}, not rupiah: their amounts are "
        "compared with the ledger's rupiah as they stand, so check their results by hand."
        for code in ("SGD", "USD")
    ]
    at.switch_page("pages/reconcile.py").run()
    assert len([w for w in at.warning if "rupiah" in w.value]) == 2


def test_a_period_reaching_past_what_was_fetched_is_flagged(tmp_path: Path) -> None:
    at = app(tmp_path / "seeded.duckdb").switch_page("pages/reconcile.py").run()
    assert not at.warning  # October was fetched
    at.sidebar.radio[0].set_value("Custom range").run()
    assert at.sidebar.date_input[0].proto.format == "DD/MM/YYYY"  # picked day first
    at.sidebar.date_input[0].set_value((date(2026, 10, 15), date(2026, 11, 14))).run()
    assert_clean(at)
    shown = [w.value for w in at.warning]
    assert len(shown) == 2 and all("not fetched for 14 days between 2026-11-01" in w for w in shown)
    at.switch_page("pages/overview.py").run()
    assert sum("not fetched" in w.value for w in at.warning) == 2


def test_a_ledger_over_the_upload_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    db = tmp_path / "limit.duckdb"
    at = app(db, REKON_BOOTSTRAP="0", REKON_MAX_UPLOAD_MB="1").switch_page("pages/ledger.py").run()
    big = (ROOT / SAMPLE_LEDGER).read_bytes() * 2
    assert len(big) > 1024 * 1024
    at.file_uploader[0].upload("big.csv", big, "text/csv")
    at.run()
    assert_clean(at)
    assert at.error[0].value.startswith("big.csv is larger than 1 MB (REKON_MAX_UPLOAD_MB)")
    assert "ledger_read" not in at.session_state  # never parsed
    assert not [b for b in at.button if b.label == "Import ledger"]


def test_ledger_page_imports_the_sample_through_the_uploader(tmp_path: Path) -> None:
    db = tmp_path / "ledger.duckdb"
    at = app(db, REKON_BOOTSTRAP="0").switch_page("pages/ledger.py").run()
    sample = (ROOT / SAMPLE_LEDGER).read_bytes()
    at.file_uploader[0].upload("ledger-2026-10.csv", sample, "text/csv")
    at.run()
    assert_clean(at)
    assert "semicolon-separated" in at.caption[0].value
    # A click elsewhere on the page does not read the file again.
    read = at.session_state["ledger_read"][1]
    next(t for t in at.text_input if t.label == "Save this mapping as").input("x").run()
    assert at.session_state["ledger_read"][1] is read
    next(b for b in at.button if b.label == "Import ledger").click().run()
    assert_clean(at)
    assert "7.932 lines" in at.success[0].value
    at.switch_page("pages/ledger.py").run()
    listed = at.dataframe[-1].value
    assert listed["name"].tolist() == ["ledger-2026-10.csv"]
    assert listed["lines_imported"].tolist() == [7932]
    next(c for c in at.checkbox if c.label.startswith("Yes, delete")).check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert_clean(at)
    assert "None yet." in [c.value for c in at.caption]
    assert "Deleted ledger 1 and its 7.932 lines." in [s.value for s in at.success]


def test_ledger_page_lists_a_bad_line_by_number_before_anything_lands(tmp_path: Path) -> None:
    at = app(tmp_path / "bad.duckdb", REKON_BOOTSTRAP="0").switch_page("pages/ledger.py").run()
    good = "".join(f"2{i}/10/2026;R{i};1.000\n" for i in range(9))
    at.file_uploader[0].upload(
        "oct.csv", f"Tanggal;Referensi;Jumlah\n{good}29/10/2026;X;abc\n".encode()
    )
    at.run()
    assert_clean(at)
    assert at.warning[0].value == "1 line(s) cannot be imported and will be set aside:"
    rejected = at.dataframe[1].value
    assert rejected.values.tolist() == [[11, "Jumlah", "abc", "not an amount like 1.500.000,00"]]
    assert json.loads(at.dataframe[1].proto.columns)["line_no"] == {"label": "Line"}
    assert "None yet." in [c.value for c in at.caption]  # read, not stored


def test_ledger_page_lets_the_reviewer_say_what_detection_cannot(tmp_path: Path) -> None:
    db = tmp_path / "formats.duckdb"
    at = app(db, REKON_BOOTSTRAP="0").switch_page("pages/ledger.py").run()
    first_week = "Tanggal;Referensi;Jumlah\n02/12/2026;A-1;1.500\n07/12/2026;A-2;2.000\n"
    at.file_uploader[0].upload("dec.csv", first_week.encode(), "text/csv")
    at.run()
    assert "every day is 12 or less" in at.error[0].value
    assert not any(b.label == "Import ledger" for b in at.button)
    dates = next(s for s in at.selectbox if s.label == "Date format")
    assert dates.options[:3] == ["detect", "31/01/2026", "01/31/2026"]
    dates.set_value("%d/%m/%Y").run()
    assert_clean(at)
    shown = at.dataframe[0].value["entry_date"].dt.date.tolist()
    assert shown == [date(2026, 12, 2), date(2026, 12, 7)]
    next(b for b in at.button if b.label == "Save mapping").click().run()  # no name yet
    assert "a saved mapping needs a name" in at.error[0].value and not at.toast
    next(t for t in at.text_input if t.label == "Save this mapping as").input(" toko ").run()
    next(b for b in at.button if b.label == "Save mapping").click().run()
    assert [t.value for t in at.toast] == ["Mapping saved as toko"]
    next(b for b in at.button if b.label == "Import ledger").click().run()
    assert_clean(at)
    assert "2 lines" in at.success[0].value
    at.switch_page("pages/ledger.py").run()
    listed = at.dataframe[-1].value
    assert (listed["date_from"][0].date(), listed["date_to"][0].date()) == (
        date(2026, 12, 2),
        date(2026, 12, 7),
    )
    assert "toko" in next(s for s in at.selectbox if s.label.startswith("Start from")).options
    store = Store(db)
    try:
        assert load_mapping(store, "toko").date_format == "%d/%m/%Y"
    finally:
        store.close()
    # A fuller re-export of the same week imports, with a word about the lines it repeats.
    fuller = first_week + "14/12/2026;A-3;500\n"
    at.file_uploader[0].upload("dec-fixed.csv", fuller.encode(), "text/csv")
    at.run()
    next(b for b in at.button if b.label == "Import ledger").click().run()
    assert_clean(at)
    assert "Imported ledger 2" in at.success[0].value
    assert at.warning[0].value.startswith("2 of these lines are also in ledger 1 (dec.csv)")


def test_ledger_page_replaces_a_ledger_with_its_corrected_export(tmp_path: Path) -> None:
    db = tmp_path / "corrected.duckdb"
    store = Store(db)
    try:
        add_ledger(
            store, (date(2026, 10, 16), "MANUAL-1", 50_000), (date(2026, 10, 17), "M-2", 700)
        )
        reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 31)), by=OPERATOR)
        reviews.record(store, ["L:1:2"], "resolved", operator("budi"), "bank transfer")
        name = list_ledgers(store)["name"][0]  # the factory numbers names across tests
    finally:
        store.close()
    at = app(db, REKON_BOOTSTRAP="0").switch_page("pages/ledger.py").run()
    fixed = "Tanggal;Referensi;Jumlah\n16/10/2026;MANUAL-1;50.000\n17/10/2026;M-2;750\n"
    at.file_uploader[0].upload("oct-fixed.csv", fixed.encode(), "text/csv")
    at.run()
    corrects = next(s for s in at.selectbox if s.label == "This file is a corrected export of")
    assert corrects.options == ["— (a ledger of its own)", f"1 · {name}"]
    corrects.set_value(1).run()
    next(b for b in at.button if b.label == "Import ledger").click().run()
    assert_clean(at)
    assert at.success[0].value.endswith(
        "Ledger 2 replaces ledger 1: 1 of its lines are unchanged and 1 changed or gone; "
        "1 decisions on unchanged lines carried over"
    )
    assert not at.warning  # the ledger it repeated is gone
    assert at.dataframe[-1].value["id"].tolist() == [2]

    # A corrected export imported as a ledger of its own can take the old one's place later.
    final = fixed.replace("750", "760")
    at.file_uploader[0].upload("oct-final.csv", final.encode(), "text/csv")
    at.run()
    next(b for b in at.button if b.label == "Import ledger").click().run()
    assert at.warning[0].value.startswith("1 of these lines are also in ledger 2 (oct-fixed.csv)")
    at.switch_page("pages/ledger.py").run()
    assert next(s for s in at.selectbox if s.label == "Ledger to replace").value == 2
    assert next(s for s in at.selectbox if s.label == "Its corrected export").value == 3
    next(b for b in at.button if b.label == "Replace").click().run()
    assert_clean(at)
    assert "Ledger 3 replaces ledger 2: 1 of its lines are unchanged" in at.success[0].value
    assert at.dataframe[-1].value["id"].tolist() == [3]
    store = Store(db)
    try:
        assert reviews.status(store, "L:3:2") == "resolved"  # carried twice, by ana@finance
        assert reviews.history(store, "L:3:2")["reviewer"].to_list() == ["ana@finance"]
    finally:
        store.close()


def test_ledger_page_maps_columns_it_could_not_recognise(tmp_path: Path) -> None:
    at = app(tmp_path / "map.duckdb", REKON_BOOTSTRAP="0").switch_page("pages/ledger.py").run()
    odd = "Tgl Bayar;Kode;Harga Jual\n28/10/2026;A-1;1.500\n29/10/2026;A-2;2.000\n"
    at.file_uploader[0].upload("odd.csv", odd.encode(), "text/csv")
    at.run()
    assert "no column for date, amount" in at.error[0].value

    def box(label: str) -> Any:
        return next(s for s in at.selectbox if s.label == label)

    assert box("Date").options == ["—", "Tgl Bayar", "Kode", "Harga Jual"]
    box("Date").set_value("Tgl Bayar").run()
    assert "no column for amount" in at.error[0].value
    assert box("Date").value == "Tgl Bayar"  # the choice holds while the file is still unread
    box("Amount").set_value("Harga Jual").run()
    assert_clean(at)
    assert not at.error
    assert (box("Date").value, box("Amount").value) == ("Tgl Bayar", "Harga Jual")
    assert at.dataframe[0].value["amount"].tolist() == ["Rp 1.500", "Rp 2.000"]


def test_charts_page_draws_the_period_and_follows_the_provider_filter(tmp_path: Path) -> None:
    at = app(tmp_path / "charts.duckdb").switch_page("pages/charts.py").run()
    assert_clean(at)

    def figures() -> list[dict[str, Any]]:
        return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]

    def orders_drawn(figure: dict[str, Any]) -> tuple[set[str], int]:
        return (
            {x for trace in figure["data"] for x in trace["x"]},
            sum(y for trace in figure["data"] for y in trace["y"]),
        )

    titles = [f["layout"]["title"]["text"] for f in figures()]
    assert titles == [
        "Payment status by provider",
        "Paid amount per day",
        "Exceptions by class",
        "Open exceptions by age on 31 Oct 2026 (the period's end)",
        "Order amounts by status",
    ]
    assert orders_drawn(figures()[0]) == ({"Durianpay", "Xepeng"}, 10_006)
    next(m for m in at.multiselect if m.label == "Providers").set_value(["xepeng"]).run()
    assert orders_drawn(figures()[0]) == ({"Xepeng"}, 5_003)
    assert {t["name"] for t in figures()[1]["data"]} == {"Xepeng"}


def test_a_review_recorded_on_the_page_persists(tmp_path: Path) -> None:
    db = tmp_path / "review.duckdb"
    at = app(db).switch_page("pages/reconcile.py").run()
    key = next(s for s in at.selectbox if s.label == "Look at").value
    next(r for r in at.radio if r.label == "Decision").set_value("resolve")
    at.text_area[0].input("Fee booked net by finance")
    next(b for b in at.button if b.label == "Record decision").click().run()
    assert_clean(at)
    assert "Recorded resolved for 1 item(s)." in [s.value for s in at.success]

    def shown() -> tuple[list[list[str]], list[str]]:
        notes = [df.value["note"].tolist() for df in at.dataframe if "note" in df.value.columns]
        results = grid(at).value
        return notes, results.loc[results["result_key"] == key, "review_status"].tolist()

    # The panel moved on to the next open item: the next decision cannot land on this one.
    look_at = next(s for s in at.selectbox if s.label == "Look at")
    assert look_at.value != key
    assert grid(at).value.set_index("result_key").loc[look_at.value, "review_status"] == ("open")
    # At once, in the table above the form and in the item's history, not only on a later visit.
    look_at.set_value(key).run()
    assert shown() == ([["Fee booked net by finance"]], ["resolved"])
    # (That the form starts afresh after a decision is the browser test's to check: AppTest
    # keeps a form's values where the browser clears them.)

    at.switch_page("pages/reconcile.py").run()
    assert shown()[1] == ["resolved"]
    assert not at.success  # said once

    # The whole page at once: a note and a confirmation are asked for, and the resolved item
    # keeps its resolution.
    next(r for r in at.radio if r.label == "Apply to").set_value("all 100 results on this page")
    at.run()
    next(r for r in at.radio if r.label == "Decision").set_value("accept")
    at.text_area[0].input("")  # AppTest keeps a submitted form's values; the browser clears them
    next(b for b in at.button if b.label == "Record decision").click().run()
    assert "tick the confirmation" in at.error[0].value
    at.switch_page("pages/reconcile.py").run()
    next(r for r in at.radio if r.label == "Apply to").set_value("all 100 results on this page")
    at.run()
    next(c for c in at.checkbox if c.label.startswith("Yes, record this decision")).check()
    next(b for b in at.button if b.label == "Record decision").click().run()
    assert "needs a note" in at.error[0].value
    at.switch_page("pages/reconcile.py").run()
    next(r for r in at.radio if r.label == "Apply to").set_value("all 100 results on this page")
    at.run()
    next(c for c in at.checkbox if c.label.startswith("Yes, record this decision")).check()
    at.text_area[0].input("Checked against the bank statement")
    next(b for b in at.button if b.label == "Record decision").click().run()
    assert "Recorded accepted for 99 item(s). 1 already decided item(s) left as they were." in [
        s.value for s in at.success
    ]
    statuses = grid(at).value.set_index("result_key")["review_status"]
    assert statuses[key] == "resolved"
    assert set(statuses.drop(key)) == {"accepted"}
    next(s for s in at.selectbox if s.label == "Look at").set_value(key).run()
    assert shown()[0] == [["Fee booked net by finance"]]


def test_the_run_form_starts_from_the_period_not_from_the_last_one(tmp_path: Path) -> None:
    db = tmp_path / "periods.duckdb"
    store = Store(db)
    add_orders(
        store, order("xo_s", 10_000, date(2026, 9, 10)), order("xo_o", 20_000, date(2026, 10, 10))
    )
    september = add_ledger(store, (date(2026, 9, 10), "xo_s", 10_000))
    october = add_ledger(store, (date(2026, 10, 10), "xo_o", 20_000))
    reconcile(store, ReconcileParams(date(2026, 9, 1), date(2026, 9, 30), (september,),
                                     Decimal(1000), 5), by=OPERATOR)  # fmt: skip
    store.close()
    at = app(db, REKON_BOOTSTRAP="0")
    at.sidebar.selectbox[0].set_value("2026-09").run()
    at.switch_page("pages/reconcile.py").run()

    def form() -> tuple[Any, Any, Any]:
        ledgers = next(m for m in at.multiselect if m.label == "Ledgers").value
        tolerance = next(n for n in at.number_input if n.label == "Amount tolerance (Rp)").value
        window = next(n for n in at.number_input if n.label == "Date window (days)").value
        return ledgers, tolerance, window

    assert form() == ([september], 1000, 5)  # the period's last run
    at.sidebar.selectbox[0].set_value("2026-10").run()
    assert form() == ([october], 0, 3)  # October's own ledger, the defaults
    assert any("default tolerance and window" in c.value for c in at.caption)


def test_a_decision_from_a_stale_tab_is_refused_naming_who_changed_the_item(
    tmp_path: Path,
) -> None:
    db = tmp_path / "tabs.duckdb"
    first = app(db).switch_page("pages/reconcile.py").run()
    stale = app(db).switch_page("pages/reconcile.py").run()  # a second tab, drawn now
    key = str(next(s for s in stale.selectbox if s.label == "Look at").value)
    next(r for r in first.radio if r.label == "Decision").set_value("resolve")
    first.text_area[0].input("Fee booked net by finance")
    next(b for b in first.button if b.label == "Record decision").click().run()
    assert "Recorded resolved for 1 item(s)." in [s.value for s in first.success]
    # The stale tab still shows the item open, and accepts it.
    next(t for t in stale.text_input if t.label == "Reviewer").input("budi@finance")
    next(b for b in stale.button if b.label == "Record decision").click().run()
    assert_clean(stale)
    assert not stale.success
    refusal = stale.error[0].value
    assert refusal.startswith(f"{plain(key)} was resolved by ana@finance at ")
    assert "after this page was drawn: nothing was recorded" in refusal
    assert reviews.history(Store(db), key)["decision"].to_list() == ["resolved"]


def test_rows_selected_in_the_table_are_looked_at_and_decided_on_together(tmp_path: Path) -> None:
    at = app(tmp_path / "select.duckdb").switch_page("pages/reconcile.py").run()
    results = grid(at)
    keys = results.value["result_key"].tolist()
    # What a click on rows 3 and 6 sends: the table's selection, under the table's own key.
    at.session_state[results.proto.id.rsplit("-", 1)[1]] = {
        "selection": {"rows": [3, 6], "columns": [], "cells": []}
    }
    at.run()
    assert_clean(at)
    assert next(s for s in at.selectbox if s.label == "Look at").value == keys[3]
    scope = next(r for r in at.radio if r.label == "Apply to")
    assert scope.options == [
        "this result", "the 2 selected results", "all 100 results on this page"
    ]  # fmt: skip
    scope.set_value("the 2 selected results").run()
    at.text_area[0].input("Both booked on the 5th")
    next(b for b in at.button if b.label == "Record decision").click().run()
    assert "Recorded accepted for 2 item(s)." in [s.value for s in at.success]
    shown = grid(at).value.set_index("result_key")["review_status"]
    assert sorted(k for k, status in shown.items() if status == "accepted") == sorted(
        [keys[3], keys[6]]
    )
    # The selection is cleared with the decision: the next one cannot ride on it.
    assert next(r for r in at.radio if r.label == "Apply to").options == [
        "this result", "all 100 results on this page"
    ]  # fmt: skip
    assert next(s for s in at.selectbox if s.label == "Look at").value not in (keys[3], keys[6])


def test_a_decision_on_a_page_skips_results_that_need_none(tmp_path: Path) -> None:
    at = app(tmp_path / "mixed.duckdb").switch_page("pages/reconcile.py").run()
    # The 5 ambiguous lines, then 95 unpaid orders (information, not exceptions).
    next(m for m in at.multiselect if m.label == "Result").set_value(["ambiguous", "unpaid"]).run()
    next(r for r in at.radio if r.label == "Apply to").set_value("all 100 results on this page")
    at.run()
    next(c for c in at.checkbox if c.label.startswith("Yes, record this decision")).check()
    at.text_area[0].input("Cash sales, not the gateway's")
    next(b for b in at.button if b.label == "Record decision").click().run()
    assert_clean(at)
    assert [s.value for s in at.success] == [
        "Recorded accepted for 5 item(s). 95 matched or unpaid result(s) need no decision."
    ]
    statuses = grid(at).value.groupby("result")["review_status"].unique()
    assert statuses.to_dict() == {"ambiguous": ["accepted"], "unpaid": [""]}


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("ord_2ByRE9 · Rp 1.500.000", "ord_2ByRE9 · Rp 1.500.000"),  # ids and amounts as they are
        ("*bold* _it_ `code` ~x~", r"\*bold\* \_it\_ \`code\` \~x\~"),
        ("$a$ dan $b$", r"\$a\$ dan \$b\$"),  # not LaTeX
        ("![p](http://t.example/p.png)", r"!\[p\](http://t.example/p.png)"),  # no image loads
        (":red[merah] :smile:", r"\:red\[merah\] \:smile:"),
        ("# Total\n- a\n1. b\n---", "\\# Total\n\\- a\n1\\. b\n\\---"),
        ("-Rp 4.000 · line 3: '12,3'", "-Rp 4.000 · line 3: '12,3'"),
    ],
)
def test_outside_text_is_shown_as_typed_not_as_markdown(typed: str, shown: str) -> None:
    assert plain(typed) == shown
    assert re.sub(r"\\(.)", r"\1", shown, flags=re.S) == typed  # what the reader sees


def test_a_spaced_double_hyphen_stays_two_hyphens() -> None:
    # Streamlit sets " -- " as an em dash even when escaped; a code span keeps it as typed.
    assert plain("xo_'; DROP TABLE orders; -- · paid") == ("xo\\_'; DROP TABLE orders; `--` · paid")
    assert plain("a--b, c - d") == "a--b, c - d"


def test_a_ledger_line_s_reference_and_description_read_as_typed(tmp_path: Path) -> None:
    store = Store(tmp_path / "typed.duckdb")
    add_orders(store, order("xo_1", 10_000, date(2026, 10, 5)))
    reference, description = "[klik](http://x.example)", "![p](http://t.example/p.png) $a$ dan $b$"
    import_ledger(
        store,
        f"Tanggal;Referensi;Jumlah;Keterangan\n2026-10-05;xo_1;10.000;Kopi\n"
        f"2026-10-06;{reference};12.345;{description}\n".encode(),
        "typed.csv",
        by=OPERATOR,
    )
    reconcile(store, ReconcileParams(date(2026, 10, 1), date(2026, 10, 31)), by=OPERATOR)
    store.close()
    at = app(tmp_path / "typed.duckdb", REKON_BOOTSTRAP="0").switch_page("pages/reconcile.py")
    at.run()
    assert_clean(at)
    assert plain(description) in [c.value for c in at.caption]
    (line,) = [m.value for m in at.markdown if m.value.startswith("Ledger 1, line 3")]
    assert plain(reference) in line and reference not in line


def test_an_order_looked_up_shows_its_reconciliation_result(tmp_path: Path) -> None:
    at = app(tmp_path / "lookup.duckdb").switch_page("pages/reconcile.py").run()
    key = str(next(s for s in at.selectbox if s.label == "Look at").value)  # amount mismatch
    order_id = key.rsplit(":", 1)[1]
    at.switch_page("pages/orders.py").run()
    at.text_input[0].input(order_id).run()
    assert_clean(at)
    assert "In reconciliations" in [h.value for h in at.subheader]
    found = next(df.value for df in at.dataframe if "review_status" in df.value.columns)
    assert found[["run_id", "result", "review_status"]].values.tolist() == [
        [1, "amount mismatch", "open"]
    ]


def test_fetch_page_fetches_and_reports(tmp_path: Path) -> None:
    at = app(tmp_path / "fetch.duckdb", REKON_BOOTSTRAP="0").switch_page("pages/fetch.py").run()
    next(b for b in at.button if b.label == "Fetch orders").click().run()
    assert_clean(at)
    assert "Xepeng: 5.003 orders (5.003 new" in at.success[0].value
    assert at.multiselect[0].format_func("durianpay") == "Durianpay"
    assert at.dataframe[0].value["providers"].tolist() == ["Xepeng, Durianpay"]
    columns = json.loads(at.dataframe[0].proto.columns)  # a labelled date is still a date
    day = {"type": "date", "format": "D MMM YYYY"}
    assert columns["range_from"] == {"label": "From", "type_config": day}
    # Dates are picked day first, as ledgers and reviewers write them.
    assert at.date_input[0].proto.format == "DD/MM/YYYY"
    # Stored in UTC, shown on the reviewer's clock, and labelled so.
    assert columns["started_at"]["label"] == "Started (WIB)"
    started = at.dataframe[0].value["started_at"]
    assert str(started.dt.tz) == "Asia/Jakarta"
    assert (
        abs(
            started[0].tz_convert("UTC").tz_localize(None) - datetime.now(UTC).replace(tzinfo=None)
        ).seconds
        < 600
    )


def test_a_wrong_key_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    from rekon.sandbox.server import make_state, start_in_thread

    with start_in_thread(make_state()) as sandbox:
        at = (
            app(
                tmp_path / "live.duckdb",
                XEPENG_API_KEY="xp_wrong_key_zzz",
                XEPENG_BASE_URL=sandbox.url,
            )
            .switch_page("pages/fetch.py")
            .run()
        )
        assert not at.info or "Sandbox mode" not in at.info[0].value
        next(b for b in at.button if b.label == "Fetch orders").click().run()
        assert_clean(at)
        message = at.error[0].value
        assert "Xepeng refused the API key" in message and "XEPENG_API_KEY" in message
        assert "xp_wrong_key_zzz" not in message


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The media file managers AppTest makes per run (where deferred downloads live)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: list[Any] = []

    class Recording(MediaFileManager):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", Recording)
    return made


def download(at: AppTest, media: list[Any], key: str) -> tuple[str, bytes]:
    """Click a deferred download button as the browser would: the file name and the bytes."""
    button = next(b for b in at.get("download_button") if key in b.proto.id)
    manager = media[-1]
    url = manager.execute_deferred(button.proto.deferred_file_id)
    stored = manager._storage.get_file(url.rsplit("/", 1)[1])
    return str(stored.filename), bytes(stored.content)


def test_exports_page_downloads_return_the_expected_bytes(tmp_path: Path, media: list[Any]) -> None:
    import io

    import openpyxl
    import polars as pl

    from rekon.classes import EXCEPTIONS, KINDS
    from rekon.reports import EXPORT_COLUMNS

    at = app(tmp_path / "seeded.duckdb").switch_page("pages/exports.py").run()
    assert_clean(at)
    assert len(at.get("download_button")) == 2 * len(KINDS)  # every kind, CSV and XLSX each
    run = next(s for s in at.selectbox if s.label == "Run")  # told apart as on Reconcile
    assert (
        run.options[0].startswith("Run 1 · ") and "· tolerance Rp 0 · window 3 d" in run.options[0]
    )
    planned = generate().expected
    exceptions_line = next(m.value for m in at.markdown if m.value.startswith("**Exceptions**"))
    assert exceptions_line.endswith(
        f"· {sum(planned[k] for k in EXCEPTIONS):,} rows".replace(",", ".")
    )
    name, data = download(at, media, "dl_exceptions_csv")
    assert name == "rekon-2026-10-run1-exceptions.csv"
    rows = pl.read_csv(io.BytesIO(data), infer_schema=False)
    assert tuple(rows.columns) == EXPORT_COLUMNS
    assert rows.height == sum(planned[k] for k in EXCEPTIONS)
    assert dict(rows["result"].value_counts().rows()) == {
        k: planned[k] for k in EXCEPTIONS if planned[k]
    }
    name, data = download(at, media, "dl_all_xlsx")
    assert name == "rekon-2026-10-run1-all.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == [*KINDS, "run"]


def test_exports_page_offers_no_xlsx_that_excel_could_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rekon.reports
    from rekon.classes import EXCEPTIONS

    planned = generate().expected
    exceptions = sum(planned[k] for k in EXCEPTIONS)
    monkeypatch.setattr(rekon.reports, "XLSX_MAX_ROWS", exceptions)  # 'all' no longer fits
    at = app(tmp_path / "seeded.duckdb").switch_page("pages/exports.py").run()
    assert_clean(at)
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["dl_all_xlsx"].proto.disabled
    assert "use CSV" in buttons["dl_all_xlsx"].proto.help
    assert not buttons["dl_exceptions_xlsx"].proto.disabled
    assert not buttons["dl_all_csv"].proto.disabled


def test_orders_page_corrects_a_xepeng_order_live_and_audits_it(tmp_path: Path) -> None:
    from rekon.config import Settings
    from rekon.fetching import fetch_orders, make_clients
    from rekon.sandbox.data import DURIANPAY_TEST_KEY, XEPENG_TEST_KEY, DataConfig
    from rekon.sandbox.server import make_state, start_in_thread

    small = DataConfig(orders_per_month=100, months=("2026-10",), golden_month=None)
    with start_in_thread(make_state(small)) as sandbox:
        db = tmp_path / "live.duckdb"
        store = Store(db)
        fetch_orders(
            store,
            make_clients(sandbox_settings(Settings(db_path=db), sandbox.url)),
            date(2026, 10, 1),
            date(2026, 10, 31),
            by=OPERATOR,
        )
        target = next(o for o in sandbox.state.xepeng if 5 <= o.created_at.day <= 25)
        booked = tmp_path / "ledger.csv"
        booked.write_text(f"Date,Reference,Amount\n2026-10-15,{target.order_id},{target.amount}\n")
        import_ledger(store, booked, by=OPERATOR)
        store.close()
        at = app(
            db,
            XEPENG_API_KEY=XEPENG_TEST_KEY,
            XEPENG_BASE_URL=sandbox.url,
            DURIANPAY_SERVER_KEY=DURIANPAY_TEST_KEY,
            DURIANPAY_BASE_URL=sandbox.url,
        )
        at.switch_page("pages/orders.py").run()
        at.text_input[0].input(target.merchant_ref).run()
        assert_clean(at)
        next(b for b in at.button if b.label == "Fetch live from Xepeng").click().run()
        assert any(j.value and target.order_id in j.value for j in at.json)
        assert "The stored order matches Xepeng's copy." in [s.value for s in at.success]
        assert "Xepeng" in at.dataframe[0].value["provider"].tolist()  # not the code
        sandbox.state.set_status(target.order_id, "refunded")  # Xepeng's record moves on
        next(b for b in at.button if b.label == "Fetch live from Xepeng").click().run()
        assert at.warning[0].value.startswith("Xepeng's copy differs from the stored order")
        differs = next(df.value for df in at.dataframe if "at Xepeng" in df.value.columns)
        assert ("status", "paid", "refunded") in [
            tuple(r) for r in differs[["field", "stored", "at Xepeng"]].values
        ]
        # One reviewer name for the session, recorded on whatever this session does.
        next(t for t in at.sidebar.text_input if t.label == "Reviewer").input("budi@finance")

        next(t for t in at.text_input if t.label == "Description").input("Kopi Gayo 250g")
        next(b for b in at.button if b.label == "Send correction to Xepeng").click().run()
        assert "Tick the confirmation first" in at.error[0].value
        assert sandbox.state.by_id[target.order_id].description != "Kopi Gayo 250g"

        next(t for t in at.text_input if t.label == "Description").input("Kopi Gayo 250g")
        next(c for c in at.checkbox if c.label.startswith("I confirm")).check()
        next(b for b in at.button if b.label == "Send correction to Xepeng").click().run()
        assert_clean(at)
        assert "recorded in the audit trail" in at.success[0].value
        assert sandbox.state.by_id[target.order_id].description == "Kopi Gayo 250g"
        assert '"Kopi Gayo 250g"' in at.json[0].value  # the stored order now says so too
        trail = at.dataframe[-1].value
        assert trail["action"].tolist() == ["Correction sent to Xepeng"]
        assert trail["actor"].tolist() == ["budi@finance"]
        assert trail["detail"][0].endswith("→ 'Kopi Gayo 250g'")
        assert trail["detail"][0].startswith("description: ")
        # The sent form starts afresh in the browser: the confirmation does not stay ticked.
        # (AppTest keeps a submitted form's values, so the form's own setting is checked.)
        forms = {f.proto.form.form_id: f.proto.form.clear_on_submit for f in at.get("form")}
        assert forms["correct"] is True

        next(b for b in at.button if b.label.startswith("Re-run the reconciliation")).click().run()
        assert_clean(at)
        assert at.success[0].value.startswith("Run 1:")
        # The order's results show the new run at once, and the offer to re-run is done.
        found = next(df.value for df in at.dataframe if "review_status" in df.value.columns)
        assert found["run_id"].tolist() == [1]
        assert not [b for b in at.button if b.label.startswith("Re-run the reconciliation")]


def test_exception_ages_run_to_the_period_end_once_it_is_over(tmp_path: Path) -> None:
    at = app(tmp_path / "ages.duckdb").switch_page("pages/charts.py").run()
    assert_clean(at)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ages = next(c for c in charts if "Open exceptions by age" in c["layout"]["title"]["text"])
    assert ages["layout"]["title"]["text"] == (
        "Open exceptions by age on 31 Oct 2026 (the period's end)"
    )
    buckets = {x for trace in ages["data"] for x in trace["x"]}
    assert buckets <= {"0–7 days", "8–30 days", "31–60 days"}  # October, seen from its end
    assert "over 60 days" not in buckets
    assert any(c.value.startswith("Not exceptions: matched ") for c in at.caption)


def test_a_reload_or_a_shared_link_shows_the_same_filtered_page(tmp_path: Path) -> None:
    db = tmp_path / "address.duckdb"
    at = app(db).switch_page("pages/reconcile.py").run()
    next(m for m in at.multiselect if m.label == "Result").set_value(["missing_in_ledger"]).run()
    next(m for m in at.multiselect if m.label == "Provider").set_value(["durianpay"]).run()
    next(n for n in at.number_input if n.label.startswith("Page (of")).set_value(2).run()
    assert_clean(at)
    shown = grid(at).value["result_key"].tolist()
    address = dict(at.query_params)
    assert address == {
        "month": "2026-10", "run": "1", "classes": "missing_in_ledger",
        "providers": "durianpay", "page": "2",
    }  # fmt: skip
    # A new session opened on that address: another tab, a reload, a colleague's link.
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    again.secrets["REKON_DB"] = str(db)
    again.query_params.update(address)
    again.run().switch_page("pages/reconcile.py").run()
    assert_clean(again)
    assert next(m for m in again.multiselect if m.label == "Result").value == ["missing_in_ledger"]
    assert next(n for n in again.number_input if n.label.startswith("Page (of")).value == 2
    assert grid(again).value["result_key"].tolist() == shown


def test_a_range_inside_a_reconciled_month_shows_that_month_s_results_for_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "inside.duckdb"
    at = app(db)
    at.sidebar.radio[0].set_value("Custom range").run()
    at.sidebar.date_input[0].set_value((date(2026, 10, 15), date(2026, 10, 20))).run()
    at.switch_page("pages/reconcile.py").run()
    assert_clean(at)
    assert not [i for i in at.info if i.value.startswith("No reconciliation")]
    assert any(
        i.value
        == "Run 1 reconciled 1–31 Oct 2026: shown here are its results dated 15–20 Oct 2026."
        for i in at.info
    )
    inside = (date(2026, 10, 15), date(2026, 10, 20))
    expected, _ = results_page(Store(db), 1, ResultFilter(results=EXCEPTIONS, within=inside))
    assert grid(at).value["result_key"].tolist() == expected["result_key"].to_list()
    assert set(expected["anchor_date"]) <= {date(2026, 10, d) for d in range(15, 21)}
    assert dict(at.query_params)["from"] == "2026-10-15"
    total = sum(int(v["count"].replace(".", "")) for v in classes(at).values())
    assert 0 < total < 10_006  # the range's results, not the month's


def test_leftovers_ticked_on_different_pages_are_matched_by_hand(tmp_path: Path) -> None:
    db = tmp_path / "basket.duckdb"
    at = app(db).switch_page("pages/reconcile.py").run()

    def tick_first(result: str) -> str:
        next(m for m in at.multiselect if m.label == "Result").set_value([result]).run()
        table = grid(at)
        at.session_state[table.proto.id.rsplit("-", 1)[1]] = {
            "selection": {"rows": [0], "columns": [], "cells": []}
        }
        at.run()
        next(b for b in at.button if b.label.startswith("Add the 1 ticked")).click().run()
        return str(table.value["result_key"][0])

    order_key = tick_first("missing_in_ledger")
    line_key = tick_first("missing_in_provider")  # another filter: the basket keeps the order
    shown = next(m.value for m in at.markdown if m.value.startswith("In the match: "))
    assert shown.startswith("In the match: 1 order(s) Rp ") and "1 line(s) Rp " in shown
    next(s for s in at.selectbox if s.label.startswith("Reason")).set_value("other")
    next(t for t in at.text_input if t.label.startswith("Note (required")).input("Paid by transfer")
    next(b for b in at.button if b.label == "Match selected").click().run()
    assert_clean(at)
    assert "Matched by hand as 1; the next run of the period applies it." in [
        s.value for s in at.success
    ]
    # The rows just matched are no longer ticked: nothing to add again.
    assert not [b for b in at.button if b.label.startswith("Add the")]
    next(b for b in at.button if b.label == "Run reconciliation").click().run()
    store = Store(db)
    manual = store.query(
        "SELECT result_key, rule, group_id, reason FROM recon_results"
        " WHERE run_id = 2 AND rule = 'manual'"
    ).rows()
    store.close()
    assert manual == [(order_key, "manual", 1, "other")]
    assert line_key.startswith("L:")
    # The result's panel says it was matched by hand, with its history and Remove.
    next(m for m in at.multiselect if m.label == "Result").set_value(
        ["matched", "amount_mismatch"]
    ).run()
    next(t for t in at.text_input if t.label.startswith("Search")).input(
        order_key.split(":")[2]
    ).run()
    assert_clean(at)
    assert any(i.value.startswith("Matched by hand as 1 by ana@finance · other") for i in at.info)
    next(t for t in at.text_input if t.label == "Why remove it").input("wrong transfer")
    next(b for b in at.button if b.label == "Remove").click().run()
    assert "Removed manual match 1; its history stays." in [s.value for s in at.success]


def test_suggestions_are_listed_with_their_evidence_and_accepted_from_the_page(
    tmp_path: Path,
) -> None:
    at = app(tmp_path / "suggest.duckdb").switch_page("pages/reconcile.py").run()
    next(t for t in at.toggle if t.label.startswith("Find suggested matches")).set_value(True).run()
    assert_clean(at)
    evidence = [c.value for c in at.caption if "apart" in c.value or "same day" in c.value]
    assert evidence and all(" · " in e for e in evidence)
    first = next(b for b in at.button if b.label == "Accept")
    first.click().run()
    assert_clean(at)
    assert [s.value for s in at.success if s.value.startswith("Accepted as manual match")] == [
        "Accepted as manual match 1."
    ]
    next(b for b in at.button if b.label == "Decline").click().run()
    assert "Declined: it will not be suggested again." in [s.value for s in at.success]
