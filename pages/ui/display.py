"""How pages show things: counts, rupiah, tables, times on the reviewer's clock, errors a
person can act on, and a word on what an action did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from pages.ui.text import plain
from pages.ui.workspace import settings
from rekon.classes import RULE_NAMES
from rekon.errors import RekonError
from rekon.money import format_count, format_idr
from rekon.names import KEY_SETTINGS
from rekon.providers.base import PROVIDER_TITLES, AuthError, ProviderError, provider_title

# Labels for columns that appear on several pages; a page adds its own.
LABELS = {
    "provider": "Provider",
    "order_id": "Order",
    "merchant_ref": "Merchant ref",
    "payment_id": "Payment id",
    "amount": "Amount",
    "status": "Status",
    "provider_status": "Provider status",
    "business_date": "Business date",
    "customer_name": "Customer",
    "description": "Description",
    "line_no": "Line",
    "entry_date": "Date",
    "reference": "Reference",
    "currency": "Currency",
    "email": "Email",
    "column": "Column",
    "value": "Value",
    "reason": "Why",
}


def count(n: int) -> str:
    """A count as an Indonesian reader writes it: 10.006."""
    return format_count(n)


def idr(value: Decimal | None) -> str:
    return format_idr(value)


def with_idr(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Amount columns as 'Rp 1.500.000' text for display (a page holds at most 1,000 rows)."""
    return frame.with_columns(
        pl.Series(c, [format_idr(v) if v is not None else "" for v in frame[c]], pl.String)
        for c in columns
        if c in frame.columns
    )


def table(frame: pl.DataFrame, *money: str, **options: Any) -> Any:
    """A table as a reviewer reads it: amounts in rupiah, dates as '29 Sep 2026' (read one way
    by everyone, and without the midnight a DATE otherwise reaches the browser with), times on
    the reviewer's clock (they are stored in UTC), missing text blank, and the columns named
    in `counts` written as counts are everywhere (10.006). A plain label in `column_config`
    keeps these."""
    config = dict(options.pop("column_config", {}))
    counts = [c for c in options.pop("counts", ()) if c in frame.columns]
    frame = frame.with_columns(count_text(pl.col(c)) for c in counts)
    zone = settings().timezone
    for c, t in frame.schema.items():
        label = config.get(c)
        if not isinstance(label, str | None):
            continue
        if t == pl.Date and frame[c].null_count():
            # A missing date blank rather than a grey "None": as text, written the same way.
            frame = frame.with_columns(pl.col(c).dt.strftime("%-d %b %Y").fill_null(""))
        elif t == pl.Date:
            config[c] = st.column_config.DateColumn(label, format="D MMM YYYY")
        elif isinstance(t, pl.Datetime) and t.time_zone is None:
            frame = frame.with_columns(
                pl.col(c).dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
            )
            config[c] = st.column_config.DatetimeColumn(
                f"{label or c} ({zone_name(zone)})", format="D MMM YYYY HH:mm"
            )
    frame = frame.with_columns(pl.col(pl.String).fill_null(""))  # blank, not a grey "None"
    return st.dataframe(with_idr(frame, *money), hide_index=True, column_config=config, **options)


def count_text(col: pl.Expr) -> pl.Expr:
    """A column of counts as `count` writes one (10.006), by the engine: dots every three
    digits from the right."""
    reversed_digits = col.cast(pl.String).str.reverse()
    grouped = reversed_digits.str.replace_all(r"(\d{3})", "$1.").str.reverse()
    return grouped.str.strip_chars_start(".").str.replace(r"^-\.", "-")


def class_words(column: str) -> pl.Expr:
    """A column of result classes in words, as `matching.class_name` writes one."""
    return pl.col(column).cast(pl.String).str.replace_all("_", " ")


def as_read(frame: pl.DataFrame) -> pl.DataFrame:
    """Result classes, match rules and providers in words ('amount mismatch', 'amount and
    date', 'Durianpay') for a table; exports keep the codes, which accounting scripts read."""
    words = {
        "result": class_words("result"),
        "rule": pl.col("rule").cast(pl.String).replace(RULE_NAMES),
        "provider": pl.col("provider").replace(PROVIDER_TITLES),
    }
    return frame.with_columns(v for c, v in words.items() if c in frame)


def ledger_labels(ledgers: pl.DataFrame) -> dict[int, str]:
    """How pickers name each ledger of `ledger.list_ledgers`: '1 · ledger-2026-10.csv'."""
    return {i: f"{i} · {name}" for i, name in zip(ledgers["id"], ledgers["name"], strict=True)}


def zone_name(zone: str) -> str:
    """The zone as its people write it: WIB for Asia/Jakarta."""
    return datetime.now(ZoneInfo(zone)).strftime("%Z")


def local_time(value: datetime, with_year: bool = False) -> str:
    """A stored UTC time on the reviewer's clock: '23 Nov 10:03 WIB'."""
    zone = settings().timezone
    shown = value.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return f"{shown:%d %b {'%Y ' if with_year else ''}%H:%M} {zone_name(zone)}"


def explain(exc: Exception) -> str:
    """An error as a person can act on it."""
    if isinstance(exc, AuthError):
        name = provider_title(exc.provider)
        return (
            f"{name} refused the API key — set {KEY_SETTINGS.get(exc.provider, 'the key')} in "
            f".streamlit/secrets.toml (or the environment) and try again. ({exc})"
        )
    if isinstance(exc, ProviderError):
        return str(exc)
    return str(exc) or type(exc).__name__


def show_error(exc: Exception) -> None:
    """An error on the page, in words a person can act on, instead of a traceback."""
    st.error(plain(explain(exc)), icon=":material/error:")


def attempt(action: Callable[[], Any]) -> Any:
    """Run an action; show a RekonError as st.error instead of a traceback."""
    try:
        return action()
    except RekonError as exc:
        show_error(exc)
    except ValueError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
    return None


def flash_and_rerun(message: str) -> NoReturn:
    """Rerun the page so that everything drawn before the action shows its effect (a table
    above a form would otherwise still show the old state), and say once what was done."""
    st.session_state["flash"] = message
    st.rerun()


def show_flash() -> None:
    """The message of the action that caused this rerun, if any, shown once."""
    if message := st.session_state.pop("flash", None):
        st.success(plain(message), icon=":material/check_circle:")


def decisions_made() -> int:
    """How many decisions and matches this session recorded: part of the keys of the results
    table and the item picker, so that each one clears the selection it was made on."""
    return int(st.session_state.setdefault("decisions_made", 0))


def clear_selection() -> None:
    """After a decision or a match, the ticked rows and the picked item start afresh."""
    st.session_state["decisions_made"] = decisions_made() + 1
