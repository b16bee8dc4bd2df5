"""Plotly figures from small, already-aggregated frames. No I/O here."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from rekon.classes import EXCEPTIONS, class_name
from rekon.providers.base import PROVIDER_TITLES, provider_title

STATUS_COLORS = {
    "paid": "#0f766e", "pending": "#f59e0b", "expired": "#94a3b8", "failed": "#dc2626",
    "cancelled": "#64748b", "refunded": "#7c3aed", "unknown": "#111827",
}  # fmt: skip
RESULT_COLORS = {
    "matched": "#0f766e", "amount_mismatch": "#f59e0b", "status_mismatch": "#ea580c",
    # Missing on either side must not read as one red: the ledger's in red, the provider's blue.
    "missing_in_ledger": "#dc2626", "missing_in_provider": "#1d4ed8",
    "duplicate_in_ledger": "#7c3aed", "ambiguous": "#0ea5e9", "unpaid": "#94a3b8",
    "refunded": "#a3a3a3", "awaiting_settlement": "#cbd5e1", "settlement_late": "#be185d",
}  # fmt: skip
PROVIDER_COLORS = {"xepeng": "#0f766e", "durianpay": "#f59e0b"}


def _layout(fig: go.Figure, title: str, y_title: str = "") -> go.Figure:
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=380,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        yaxis_title=y_title,
        separators=",.",  # Indonesian: 1.500.000,50
    )
    # Whole numbers on the axes and in the hover: plotly's own "120M" and "4B" would read as
    # miliar beside the overview's "Rp 2,21 M", where M is Indonesian for a thousand million.
    fig.update_yaxes(tickformat=",.0f", hoverformat=",.0f", exponentformat="none")
    return fig


def _float(frame: pl.DataFrame, *cols: str) -> pl.DataFrame:
    # Plotly draws doubles; aggregation already happened exactly in DuckDB.
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c in cols if c in frame.columns)


def _bars_by_status(frame: pl.DataFrame, x: str) -> go.Figure:
    """One bar trace per order status, in the fixed status order and colours."""
    fig = go.Figure()
    for status in STATUS_COLORS:
        part = frame.filter(pl.col("status") == status)
        if part.height:
            fig.add_bar(
                name=status,
                x=part[x].to_list(),
                y=part["orders"].to_list(),
                marker_color=STATUS_COLORS[status],
            )
    return fig


def status_by_provider(frame: pl.DataFrame) -> go.Figure:
    titled = frame.with_columns(pl.col("provider").replace(PROVIDER_TITLES))
    fig = _bars_by_status(titled, "provider")
    fig.update_layout(barmode="stack")
    return _layout(fig, "Payment status by provider", "orders")


def paid_per_day(frame: pl.DataFrame) -> go.Figure:
    frame = _float(frame, "paid_amount")
    fig = go.Figure()
    for provider in frame["provider"].unique().sort().to_list():
        part = frame.filter(pl.col("provider") == provider)
        fig.add_scatter(
            name=provider_title(provider),
            x=part["business_date"].to_list(),
            y=part["paid_amount"].to_list(),
            mode="lines+markers",
            line={"color": PROVIDER_COLORS.get(provider)},
            hovertemplate="%{x|%-d %b %Y}<br>Rp %{y:,.0f}<extra>"
            + provider_title(provider)
            + "</extra>",
        )
    fig = _layout(fig, "Paid amount per day", "Rp")
    # From zero, so a quiet day looks quiet; days as the tables write them (4 Oct).
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(tickformat="%-d %b")
    return fig


def result_classes(frame: pl.DataFrame) -> go.Figure:
    """The exception classes only, on their own scale: beside matched (and unpaid, which is
    information) every exception would be a sliver. The page states the rest in words."""
    from plotly.subplots import make_subplots

    frame = _float(frame.filter(pl.col("result").is_in(EXCEPTIONS)), "amount")
    # Room between the two for the amount axis, whose labels are written out in full.
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Count", "Amount (Rp)"), horizontal_spacing=0.2
    )
    colors = [RESULT_COLORS.get(r, "#999") for r in frame["result"].to_list()]
    names = [class_name(r) for r in frame["result"].to_list()]
    for col, measure in enumerate(("count", "amount"), start=1):
        y = frame[measure].to_list()
        fig.add_bar(x=names, y=y, marker_color=colors, showlegend=False, row=1, col=col)
    return _layout(fig, "Exceptions by class")


def exceptions_by_age(frame: pl.DataFrame, title: str = "Open exceptions by age") -> go.Figure:
    fig = go.Figure()
    for result in RESULT_COLORS:  # in the classes' own order, as every page lists them
        part = frame.filter(pl.col("result") == result)
        if not part.height:
            continue
        fig.add_bar(
            name=class_name(result),
            x=part["age"].to_list(),
            y=part["count"].to_list(),
            marker_color=RESULT_COLORS.get(result),
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, title, "exceptions")


def amount_distribution(frame: pl.DataFrame) -> go.Figure:
    bands = frame.sort("lowest")["band"].unique(maintain_order=True).to_list()
    fig = _bars_by_status(frame, "band")
    fig.update_layout(barmode="group", xaxis={"categoryorder": "array", "categoryarray": bands})
    return _layout(fig, "Order amounts by status", "orders")


def fees_per_day(frame: pl.DataFrame) -> go.Figure:
    """The gateways' fees per settlement day, stacked by payment method (per provider when
    both are shown: 'Durianpay QRIS')."""
    frame = _float(frame, "fee")
    several = frame["provider"].n_unique() > 1
    fig = go.Figure()
    keys = frame.select("provider", "method").unique().sort(["provider", "method"])
    for provider, method in keys.iter_rows():
        part = frame.filter((pl.col("provider") == provider) & (pl.col("method") == method))
        fig.add_bar(
            name=f"{provider_title(provider)} {method}" if several else method,
            x=part["day"].to_list(),
            y=part["fee"].to_list(),
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(tickformat=",.0f")
    return _layout(fig, "Fees per day and payment method", "Rp")


def settlement_delays(frame: pl.DataFrame) -> go.Figure:
    """How many payments were paid out D+0, D+1 … after they were paid, per provider."""
    fig = go.Figure()
    for provider in frame["provider"].unique().sort().to_list():
        part = frame.filter(pl.col("provider") == provider)
        fig.add_bar(
            name=provider_title(provider),
            x=[f"D+{d}" for d in part["days"].to_list()],
            y=part["payments"].to_list(),
            marker_color=PROVIDER_COLORS.get(provider),
        )
    fig.update_layout(barmode="group")
    return _layout(fig, "Settlement delay: days from payment to payout", "payments")
