"""Money in whole columns: the rules of `money.py` as polars expressions, so a million ledger
lines are parsed by the engine, never by a Python loop."""

from __future__ import annotations

import re

import polars as pl

from rekon.money import _PATTERNS, _SEPARATORS, DecimalStyle

# DECIMAL(18,2): up to 10^16 rupiah, far beyond any order.
MONEY_DTYPE = pl.Decimal(18, 2)


# Bank-style exports mark an amount's side instead of signing it: "1.500.000,00 CR",
# "250.000,00 DB" (also Dr, D, K). The mark follows the number (or its closing bracket).
_SIDE_MARK = r"(?i)([\d)\-])[\s\u00a0]*(cr|dr|db|k|d)\.?[\s\u00a0]*$"


def side_expr(col: pl.Expr) -> pl.Expr:
    """'credit' or 'debit' where an amount text carries a side mark, else null."""
    mark = col.cast(pl.String).str.extract(_SIDE_MARK, 2).str.to_lowercase()
    return (
        pl.when(mark.is_in(["cr", "k"]))
        .then(pl.lit("credit"))
        .when(mark.is_not_null())
        .then(pl.lit("debit"))
    )


def _unmarked(col: pl.Expr) -> pl.Expr:
    """The amount without its side mark and without a no-cents dash ("3.000,-")."""
    text = col.cast(pl.String).str.replace(_SIDE_MARK, "$1")
    return text.str.replace(r"[.,]-(\)?)[\s\u00a0]*$", "$1")


def _body_expr(col: pl.Expr) -> pl.Expr:
    return (
        _unmarked(col)
        .str.replace_all(r"(?i)rp\.?|idr|[\s\u00a0]", "")
        .str.replace_all(r"^\((.*)\)$", "$1")
        .str.strip_chars("-")
    )


def _negative_expr(col: pl.Expr) -> pl.Expr:
    text = _unmarked(col).str.replace_all(r"(?i)rp\.?|idr|[\s\u00a0]", "")
    parens = text.str.contains(r"^\(.*\)$")
    minus = text.str.replace_all(r"^\((.*)\)$", "$1").str.contains(r"^-|-$")
    return parens.xor(minus)


def sniff_style(
    values: pl.Series | pl.DataFrame, prefer: DecimalStyle | None = None
) -> DecimalStyle:
    """Decide the decimal style of a whole column from the evidence in all of its values (a
    Series, or its distinct texts `t` already counted in `rows`); with no evidence either way,
    the preferred style (a saved mapping's), else Indonesian.
    Each distinct text is read once and weighs as many rows as carry it: a ledger repeats its
    amounts, so this reads thousands of texts instead of a million."""
    if isinstance(values, pl.Series):
        values = values.rename("t").value_counts(name="rows")
    body = values.select(_body_expr(pl.col("t")).alias("b"), "rows").drop_nulls("b")

    def rows_like(pattern: str) -> int:
        return int(body.filter(pl.col("b").str.contains(pattern))["rows"].sum())

    comma, point = rows_like(r",\d{1,2}$|\..*\."), rows_like(r"\.\d{1,2}$|,.*,")
    if comma != point:
        return DecimalStyle.COMMA if comma > point else DecimalStyle.POINT
    dot_thousands, comma_thousands = rows_like(r"^\d{1,3}\.\d{3}$"), rows_like(r"^\d{1,3},\d{3}$")
    if comma_thousands == dot_thousands:
        return prefer or DecimalStyle.COMMA
    return DecimalStyle.POINT if comma_thousands > dot_thousands else DecimalStyle.COMMA


def amount_expr(col: pl.Expr, style: DecimalStyle) -> pl.Expr:
    """A column of amount texts as DECIMAL(18,2); null where a value is not a valid amount."""
    body = _body_expr(col)
    thousands, decimal = _SEPARATORS[style]
    valid = body.str.contains(_PATTERNS[style].pattern)
    number = (
        body.str.replace_all(re.escape(thousands), "", literal=False)
        .str.replace_all(re.escape(decimal), ".", literal=False)
        .cast(MONEY_DTYPE, strict=False)
    )
    signed = pl.when(_negative_expr(col)).then(-number).otherwise(number)
    return pl.when(valid).then(signed).otherwise(None).cast(MONEY_DTYPE)
