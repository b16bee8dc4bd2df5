"""The sandbox's payouts: every paid order settles D+0 … D+5 by its payment method, net of a fee,
into one settlement per provider, settlement day and method.

Derived from the orders alone (a hash of each order id picks its method), so the payouts follow
the orders as tests change them, and the seeded data set stays what it was. A few payments are
charged more than the published rate card (`OVERCHARGED_EVERY`): the fee checks have something
to find.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from rekon.periods import month_bounds
from rekon.sandbox.data import LedgerRow, SeedOrder


@dataclass(frozen=True)
class Method:
    delay_days: int
    percent: Decimal
    fixed: Decimal
    kind: str  # Durianpay's payment_details_type


# The sandbox gateways' published rate card; VAT (PPN) on the fee as in Indonesia.
METHODS = {
    "QRIS": Method(0, Decimal("0.7"), Decimal(0), "qris"),
    "BCA": Method(1, Decimal(0), Decimal(4000), "va"),
    "MANDIRI": Method(2, Decimal(0), Decimal(4000), "va"),
    "DANA": Method(3, Decimal("1.5"), Decimal(0), "ewallet"),
    "OVO": Method(4, Decimal("1.5"), Decimal(0), "ewallet"),
    "CARD": Method(5, Decimal("2.9"), Decimal(2000), "card"),
}
VAT = Decimal(11)
OVERCHARGED_EVERY = 409  # one payment in about this many is charged 1,500 more
OVERCHARGE = Decimal(1500)
# One paid order in about this many (of the first 25 days of a month) is never paid out: its
# settlement is late by the month's end.
UNSETTLED_EVERY = 151
# The net-deposit sample ledger: about one settlement in this many is left out of it, and one
# in this many (with a net amount no other payout has) is booked without its reference.
UNBOOKED_EVERY = 13
NO_REFERENCE_EVERY = 5
SETTLES_AT = time(10, 0)  # local time of a day's payouts


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def method_of(order_id: str) -> str:
    names = list(METHODS)
    return names[_digest(order_id) % len(names)]


def card_fee(gross: Decimal, method: str) -> Decimal:
    """The fee the rate card says, VAT included, rounded half up to the rupiah."""
    m = METHODS[method]
    base = gross * m.percent / 100 + m.fixed
    return (base * (1 + VAT / 100)).quantize(Decimal(1), ROUND_HALF_UP)


def is_overcharged(order_id: str) -> bool:
    return _digest("fee:" + order_id) % OVERCHARGED_EVERY == 0


def never_paid_out(o: SeedOrder, tz: ZoneInfo) -> bool:
    return (
        o.business_date(tz).day <= 25 and _digest("unsettled:" + o.order_id) % UNSETTLED_EVERY == 0
    )


@dataclass(frozen=True)
class Payout:
    """One payment in a settlement."""

    settlement_id: str
    order: SeedOrder
    method: str
    fee: Decimal
    settled_at: datetime  # naive UTC

    @property
    def net(self) -> Decimal:
        return self.order.amount - self.fee


@dataclass(frozen=True)
class Settlement:
    settlement_id: str
    provider: str
    settled_at: datetime  # naive UTC
    payouts: tuple[Payout, ...]

    @property
    def gross(self) -> Decimal:
        return sum((p.order.amount for p in self.payouts), Decimal(0))

    @property
    def fee(self) -> Decimal:
        return sum((p.fee for p in self.payouts), Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.gross - self.fee


def settle(
    orders: Iterable[SeedOrder], tz: ZoneInfo, withheld: frozenset[str] = frozenset()
) -> list[Settlement]:
    """The settlements of these orders' paid ones (less the withheld), by settlement time."""
    groups: dict[tuple[str, date, str], list[tuple[SeedOrder, str]]] = defaultdict(list)
    for o in orders:
        if o.status != "paid" or o.paid_at is None or o.order_id in withheld:
            continue
        if never_paid_out(o, tz):
            continue
        method = method_of(o.order_id)
        paid_day = o.paid_at.replace(tzinfo=UTC).astimezone(tz).date()
        day = paid_day + timedelta(days=METHODS[method].delay_days)
        groups[(o.provider, day, method)].append((o, method))
    found = []
    for (provider, day, method), members in groups.items():
        token = hashlib.sha256(f"{provider}:{day}:{method}".encode()).hexdigest()[:14]
        sid = f"set_{token}"
        at = datetime.combine(day, SETTLES_AT, tz).astimezone(UTC).replace(tzinfo=None)
        payouts = tuple(
            Payout(
                sid,
                o,
                m,
                card_fee(o.amount, m) + (OVERCHARGE if is_overcharged(o.order_id) else 0),
                at,
            )
            for o, m in sorted(members, key=lambda pair: pair[0].order_id)
        )
        found.append(Settlement(sid, provider, at, payouts))
    found.sort(key=lambda s: (s.settled_at, s.settlement_id))
    return found


REPORT_HEADER = ("ID Settlement", "ID Order", "ID Pembayaran", "Metode Pembayaran", "Jumlah",
                 "Biaya", "Jumlah Bersih", "Tanggal Settlement")  # fmt: skip


def report_csv(found: Iterable[Settlement], tz: ZoneInfo) -> bytes:
    """Payouts as a gateway's merchant portal exports them: semicolons, 1.500.000,00 amounts,
    DD/MM/YYYY dates (what Xepeng's merchants upload, having no settlement API)."""
    import csv
    import io

    from rekon.money import DecimalStyle, format_amount

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for s in found:
        day = s.settled_at.replace(tzinfo=UTC).astimezone(tz).strftime("%d/%m/%Y")
        for p in s.payouts:
            writer.writerow(
                [
                    s.settlement_id,
                    p.order.order_id,
                    p.order.payment_id or "",
                    p.method,
                    format_amount(p.order.amount, DecimalStyle.COMMA),
                    format_amount(p.fee, DecimalStyle.COMMA),
                    format_amount(p.net, DecimalStyle.COMMA),
                    day,
                ]
            )
    return out.getvalue().encode("utf-8")


@dataclass
class DepositPlan:
    """The net-deposit sample ledger of a month, and what reconciling it must give."""

    lines: list[LedgerRow]
    expected: Counter[str]  # result classes, as planned
    settlements: Counter[str]  # per settlement, with the sandbox's rate card on the card


def plan_deposits(orders: list[SeedOrder], tz: ZoneInfo, month: str) -> DepositPlan:
    """One ledger line per payout (both gateways) of the month's orders, as a finance team
    that books the bank's deposits writes it; a few payouts left out, a few without their
    reference. Every outcome follows from how it was built, for a store that holds the
    month's orders."""
    start, end = month_bounds(month)
    found = settle(orders, tz)
    nets = Counter(s.net for s in found)
    lines: list[LedgerRow] = []
    expected: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    for s in found:
        # The month's store holds the month's orders: a payout is the month's when it pays
        # out one of them (its first order of the month anchors it).
        ours = any(start <= p.order.business_date(tz) <= end for p in s.payouts)
        booked = ours and _digest("book:" + s.settlement_id) % UNBOOKED_EVERY != 0
        if booked:
            bare = nets[s.net] == 1 and _digest("bare:" + s.settlement_id) % NO_REFERENCE_EVERY == 0
            day = s.settled_at.replace(tzinfo=UTC).astimezone(tz).date()
            method = s.payouts[0].method
            lines.append(LedgerRow(day, "" if bare else s.settlement_id,
                                   f"Setoran {s.provider.capitalize()} {method}", s.net,
                                   s.provider.capitalize()))  # fmt: skip
            expected["matched"] += 1  # the deposit line
        for p in s.payouts:
            if start <= p.order.business_date(tz) <= end:
                expected["matched" if booked else "missing_in_ledger"] += 1
        if ours:
            over = any(is_overcharged(p.order.order_id) for p in s.payouts)
            outcome["fee_mismatch" if over else "settled" if booked else
                    "settlement_missing_in_ledger"] += 1  # fmt: skip
    for o in orders:
        if not start <= o.business_date(tz) <= end:
            continue
        if o.status != "paid":
            expected["unpaid"] += 1
        elif never_paid_out(o, tz):
            expected["settlement_late"] += 1
    lines.sort(key=lambda r: (r.date, r.reference, r.amount))
    return DepositPlan(lines, expected, outcome)
