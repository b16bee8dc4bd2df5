"""The rate card: what each gateway may charge per payment method — a percent of the payment, a
fixed amount, and VAT (PPN) on that fee — against which settlements' fees are checked.

Rows are only ever added: the latest per provider and method is in force, and the earlier ones
say what it was. A method's own rate wins over the provider's `*` rate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.names import PROVIDER_TITLES, provider_title
from rekon.store import Store, utc_now

if TYPE_CHECKING:
    import polars as pl

ANY_METHOD = "*"
DEFAULT_VAT = Decimal(11)  # PPN on gateway fees in Indonesia
_METHOD = re.compile(r"[A-Z0-9_.-]{1,40}|\*")

# The card in force: the latest row per provider and method.
CURRENT_RATES_SQL = """
    SELECT provider, method, percent, fixed, vat, set_by, set_at FROM fee_rates
    QUALIFY row_number() OVER (PARTITION BY provider, method ORDER BY set_at DESC) = 1
"""
# A fee the card expects, VAT included, rounded half up to the rupiah as the gateways round
# (DuckDB rounds a DECIMAL half away from zero). `{gross}` and `{rate}` are SQL names.
EXPECTED_FEE_SQL = (
    "round(({gross} * {rate}.percent / 100 + {rate}.fixed) * (1 + {rate}.vat / 100), 0)"
)


class RateError(RekonError):
    """A rate that cannot be on the card."""


@dataclass(frozen=True)
class Rate:
    provider: str
    method: str
    percent: Decimal
    fixed: Decimal
    vat: Decimal

    def describe(self) -> str:
        parts = []
        if self.percent:
            parts.append(f"{self.percent.normalize():f} %")
        if self.fixed:
            parts.append(f"Rp {self.fixed.normalize():,f}".replace(",", "."))
        fee = " + ".join(parts) or "no fee"
        return (
            f"{provider_title(self.provider)} {self.method}: {fee}, VAT {self.vat.normalize():f} %"
        )


def _number(
    text: str | Decimal | None, what: str, low: Decimal, high: Decimal | None
) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise RateError(f"the {what} {text!r} is not a number") from None
    if not value.is_finite() or value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RateError(f"the {what} must be {limit}, not {text}")
    return value


def current(store: Store) -> pl.DataFrame:
    """The card in force, by provider and method."""
    return store.query(
        f"SELECT * FROM ({CURRENT_RATES_SQL}) ORDER BY provider, method = '*', method"
    )


def set_rate(
    store: Store,
    provider: str,
    method: str = ANY_METHOD,
    *,
    percent: str | Decimal | None = None,
    fixed: str | Decimal | None = None,
    vat: str | Decimal | None = None,
    by: Actor,
) -> Rate:
    """Put a rate on the card; what is not given keeps its value (a new rate: 0 %, Rp 0 and
    PPN 11 %). Recorded in the audit trail with what it replaced."""
    by.require(Role.REVIEWER, "change the rate card")
    provider = provider.strip().lower()
    if provider not in PROVIDER_TITLES:
        raise RateError(f"unknown provider {provider!r}: use {' or '.join(PROVIDER_TITLES)}")
    method = method.strip().upper() or ANY_METHOD
    if not _METHOD.fullmatch(method):
        raise RateError(
            f"{method!r} is not a payment method id: use its code as the gateway reports it "
            "(BCA, QRIS, …), or * for any"
        )
    new = (
        _number(percent, "percent", Decimal(0), Decimal(100)),
        _number(fixed, "fixed fee", Decimal(0), None),
        _number(vat, "VAT", Decimal(0), Decimal(100)),
    )
    with store.write() as cur:
        was = cur.execute(
            f"SELECT percent, fixed, vat FROM ({CURRENT_RATES_SQL})"
            " WHERE provider = ? AND method = ?",
            [provider, method],
        ).fetchone()
        old = tuple(Decimal(v) for v in was) if was else (Decimal(0), Decimal(0), DEFAULT_VAT)
        rate = Rate(
            provider, method, *(n if n is not None else o for n, o in zip(new, old, strict=True))
        )
        cur.execute(
            "INSERT INTO fee_rates VALUES (?, ?, ?, ?, ?, ?, ?)",
            [provider, method, rate.percent, rate.fixed, rate.vat, by.name, utc_now()],
        )
        store.audit(cur, by.name, "fee_rate", f"fee_rate:{provider}:{method}", json.dumps(
            {"percent": str(rate.percent), "fixed": str(rate.fixed), "vat": str(rate.vat),
             "was": [str(v) for v in old] if was else None}))  # fmt: skip
    return rate
