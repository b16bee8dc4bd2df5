"""Exact money: every supported style parses, round-trips, and agrees between Python and polars."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rekon.money import (
    DecimalStyle,
    MoneyError,
    format_amount,
    format_count,
    format_idr,
    format_plain,
    parse_amount,
    parse_api_amount,
)
from rekon.money_columns import amount_expr, side_expr, sniff_style

amounts = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.500.000,00", "1500000.00"),
        ("1,500,000.00", "1500000.00"),
        ("1500000", "1500000.00"),
        ("Rp 1.500.000", "1500000.00"),
        ("Rp1.500.000,50", "1500000.50"),
        ("IDR 25.000", "25000.00"),
        ("-1.000", "-1000.00"),
        ("(1.000)", "-1000.00"),
        ("Rp (2.500,00)", "-2500.00"),
        ("20000.00", "20000.00"),
        ("Rp 3.000,-", "3000.00"),  # the dash stands for the cents of a round amount
        ("-Rp 3.000,-", "-3000.00"),
        ("(4.000,-)", "-4000.00"),
        ("3,000.-", "3000.00"),
    ],
)
def test_parse_amount_reads_every_style(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "1.50.0", "1,5,0.0,0", "Rp", "12..5"])
def test_parse_amount_refuses_what_it_cannot_read_exactly(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


@given(amounts, st.sampled_from(list(DecimalStyle)), st.booleans())
def test_format_then_parse_round_trips(value: Decimal, style: DecimalStyle, prefix: bool) -> None:
    text = format_amount(value, style, prefix="Rp " if prefix else "")
    assert parse_amount(text, style) == value


@given(st.lists(amounts, min_size=1, max_size=30), st.sampled_from(list(DecimalStyle)))
def test_polars_column_parsing_agrees_with_the_scalar_parser(
    values: list[Decimal], style: DecimalStyle
) -> None:
    texts = [format_amount(v, style) for v in values]
    frame = pl.DataFrame({"a": texts}).select(amount_expr(pl.col("a"), style))
    assert frame["a"].to_list() == [parse_amount(t, style) for t in texts] == values


def test_column_style_is_decided_from_all_values() -> None:
    assert sniff_style(pl.Series(["1.500", "20.000", "7.250,50"])) is DecimalStyle.COMMA
    assert sniff_style(pl.Series(["1,500", "20,000", "7,250.50"])) is DecimalStyle.POINT
    assert sniff_style(pl.Series(["1.500.000", "25.000"])) is DecimalStyle.COMMA
    assert sniff_style(pl.Series(["150000", "20000"])) is DecimalStyle.COMMA
    # Evidence counts per row, not per distinct text: a repeated amount outweighs two odd ones.
    mixed = ["1.500,00"] * 50 + ["2,500.00", "3,000.00"]
    assert sniff_style(pl.Series(mixed)) is DecimalStyle.COMMA


def test_api_amounts_never_pass_through_binary_floats() -> None:
    assert parse_api_amount(0.1) == Decimal("0.10")
    assert parse_api_amount("20000.00") == Decimal("20000.00")
    assert parse_api_amount(150000) == Decimal("150000.00")
    with pytest.raises(MoneyError):
        parse_api_amount(None)
    # What DECIMAL(18,2) cannot hold is refused here, by value, not by the database later.
    assert parse_api_amount("9999999999999999.99") == Decimal("9999999999999999.99")
    for value in ("NaN", "Infinity", "-inf", 1e17, "10000000000000000"):
        with pytest.raises(MoneyError, match=r"not an amount|too large"):
            parse_api_amount(value)


def test_formats_for_people_and_machines() -> None:
    assert format_idr(Decimal("1500000.00")) == "Rp 1.500.000"
    assert format_idr(Decimal("-2500.50")) == "-Rp 2.500,50"
    assert format_plain(Decimal("150000")) == "150000.00"
    # A count with a comma would read as a fraction to an Indonesian reader.
    assert [format_count(n) for n in (7, 7925, 1_048_575)] == ["7", "7.925", "1.048.575"]


MARKS = {"CR": "credit", "Cr.": "credit", "K": "credit", "DB": "debit", "Dr": "debit", "D": "debit"}


@given(
    st.lists(st.tuples(amounts, st.sampled_from(list(MARKS))), min_size=1, max_size=30),
    st.sampled_from(list(DecimalStyle)),
)
def test_side_marked_amounts_read_their_value_and_their_side(
    marked: list[tuple[Decimal, str]], style: DecimalStyle
) -> None:
    # A bank statement marks the side instead of signing: "1.500.000,00 CR", "250.000 DB".
    texts = [f"{format_amount(abs(v), style)} {mark}" for v, mark in marked]
    frame = pl.DataFrame({"a": texts}).select(
        amount_expr(pl.col("a"), style).alias("amount"), side_expr(pl.col("a")).alias("side")
    )
    assert frame["amount"].to_list() == [abs(v) for v, _ in marked]
    assert frame["side"].to_list() == [MARKS[mark] for _, mark in marked]


def test_round_amounts_written_with_a_dash_read_in_a_column_too() -> None:
    texts = pl.Series("a", ["Rp 3.000,-", "1.500.000,-", "250.000,00-", "3.000,- DB"])
    assert sniff_style(texts) is DecimalStyle.COMMA
    frame = texts.to_frame().select(
        amount_expr(pl.col("a"), DecimalStyle.COMMA).alias("v"), side_expr(pl.col("a")).alias("s")
    )
    assert frame["v"].to_list() == [Decimal(v) for v in ("3000", "1500000", "-250000", "3000")]
    assert frame["s"].to_list() == [None, None, None, "debit"]
