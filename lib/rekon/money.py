"""Money: exact Decimal parsing and formatting for IDR in its Indonesian and English styles.

Two entry points for the same rules: `parse_amount` here for one value at the edge (an API
field, a CLI flag), and `money_columns.amount_expr` for a whole column inside polars, so a
million ledger lines are parsed by the engine, never by a Python loop. This module imports no
polars: a command that only prints amounts starts without it.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

CENT = Decimal("0.01")
# DECIMAL(18,2): up to 10^16 rupiah, far beyond any order (MONEY_DTYPE in money_columns.py).
MAX_AMOUNT = Decimal(10) ** 16
TOO_LARGE = "too large: amounts are kept up to 16 digits before the decimal"


# How a ledger's currency column writes rupiah, upper-cased; the gateways' orders are in IDR.
RUPIAH = ("IDR", "RP", "RP.", "RUPIAH")


class DecimalStyle(StrEnum):
    COMMA = "comma"  # 1.500.000,00 (Indonesian)
    POINT = "point"  # 1,500,000.00 (English)

    @property
    def sample(self) -> str:
        """One and a half million written in this style, to show a reader."""
        return "1.500.000,00" if self is DecimalStyle.COMMA else "1,500,000.00"


class MoneyError(ValueError):
    """A text that is not an amount Rekon can read exactly."""


_NOISE = re.compile(r"(?i)rp\.?|idr|[\s\u00a0]")
_PATTERNS = {
    DecimalStyle.COMMA: re.compile(r"^(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d{1,2})?$"),
    DecimalStyle.POINT: re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$"),
}
_SEPARATORS = {DecimalStyle.COMMA: (".", ","), DecimalStyle.POINT: (",", ".")}


# "Rp 3.000,-": a dash for the cents of a round amount, not a minus sign.
_NO_CENTS = re.compile(r"[.,]-(\)?)$")


def _split_sign(text: str) -> tuple[bool, str]:
    body = _NO_CENTS.sub(r"\1", _NOISE.sub("", text))
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    if body.startswith("-") or body.endswith("-"):
        negative, body = not negative, body.strip("-")
    body = _NOISE.sub("", body)
    return negative, body


def guess_style(text: str) -> DecimalStyle:
    """The style one value must be in; plain integers and '1.500' read as Indonesian."""
    _, body = _split_sign(text)
    if re.search(r",\d{1,2}$", body) or body.count(".") > 1:
        return DecimalStyle.COMMA
    if re.search(r"\.\d{1,2}$", body) or body.count(",") > 1 or re.search(r",\d{3}$", body):
        return DecimalStyle.POINT
    return DecimalStyle.COMMA


def parse_amount(text: str | int | Decimal, style: DecimalStyle | None = None) -> Decimal:
    """Parse '1.500.000,00', '1,500,000.00', 'Rp 1.500.000', '(1.000)' or '-1.000' exactly.

    Raises MoneyError for anything else; never rounds silently beyond whole cents.
    """
    if isinstance(text, Decimal | int):
        return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    style = style or guess_style(text)
    negative, body = _split_sign(text)
    if not _PATTERNS[style].match(body):
        raise MoneyError(f"{text!r} is not an amount in the {style} style")
    thousands, decimal = _SEPARATORS[style]
    try:
        value = Decimal(body.replace(thousands, "").replace(decimal, "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules this out
        raise MoneyError(f"{text!r} is not an amount") from exc
    value = value.quantize(CENT)
    return -value if negative else value


def amount_problem(text: str, style: DecimalStyle) -> str:
    """Why a ledger's amount text cannot be stored, in words a bookkeeper can act on."""
    _, body = _split_sign(text)
    thousands, decimal = _SEPARATORS[style]
    whole, _, cents = body.partition(decimal)
    if cents.isdigit() and len(cents) > 2 and _PATTERNS[style].match(whole):
        return f"more than two decimals: amounts are kept to the cent, like {style.sample}"
    if _PATTERNS[style].match(body) and len(whole.replace(thousands, "")) > 16:
        return TOO_LARGE
    return f"not an amount like {style.sample}"


# A plain decimal in ASCII digits: what Python's Decimal() takes beyond it ('1_000', Arabic-Indic
# digits, 'NaN', '1e3') is not how an API writes an amount.
_API_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def parse_api_amount(value: object) -> Decimal:
    """An amount as APIs send it: a JSON number or a plain decimal string ('20000.00').

    As strict as a ledger's amounts: never rounded (123.456 is refused, not 123.46), never
    more than 16 digits before the decimal. Raises MoneyError saying which."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, float):
        # The shortest repr is the decimal the sender wrote; 1e+17 is written out to be refused
        # below as too large, NaN and inf are refused by the pattern.
        value = repr(value) if "e" not in repr(value) else f"{value:f}"
    text = str(value).strip()
    if not _API_AMOUNT.fullmatch(text):
        raise MoneyError(f"{value!r} is not an amount")
    amount = Decimal(text)
    if abs(amount) >= MAX_AMOUNT:
        raise MoneyError(f"{value!r} is {TOO_LARGE}")
    if amount != amount.quantize(CENT):
        raise MoneyError(f"{value!r} has more than two decimals: amounts are kept to the cent")
    return amount.quantize(CENT)


def format_plain(value: Decimal) -> str:
    """Machine-plain, for exports: '150000.00'."""
    return f"{value.quantize(CENT):f}"


def format_amount(value: Decimal, style: DecimalStyle, prefix: str = "") -> str:
    """'1.500.000,00' or '1,500,000.00' (with an optional 'Rp ' prefix)."""
    q = value.quantize(CENT)
    sign = "-" if q < 0 else ""
    text = f"{abs(q):,.2f}"
    if style is DecimalStyle.COMMA:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{sign}{prefix}{text}"


def format_count(n: int) -> str:
    """A count as an Indonesian reader writes it: 10.006 (to them 10,006 is ten and a bit)."""
    return f"{n:,}".replace(",", ".")


def format_idr(value: Decimal | None) -> str:
    """For people: 'Rp 1.500.000', keeping cents only when there are any."""
    if value is None:
        return "–"
    text = format_amount(value, DecimalStyle.COMMA, prefix="Rp ")
    return text[:-3] if text.endswith(",00") else text


def format_idr_short(value: Decimal | None) -> str:
    """For headline figures: 'Rp 2,21 miliar', 'Rp 309,4 juta', 'Rp 15 ribu'. The units are
    written out: an English reader takes 'M' for million, and a miliar is a thousand times
    that."""
    if value is None:
        return "–"
    sign, v = ("-" if value < 0 else ""), abs(value)
    for size, unit, places in (
        (Decimal(10) ** 12, "triliun", 2),
        (Decimal(10) ** 9, "miliar", 2),
        (Decimal(10) ** 6, "juta", 1),
        (Decimal(10) ** 3, "ribu", 0),
    ):
        if v >= size:
            text = f"{v / size:.{places}f}".replace(".", ",")
            return f"{sign}Rp {text} {unit}"
    return f"{sign}{format_idr(v)}"
