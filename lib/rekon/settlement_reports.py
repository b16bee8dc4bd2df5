"""A provider's settlement report, uploaded as CSV: the leg of the payouts an API does not give
(Xepeng publishes none). Read as ledgers are — encoding, delimiter, header row and column
names sniffed, Indonesian or English numbers and dates — and checked whole: a report with a bad
row is refused, naming its lines, because a payout missing from it would read as late.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from rekon import settlements as payouts
from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.ledger.model import DELIMITER_NAMES, LedgerError
from rekon.ledger.reading import read_records
from rekon.ledger.sniffing import (
    by_header,
    check_date_format,
    decode,
    find_header,
    month_names_expr,
    sniff_date_format,
    sniff_delimiter,
)
from rekon.money import DecimalStyle, format_count
from rekon.money_columns import amount_expr, sniff_style
from rekon.names import PROVIDER_TITLES, provider_title
from rekon.store import Store

FIELDS = ("settlement_id", "payment_id", "order_id", "gross", "fee", "net", "settled_at",
          "method")  # fmt: skip
# Normalised header -> field, in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "settlement_id": ("settlement id", "id settlement", "settlement", "payout id",
                      "id pencairan", "no settlement", "settlement no", "settlement reference"),
    "payment_id": ("payment id", "id pembayaran", "transaction id", "id transaksi"),
    "order_id": ("order id", "id order", "no order", "order ref", "merchant ref",
                 "order reference", "no referensi", "reference"),
    "gross": ("gross", "gross amount", "payment amount", "amount", "jumlah", "nominal", "bruto",
              "transaction amount", "jumlah kotor"),
    "fee": ("fee", "total fee", "settlement fee", "fee amount", "mdr", "biaya", "biaya admin"),
    "net": ("net", "net amount", "netto", "settlement amount", "jumlah bersih", "amount settled",
            "nett"),
    "settled_at": ("settled at", "settlement date", "settled date", "tanggal settlement",
                   "tanggal pencairan", "payout date", "tanggal", "date"),
    "method": ("payment method", "payment method id", "method", "metode",
               "metode pembayaran", "channel"),
}  # fmt: skip
MAX_SHOWN = 10


class ReportError(RekonError):
    """A settlement report that cannot be imported; nothing of it was stored."""


@dataclass(frozen=True)
class ReportOptions:
    provider: str = "xepeng"
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column, overrides
    delimiter: str | None = None
    decimal: str | None = None  # comma | point
    date_format: str | None = None


@dataclass(frozen=True)
class Report:
    """A report read and checked, not yet stored."""

    provider: str
    file_name: str
    content_hash: str
    mapping: dict[str, str]
    settlements: int
    payments: pl.DataFrame  # shaped as settlements.payments_table, amounts as text
    covered_from: date
    covered_to: date
    delimiter: str
    date_format: str
    style: DecimalStyle

    def describe(self) -> str:
        return (
            f"{format_count(self.payments.height)} payments in "
            f"{format_count(self.settlements)} settlements, settled {self.covered_from} – "
            f"{self.covered_to} ({DELIMITER_NAMES.get(self.delimiter, self.delimiter)}-separated, "
            f"dates {self.date_format}, {self.style.value} decimals)"
        )


@dataclass(frozen=True)
class ReportImport:
    source_id: int
    report: Report
    counts: payouts.SettlementCounts

    def line(self) -> str:
        return (
            f"Imported {provider_title(self.report.provider)}'s settlement report "
            f"{self.report.file_name} as source {self.source_id}: {self.counts.line()}, "
            f"settled {self.report.covered_from} – {self.report.covered_to}"
        )


def guess_mapping(columns: list[str], given: dict[str, str]) -> dict[str, str]:
    """Each field's column: as given, else by its header's name."""
    unknown = set(given) - set(FIELDS)
    if unknown:
        raise ReportError(
            f"unknown field {', '.join(sorted(unknown))}: the fields are {', '.join(FIELDS)}"
        )
    missing = [c for c in given.values() if c not in columns]
    if missing:
        raise ReportError(
            f"no column {missing[0]!r} in the report; its columns: {', '.join(columns)}"
        )
    found = by_header(columns, ALIASES, given)
    needed = [f for f in ("settlement_id", "gross", "settled_at") if f not in found]
    if "payment_id" not in found and "order_id" not in found:
        needed.append("payment_id or order_id")
    if "fee" not in found and "net" not in found:
        needed.append("fee or net")
    if needed:
        raise ReportError(
            f"the report has no column for {', '.join(needed)}; its columns: "
            f"{', '.join(columns)}. Name them with --map FIELD=COLUMN (or on the page)"
        )
    return found


def read_report(
    raw: bytes, file_name: str, options: ReportOptions, timezone: str = "Asia/Jakarta"
) -> Report:
    """Read and check a whole report; raises ReportError naming the lines that are wrong."""
    if options.provider not in PROVIDER_TITLES:
        raise ReportError(f"unknown provider {options.provider!r}")
    try:
        text, _ = decode(raw)
        delimiter = options.delimiter or sniff_delimiter(text)
        header = find_header(text, delimiter)
        body = "\n".join(text.splitlines()[header:])
        frame, overlong = read_records(body, delimiter, header + 1, file_name)
    except LedgerError as exc:
        raise ReportError(str(exc)) from exc
    if overlong:
        lines = ", ".join(str(r.line_no) for r in overlong[:MAX_SHOWN])
        raise ReportError(f"{file_name}: more fields than the header on line(s) {lines}")
    if frame.is_empty():
        raise ReportError(f"{file_name} holds no payments under its header")
    m = guess_mapping(list(frame.columns), options.mapping)
    # Line numbers as people count them: the header is line header+1.
    data = frame.with_row_index("i").with_columns((pl.col("i") + header + 2).alias("line"))

    def text_of(fld: str) -> pl.Expr:
        return (pl.col(m[fld]).str.strip_chars() if fld in m else pl.lit(None, pl.String)).alias(
            fld
        )

    texts = data.select("line", *(text_of(f) for f in FIELDS))
    style = (
        DecimalStyle(options.decimal)
        if options.decimal
        else sniff_style(
            pl.concat([texts[f] for f in ("gross", "fee", "net") if f in m]).drop_nulls()
        )
    )
    try:
        if options.date_format:
            check_date_format(options.date_format)
            date_format = options.date_format
        else:
            date_format = sniff_date_format(texts["settled_at"])
    except LedgerError as exc:
        raise ReportError(str(exc)) from exc
    parsed = texts.with_columns(
        *(amount_expr(pl.col(f), style).alias(f"{f}_v") for f in ("gross", "fee", "net")),
        month_names_expr(pl.col("settled_at"))
        .str.strptime(pl.Date, date_format, strict=False)
        .alias("day"),
    )
    # A report without a fee (or a net) column has it from the other two; a value the report
    # has but that is not a number stays missing, and its row is refused.
    if "fee" not in m:
        parsed = parsed.with_columns((pl.col("gross_v") - pl.col("net_v")).alias("fee_v"))
    if "net" not in m:
        parsed = parsed.with_columns((pl.col("gross_v") - pl.col("fee_v")).alias("net_v"))
    problems = _problems(parsed, m)
    if problems.height:
        shown = "; ".join(
            f"line {line}: {why}" for line, why in problems.head(MAX_SHOWN).iter_rows()
        )
        more = f" (and {problems.height - MAX_SHOWN} more)" if problems.height > MAX_SHOWN else ""
        raise ReportError(
            f"{file_name}: {format_count(problems.height)} row(s) cannot be read, so nothing "
            f"was imported — {shown}{more}"
        )
    settled = (
        pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone(timezone)
        .dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    )  # fmt: skip
    payments = parsed.select(
        "settlement_id",
        "payment_id",
        "order_id",
        pl.lit(None, pl.String).alias("order_reference"),
        pl.col("gross_v").cast(pl.String).alias("gross"),
        pl.col("fee_v").cast(pl.String).alias("fee"),
        pl.col("net_v").cast(pl.String).alias("net"),
        pl.lit(None, pl.Datetime("us")).alias("payment_date"),
        settled.alias("settled_at"),
        pl.col("method").str.to_uppercase(),
    )
    return Report(
        provider=options.provider,
        file_name=file_name,
        content_hash=hashlib.sha256(raw).hexdigest(),
        mapping=m,
        settlements=payments["settlement_id"].n_unique(),
        payments=payments,
        covered_from=parsed["day"].min(),  # type: ignore[arg-type]
        covered_to=parsed["day"].max(),  # type: ignore[arg-type]
        delimiter=delimiter,
        date_format=date_format,
        style=style,
    )


def _problems(parsed: pl.DataFrame, m: dict[str, str]) -> pl.DataFrame:
    """Per bad row: its line and what is wrong with it (the first thing)."""
    blank = pl.col("settlement_id").is_null() | (pl.col("settlement_id") == "")
    no_id = pl.coalesce("payment_id", "order_id").is_null()
    why = (
        pl.when(blank).then(pl.lit("no settlement id"))
        .when(no_id).then(pl.lit("neither a payment nor an order id"))
        .when(pl.col("gross_v").is_null()).then(pl.lit("the gross amount is not a number"))
        .when(pl.col("fee_v").is_null()).then(pl.lit("the fee is not a number"))
        .when(pl.col("net_v").is_null()).then(pl.lit("the net amount is not a number"))
        .when(pl.col("day").is_null()).then(pl.lit("the settlement date cannot be read"))
        .when(pl.col("gross_v") - pl.col("fee_v") != pl.col("net_v"))
        .then(pl.lit("gross less fee is not the net amount"))
    )  # fmt: skip
    return parsed.select("line", why.alias("why")).filter(pl.col("why").is_not_null())


def store_report(store: Store, report: Report, name: str | None, by: Actor) -> ReportImport:
    """Land a checked report as one source, in one transaction; refused when the same file
    was imported before."""
    by.require(Role.REVIEWER, "import a settlement report")
    with store.write() as cur:
        seen = cur.execute(
            "SELECT id FROM settlement_sources WHERE content_hash = ? AND provider = ?",
            [report.content_hash, report.provider],
        ).fetchone()
        if seen:
            raise ReportError(
                f"{report.file_name} was imported before (source {seen[0]}): nothing changed"
            )
        source = payouts.Source(
            report.provider,
            "report",
            report.covered_from,
            report.covered_to,
            name=name or Path(report.file_name).stem,
            file_name=report.file_name,
            content_hash=report.content_hash,
        )
        table = report.payments.to_arrow().cast(payouts.PAYMENTS_SCHEMA)
        counts = payouts.land(cur, store, source, payouts.settlements_table([]), table, by.name)
        store.audit(cur, by.name, "settlement_report", f"settlement_source:{counts.source_id}",
                    json.dumps({"file": report.file_name, "sha256": report.content_hash,
                                "settlements": counts.settlements,
                                "payments": counts.payments}))  # fmt: skip
    return ReportImport(counts.source_id, report, counts)


def import_report(
    store: Store, path: Path, options: ReportOptions, name: str | None, by: Actor
) -> ReportImport:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from exc
    report = read_report(raw, path.name, options, store.timezone)
    return store_report(store, report, name, by)
