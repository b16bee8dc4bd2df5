"""The overview's figures and the charts draw what the store holds: every figure adds up to the
orders and results behind it, charts in the fixed colours, amounts in Indonesian style."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import pytest

from rekon import charts, reports, results
from rekon.access import operator
from rekon.classes import EXCEPTIONS
from rekon.matching import ReconcileParams, reconcile
from rekon.store import Store
from tests.conftest import OCTOBER
from tests.factories import OPERATOR, add_ledger, add_orders, order

START, END = OCTOBER


@pytest.fixture
def month(store: Store) -> tuple[Store, int]:
    add_orders(
        store,
        order("xo_1", 150_000, date(2026, 10, 1)),
        order("xo_2", 2_750_000, date(2026, 10, 1)),
        order("xo_3", 45_000, date(2026, 10, 2), "expired"),
        order("xo_4", 99_000, date(2026, 10, 20)),
        order("dp_1", 600_000, date(2026, 10, 2), provider="durianpay"),
        order("dp_2", 80_000, date(2026, 10, 2), "pending", provider="durianpay"),
        order("dp_3", 1_200_000, date(2026, 9, 30), provider="durianpay"),  # September
    )
    add_ledger(
        store,
        (date(2026, 10, 1), "xo_1", 150_000),
        (date(2026, 10, 1), "xo_2", 2_700_000),  # amount_mismatch
        (date(2026, 10, 2), "dp_1", 600_000),
        (date(2026, 10, 3), "CASH-9", 25_000),  # missing_in_provider
    )
    return store, reconcile(store, ReconcileParams(START, END), by=OPERATOR).run_id


def bars(fig: go.Figure) -> dict[str, dict[object, float]]:
    """Each trace's y by x."""
    return {t.name: dict(zip(t.x, t.y, strict=True)) for t in fig.data}


def test_status_chart_stacks_every_order_of_the_period_by_status(
    month: tuple[Store, int],
) -> None:
    store, _ = month
    fig = charts.status_by_provider(reports.status_by_provider(store, START, END))
    assert bars(fig) == {
        "paid": {"Durianpay": 1, "Xepeng": 3},
        "pending": {"Durianpay": 1},
        "expired": {"Xepeng": 1},
    }
    assert [t.marker.color for t in fig.data] == [
        charts.STATUS_COLORS[s] for s in ("paid", "pending", "expired")
    ]
    only = reports.status_by_provider(store, START, END, ("durianpay",))
    assert bars(charts.status_by_provider(only)) == {
        "paid": {"Durianpay": 1},
        "pending": {"Durianpay": 1},
    }


def test_paid_per_day_adds_up_to_the_paid_amount(month: tuple[Store, int]) -> None:
    store, _ = month
    fig = charts.paid_per_day(reports.paid_per_day(store, START, END))
    assert bars(fig) == {
        "Durianpay": {date(2026, 10, 2): 600_000},
        "Xepeng": {date(2026, 10, 1): 2_900_000, date(2026, 10, 20): 99_000},
    }
    assert "Rp %{y:,.0f}" in fig.data[0].hovertemplate


def test_result_chart_counts_and_sums_every_class(month: tuple[Store, int]) -> None:
    store, run_id = month
    totals = results.class_totals(store, run_id)
    fig = charts.result_classes(totals)
    count, amount = fig.data
    shown = {r: (n, a) for r, n, a in zip(count.x, count.y, amount.y, strict=True) if n}
    assert shown == {
        "amount mismatch": (1, 2_700_000),  # the ledger's amount
        "missing in ledger": (1, 99_000),
        "missing in provider": (1, 25_000),
    }
    # Every exception class on its own scale; matched and unpaid do not dwarf them.
    assert list(count.x) == [r.replace("_", " ") for r in EXCEPTIONS]
    assert list(count.marker.color) == [charts.RESULT_COLORS[r] for r in EXCEPTIONS]
    assert fig.layout.title.text == "Exceptions by class"


def test_missing_on_either_side_are_told_apart_by_colour() -> None:
    def rgb(hex_colour: str) -> tuple[int, ...]:
        return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))

    ledger, provider = (
        rgb(charts.RESULT_COLORS[c]) for c in ("missing_in_ledger", "missing_in_provider")
    )
    assert sum(abs(a - b) for a, b in zip(ledger, provider, strict=True)) > 200


def test_paid_per_day_starts_at_zero_and_writes_days_as_the_tables_do(
    month: tuple[Store, int],
) -> None:
    store, _ = month
    fig = charts.paid_per_day(reports.paid_per_day(store, START, END))
    assert fig.layout.yaxis.rangemode == "tozero"
    assert fig.layout.xaxis.tickformat == "%-d %b"
    assert fig.data[0].hovertemplate.startswith("%{x|%-d %b %Y}")


def test_open_exceptions_are_bucketed_by_age_and_reviewed_ones_leave(
    month: tuple[Store, int],
) -> None:
    from rekon import reviews

    store, run_id = month
    period_end = date(2026, 10, 31)  # 30 days after 1 Oct, 11 after 20 Oct, 28 after 3 Oct
    aged = reports.exceptions_by_age(store, run_id, period_end)
    assert bars(charts.exceptions_by_age(aged)) == {
        "amount mismatch": {"8–30 days": 1},
        "missing in ledger": {"8–30 days": 1},
        "missing in provider": {"8–30 days": 1},
    }  # in the classes' order, as every page lists them
    reviews.record(store, ["O:xepeng:xo_4"], "accepted", OPERATOR, run_id=run_id)
    aged = reports.exceptions_by_age(store, run_id, period_end)
    assert "missing in ledger" not in bars(charts.exceptions_by_age(aged))


def test_amount_bands_run_from_small_to_large_and_hold_every_order(
    month: tuple[Store, int],
) -> None:
    store, _ = month
    fig = charts.amount_distribution(reports.amount_distribution(store, START, END))
    assert list(fig.layout.xaxis.categoryarray) == [
        "< 50 rb", "50–100 rb", "100–250 rb", "500 rb–1 jt", "≥ 2,5 jt",
    ]  # fmt: skip
    assert sum(sum(ys.values()) for ys in bars(fig).values()) == 6


def test_amounts_on_the_axes_are_whole_rupiah_in_indonesian_style(
    month: tuple[Store, int],
) -> None:
    store, run_id = month
    for fig in (
        charts.paid_per_day(reports.paid_per_day(store, START, END)),
        charts.result_classes(results.class_totals(store, run_id)),
    ):
        assert fig.layout.separators == ",."
        axes = [fig.layout[name] for name in fig.layout if name.startswith("yaxis")]
        assert axes and all(a.tickformat == ",.0f" and a.exponentformat == "none" for a in axes)


def test_overview_figures_per_provider_and_in_total(month: tuple[Store, int]) -> None:
    from rekon import reviews

    store, run_id = month

    def kpis() -> dict[str, tuple[object, ...]]:
        frame = reports.provider_kpis(store, START, END, run_id)
        columns = ("orders", "paid", "paid_amount", "matched", "exceptions", "open_exceptions")
        return {r["provider"]: tuple(r[c] for c in columns) for r in frame.iter_rows(named=True)}

    assert kpis() == {
        "durianpay": (2, 1, 600_000, 1, 0, 0),
        "xepeng": (4, 3, 2_999_000, 1, 2, 2),
        # the line no order explains has a row of its own, so the rows add up to the total
        "ledger_only": (0, 0, 0, 0, 1, 1),
        "total": (6, 4, 3_599_000, 2, 3, 3),
    }
    reviews.record(store, ["O:xepeng:xo_2"], "accepted", OPERATOR, run_id=run_id)
    assert kpis()["xepeng"][-2:] == (2, 1) and kpis()["total"][-2:] == (3, 2)
    reviews.record(store, ["O:xepeng:xo_2"], "reopened", operator("budi"), run_id=run_id)
    assert kpis()["total"][-2:] == (3, 3)
    assert reports.provider_kpis(store, date(2026, 12, 1), date(2026, 12, 31), None).is_empty()
