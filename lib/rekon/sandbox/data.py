"""The sandbox's deterministic data set, and the sample ledger built from the same seed.

Every order is generated with its *fate* in the ledger decided up front (booked by order id,
by merchant reference, without reference, with a wrong amount, twice, not at all …), so the
expected reconciliation result of the sample month is known from construction, never from
running the matcher.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from rekon.config import ProviderSettings, Secret, Settings
from rekon.periods import month_bounds

XEPENG_TEST_KEY = "xp_test_sandbox_key"
XEPENG_TEST_CLIENT_ID = "sandbox-client"
XEPENG_TEST_SECRET = "xp_secret_sandbox"
DURIANPAY_TEST_KEY = "dp_test_sandbox_key"

PROVIDERS = ("xepeng", "durianpay")
DEFAULT_MONTHS = ("2026-08", "2026-09", "2026-10")
GOLDEN_MONTH = "2026-10"

# normalized status -> (weight, Xepeng raw status, Durianpay (status, payment_status))
STATUS_MIX = {
    "paid": (80.0, "paid", ("completed", "completed")),
    "pending": (5.0, "pending", ("processing", "processing")),
    "expired": (6.0, "expired", ("started", "expired")),
    "failed": (4.0, "failed", ("processing", "failed")),
    "cancelled": (3.0, "cancelled", ("started", "cancelled")),
    "refunded": (1.5, "refunded", ("completed", "refunded")),
    "unknown": (0.5, "on_hold", ("processing", "disputed")),
}
# How a paid order of the golden month lands in the ledger.
PAID_FATES = {
    "order_id": 55.0,
    "payment_id": 8.0,
    "merchant_ref": 22.0,
    "no_reference": 4.0,
    "amount_mismatch": 3.0,
    "duplicate": 2.0,
    "not_booked": 6.0,
}
UNPAID_BOOKED_SHARE = 0.10
MISSING_IN_PROVIDER_LINES = 40
AMBIGUOUS_CASES = 5
REFUND_CASES = 6  # refunded orders whose reversal is booked too: netted as `refunded`

FIRST_NAMES = [
    "Budi",
    "Siti",
    "Agus",
    "Dewi",
    "Rina",
    "Andi",
    "Putri",
    "Eko",
    "Wahyu",
    "Sri",
    "Yusuf",
    "Ayu",
    "Rizky",
    "Fitri",
    "Hendra",
    "Lestari",
    "Bayu",
    "Intan",
    "Dimas",
    "Nur",
    "Joko",
    "Wulan",
    "Fajar",
    "Maya",
    "Teguh",
    "Ratna",
    "Arif",
    "Indah",
    "Galih",
    "Sari",
]
LAST_NAMES = [
    "Santoso",
    "Wijaya",
    "Pratama",
    "Saputra",
    "Hidayat",
    "Kusuma",
    "Nugroho",
    "Lestari",
    "Siregar",
    "Simanjuntak",
    "Wibowo",
    "Setiawan",
    "Hasibuan",
    "Gunawan",
    "Halim",
    "Tanoto",
    "Sitompul",
    "Purnomo",
    "Rahmawati",
    "Susanto",
]
PRODUCTS = (
    "Kopi Arabika 1kg", "Paket Sembako", "Batik Tulis", "Sepatu Lari", "Tas Kulit",
    "Voucher Pulsa", "Langganan Premium", "Kaos Polos", "Madu Hutan", "Teh Hijau",
    "Jasa Desain", "Kursus Online", "Tiket Konser", "Sewa Mobil", "Paket Data 20GB",
)  # fmt: skip


@dataclass
class SeedOrder:
    provider: str
    order_id: str
    merchant_ref: str
    payment_id: str | None
    amount: Decimal
    status: str  # normalized
    created_at: datetime  # naive UTC
    updated_at: datetime
    paid_at: datetime | None
    customer_name: str
    customer_email: str
    customer_phone: str
    description: str
    raw_status: str = ""
    dp_order_status: str = ""
    fate: str = "none"  # its fate in the sample ledger (golden month only)

    def business_date(self, tz: ZoneInfo) -> date:
        return self.created_at.replace(tzinfo=UTC).astimezone(tz).date()


@dataclass(frozen=True)
class LedgerRow:
    date: date
    reference: str
    description: str
    amount: Decimal
    provider: str


@dataclass
class Dataset:
    orders: list[SeedOrder]
    ledger: list[LedgerRow] = field(default_factory=list)
    expected: Counter[str] = field(default_factory=Counter)
    golden_month: str = GOLDEN_MONTH


@dataclass(frozen=True)
class DataConfig:
    seed: int = 20261001
    months: tuple[str, ...] = DEFAULT_MONTHS
    orders_per_month: int = 5000  # per provider
    timezone: str = "Asia/Jakarta"
    golden_month: str | None = GOLDEN_MONTH
    edge_orders: bool = True


def _weighted(rng: random.Random, table: dict[str, tuple[float, str, tuple[str, str]]]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k][0] for k in keys])[0]


def _round_amount(rng: random.Random) -> Decimal:
    # Realistic IDR prices: log-spread between 15 rb and 5 jt, whole thousands.
    value = int(round(15_000 * (5_000_000 / 15_000) ** (rng.random() ** 1.6), -3))
    return Decimal(max(value, 10_000))


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

    def token(self, n: int) -> str:
        return "".join(self.rng.choices(self.alphabet, k=n))


def generate(config: DataConfig = DataConfig()) -> Dataset:
    """All orders of all months for both providers, plus the golden month's ledger plan."""
    rng = random.Random(config.seed)
    ids = _Ids(rng)
    tz = ZoneInfo(config.timezone)
    orders: list[SeedOrder] = []
    seq = Counter[str]()

    def make(provider: str, created_local: datetime, status: str | None = None) -> SeedOrder:
        status = status or _weighted(rng, STATUS_MIX)
        created = created_local.astimezone(UTC).replace(tzinfo=None)
        seq[provider] += 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local_day = created_local.date()
        ref = f"INV-{local_day:%Y%m}-{'X' if provider == 'xepeng' else 'D'}{seq[provider]:06d}"
        paid_at = created + timedelta(minutes=rng.randint(1, 90)) if status == "paid" else None
        updated = (paid_at or created) + timedelta(minutes=rng.randint(0, 30))
        _, x_raw, (dp_status, dp_payment) = STATUS_MIX[status]
        return SeedOrder(
            provider=provider,
            order_id=("ord_" if provider == "durianpay" else "xo_") + ids.token(16),
            merchant_ref=ref,
            payment_id=("pay_" + ids.token(14)) if status != "expired" else None,
            amount=_round_amount(rng),
            status=status,
            created_at=created,
            updated_at=updated,
            paid_at=paid_at,
            customer_name=f"{first} {last}",
            customer_email=f"{first}.{last}{rng.randint(1, 99)}@example.co.id".lower(),
            customer_phone=f"+628{rng.randint(1_000_000_000, 9_999_999_999)}",
            description=rng.choice(PRODUCTS),
            raw_status=x_raw if provider == "xepeng" else dp_payment,
            dp_order_status=dp_status,
        )

    for month in config.months:
        start, end = month_bounds(month)
        span = (end - start).days + 1
        for provider in PROVIDERS:
            for _ in range(config.orders_per_month):
                day = start + timedelta(days=rng.randrange(span))
                # Busier in the day than at night, as shops are.
                minute = int(rng.triangular(0, 24 * 60 - 1, 14 * 60))
                local = datetime.combine(
                    day, time(minute // 60, minute % 60, rng.randrange(60)), tz
                )
                orders.append(make(provider, local))
            if config.edge_orders:
                nxt = end + timedelta(days=1)
                for local in (
                    datetime.combine(start, time(0, 0, 5), tz),  # first second of the month: in
                    datetime.combine(end, time(23, 59), tz),  # last minute: in
                    datetime.combine(nxt, time(0, 30), tz),  # 00:30 next month: out
                    datetime.combine(start - timedelta(days=1), time(23, 59, 59), tz),  # out
                ):
                    orders.append(make(provider, local, "paid"))
    dataset = Dataset(orders)
    if config.golden_month:
        _plan_ledger(dataset, rng, tz, config.golden_month)
    return dataset


def _plan_ledger(dataset: Dataset, rng: random.Random, tz: ZoneInfo, month: str) -> None:
    """Decide every golden-month order's fate and write the ledger lines that follow from it."""
    start, end = month_bounds(month)
    in_month = [o for o in dataset.orders if start <= o.business_date(tz) <= end]
    expected = dataset.expected
    lines: list[LedgerRow] = []
    odd = iter(range(1, 10**6))  # a unique odd-rupiah amount per order booked without reference

    def book(
        o: SeedOrder,
        reference: str,
        amount: Decimal | None = None,
        same_day: bool = False,
        provider: str | None = None,
    ) -> None:
        local_paid = (o.paid_at or o.created_at).replace(tzinfo=UTC).astimezone(tz).date()
        delay = rng.choice((0, 0, 0, 1, 1, 2))
        lines.append(
            LedgerRow(
                # An unclaimed line belongs to the month of its own date: keep ambiguous
                # lines on their orders' business date so they stay in the golden month.
                date=o.business_date(tz) if same_day else local_paid + timedelta(days=delay),
                reference=reference,
                description=f"Penjualan {o.description} - {o.customer_name}",
                amount=o.amount if amount is None else amount,
                provider=o.provider if provider is None else provider,
            )
        )

    fates = list(PAID_FATES)
    weights = [PAID_FATES[f] for f in fates]
    for o in in_month:
        if o.status != "paid":
            if rng.random() < UNPAID_BOOKED_SHARE:
                o.fate = "status_mismatch"
                book(o, o.order_id)
                expected["status_mismatch"] += 1
            else:
                o.fate = "unpaid"
                expected["unpaid"] += 1
            continue
        fate = rng.choices(fates, weights)[0]
        if fate == "payment_id" and not o.payment_id:
            fate = "order_id"
        o.fate = fate
        if fate in ("order_id", "payment_id"):
            book(o, o.order_id if fate == "order_id" else str(o.payment_id))
            expected["matched"] += 1
        elif fate == "merchant_ref":
            variant = rng.choice((o.merchant_ref, o.merchant_ref.lower(), f" {o.merchant_ref} "))
            book(o, variant)
            expected["matched"] += 1
        elif fate == "no_reference":
            n = next(odd)
            # Whole thousands plus a unique 1..499 rupiah "kode unik": no other order shares it.
            o.amount = Decimal(1000 * (100 + n) + 1 + n % 499)
            book(o, "")
            expected["matched"] += 1
        elif fate == "amount_mismatch":
            fee = Decimal(rng.choice((2500, 4000, 1000, -500)))
            book(o, o.order_id, o.amount - fee)
            expected["amount_mismatch"] += 1
        elif fate == "duplicate":
            book(o, o.order_id)
            book(o, o.order_id)
            expected["matched"] += 1
            expected["duplicate_in_ledger"] += 1
        else:
            expected["missing_in_ledger"] += 1

    # Refunds booked both ways: the sale (already booked above) and its reversal three days
    # later, a negative line with the same reference. Chosen without the random generator, so
    # the rest of the data set is the same with or without them.
    refunds = sorted(
        (o for o in in_month if o.status == "refunded" and o.fate == "status_mismatch"),
        key=lambda o: o.order_id,
    )[:REFUND_CASES]
    for o in refunds:
        lines.append(
            LedgerRow(
                date=o.business_date(tz) + timedelta(days=3),
                reference=o.order_id,
                description=f"Refund {o.description} - {o.customer_name}",
                amount=-o.amount,
                provider=o.provider,
            )
        )
        o.fate = "refunded"
        expected["status_mismatch"] -= 1
        expected["refunded"] += 2  # the order with its sale, and the reversal line

    # Ambiguous: two paid, unbooked orders of one day share an amount; one line without a
    # reference or a provider could be either, so it stays ambiguous and both orders stay
    # unbooked. (Naming its provider would decide it when the twins are at different ones.)
    unbooked = [o for o in in_month if o.fate == "not_booked"]
    rng.shuffle(unbooked)
    cases = 0
    for a in unbooked:
        if cases == AMBIGUOUS_CASES:
            break
        twin = next(
            (
                b
                for b in unbooked
                if b is not a
                and b.fate == "not_booked"
                and a.fate == "not_booked"
                and b.business_date(tz) == a.business_date(tz)
            ),
            None,
        )
        if twin is None:
            continue
        n = next(odd)
        a.amount = twin.amount = Decimal(1000 * (100 + n) + 1 + n % 499)
        a.fate = twin.fate = "ambiguous_candidate"
        book(a, "", same_day=True, provider="")
        expected["ambiguous"] += 1
        cases += 1

    # Booked, but no gateway has it: manual entries, cash sales, another channel.
    for j in range(MISSING_IN_PROVIDER_LINES):
        day = start + timedelta(days=rng.randrange((end - start).days + 1))
        lines.append(
            LedgerRow(
                date=day,
                reference=f"MANUAL-{j + 1:04d}" if j % 4 else "",
                description=rng.choice(("Penjualan tunai", "Transfer bank", "Koreksi kas")),
                amount=Decimal(1000 * rng.randint(20, 3000) + 500 + j % 499),
                provider="",
            )
        )
        expected["missing_in_provider"] += 1

    # Outside the period: a next-month order's line inside the date window, and a line two
    # days before the month. Neither belongs to this month's reconciliation.
    lines.append(
        LedgerRow(end + timedelta(days=2), "NEXT-MONTH-0001", "Penjualan", Decimal(99_700), "")
    )
    lines.append(
        LedgerRow(start - timedelta(days=2), "PREV-MONTH-0001", "Penjualan", Decimal(88_500), "")
    )
    lines.sort(key=lambda r: (r.date, r.reference))
    dataset.ledger = lines


SAMPLE_LEDGER = Path("data/samples/ledger-2026-10.csv")
SAMPLE_EXPECTED = Path("data/samples/ledger-2026-10.expected.json")
# The same month booked as the bank saw it: one net deposit per payout, with Xepeng's payouts
# from its settlement report (it has no settlement API).
DEPOSITS_LEDGER = Path("data/samples/ledger-2026-10-deposits.csv")
DEPOSITS_EXPECTED = Path("data/samples/ledger-2026-10-deposits.expected.json")
XEPENG_REPORT = Path("data/samples/xepeng-settlements-2026-10.csv")


def ledger_csv(dataset: Dataset, lines: list[LedgerRow] | None = None) -> bytes:
    """The golden month's ledger (or these lines) as an Indonesian accounting export would
    write it: UTF-8 with BOM, semicolons, DD/MM/YYYY dates and 1.500.000,00 amounts."""
    from rekon.money import DecimalStyle, format_amount

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Tanggal", "No. Referensi", "Keterangan", "Jumlah", "Provider"])
    for row in dataset.ledger if lines is None else lines:
        writer.writerow(
            [
                row.date.strftime("%d/%m/%Y"),
                row.reference,
                row.description,
                format_amount(row.amount, DecimalStyle.COMMA),
                row.provider,
            ]
        )
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def sandbox_settings(settings: Settings, base_url: str) -> Settings:
    """These settings pointed at a running sandbox, which accepts its own test keys."""
    return replace(
        settings,
        xepeng=ProviderSettings(base_url, Secret(XEPENG_TEST_KEY)),
        durianpay=ProviderSettings(base_url, Secret(DURIANPAY_TEST_KEY)),
    )
