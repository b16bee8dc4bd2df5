"""Ledger CSV import: sniff the format, map columns, validate every row, land it whole.

Accounting exports come in many layouts: `;` or `,` or tab, a BOM or cp1252, `1.500.000,00`
or `1,500,000.00`, `31/01/2026` or `31 Januari 2026`, a title above the header and a total
row below. Everything past sniffing is polars expressions over whole columns; a row that
cannot be read is reported with its line in the file and the reason, never dropped quietly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from rekon.errors import RekonError
from rekon.money import MONEY_DTYPE, DecimalStyle, amount_expr, format_plain, sniff_style
from rekon.store import Store, utc_now

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

FIELDS = ("date", "amount", "debit", "credit", "reference", "description", "currency",
          "provider", "email")  # fmt: skip
REJECT_THRESHOLD = 0.05
DELIMITERS = (",", ";", "\t", "|")

# Normalised header -> field. Normalised: lower case, punctuation dropped, spaces single.
ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("tanggal", "tgl", "date", "tanggal transaksi", "tgl transaksi", "transaction date",
             "posting date", "value date", "trans date", "tanggal posting", "tanggal bayar"),
    "amount": ("jumlah", "nominal", "amount", "nilai", "total", "jumlah rp", "amount idr",
               "nominal rp", "mutasi", "jumlah idr", "nilai rp"),
    "debit": ("debit", "debet", "db", "debit rp", "debit idr"),
    "credit": ("kredit", "credit", "cr", "kredit rp", "credit idr"),
    "reference": ("no referensi", "referensi", "reference", "ref", "no ref", "ref no",
                  "reference no", "order id", "no order", "nomor order", "invoice", "no invoice",
                  "no faktur", "nomor referensi", "order ref", "id transaksi", "transaction id",
                  "no bukti", "kode transaksi", "reference number"),
    "description": ("keterangan", "uraian", "deskripsi", "description", "memo", "narration",
                    "catatan", "particulars", "details"),
    "currency": ("mata uang", "currency", "ccy", "valuta", "kurs"),
    "provider": ("provider", "gateway", "payment gateway", "channel", "metode", "penyedia"),
    "email": ("email", "e mail", "surel", "customer email"),
}  # fmt: skip
MONTHS = {
    "jan": ("januari", "january", "jan"), "feb": ("februari", "february", "feb", "peb"),
    "mar": ("maret", "march", "mar"), "apr": ("april", "apr"), "may": ("mei", "may"),
    "jun": ("juni", "june", "jun"), "jul": ("juli", "july", "jul"),
    "aug": ("agustus", "august", "agu", "agt", "ags", "aug"),
    "sep": ("september", "sept", "sep"), "oct": ("oktober", "october", "okt", "oct"),
    "nov": ("november", "nopember", "nov", "nop"), "dec": ("desember", "december", "des", "dec"),
}  # fmt: skip
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d-%b-%Y", "%d %b %Y", "%d/%m/%y", "%b %d %Y")  # fmt: skip
DATE_SAMPLE = date(2026, 1, 31)  # shows a reader what each format looks like
SUMMARY_WORDS = r"(?i)^\s*(grand\s+)?(sub\s*)?total\b|^\s*jumlah\b|^\s*saldo\b|^\s*balance\b"


class LedgerError(RekonError):
    """The ledger file cannot be imported as it is."""


class DuplicateLedger(LedgerError):
    """This exact file was imported before."""


class ChoiceNeeded(LedgerError):
    """The file's columns are known, but a reviewer must choose something (a column, the date
    format) before its lines can be read. Carries what to choose from."""

    def __init__(self, message: str, columns: list[str], mapping: ColumnMapping) -> None:
        super().__init__(message)
        self.columns = columns
        self.mapping = mapping


class TooManyRejected(LedgerError):
    def __init__(self, message: str, rejected: list[Rejected]) -> None:
        super().__init__(message)
        self.rejected = rejected


@dataclass(frozen=True)
class Rejected:
    line_no: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class LedgerFormat:
    encoding: str
    delimiter: str
    header_line: int  # 1-based line of the header in the file
    decimal_style: DecimalStyle
    date_format: str

    def describe(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        return (
            f"{self.encoding}, {names.get(self.delimiter, self.delimiter)}-separated, "
            f"header on line {self.header_line}, amounts like {self.decimal_style.sample}, "
            f"dates like {DATE_SAMPLE.strftime(self.date_format)}"
        )


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column feeds which ledger field (None: not present)."""

    date: str | None = None
    amount: str | None = None
    debit: str | None = None
    credit: str | None = None
    reference: str | None = None
    description: str | None = None
    currency: str | None = None
    provider: str | None = None
    email: str | None = None

    def missing(self) -> list[str]:
        problems = []
        if not self.date:
            problems.append("date")
        if not self.amount and not (self.debit or self.credit):
            problems.append("amount (or a debit/credit pair)")
        return problems

    def with_overrides(self, overrides: dict[str, str | None]) -> ColumnMapping:
        """This mapping with some fields re-pointed (None or "" unmaps a field). Choosing a
        single amount column drops a detected debit/credit pair, and the other way round."""
        unknown = set(overrides) - set(FIELDS)
        if unknown:
            raise LedgerError(
                f"unknown field(s) {', '.join(sorted(unknown))}; use one of {', '.join(FIELDS)}"
            )
        data = asdict(self) | {k: (v or None) for k, v in overrides.items()}
        if overrides.get("amount") and not ({"debit", "credit"} & set(overrides)):
            data["debit"] = data["credit"] = None
        if (overrides.get("debit") or overrides.get("credit")) and "amount" not in overrides:
            data["amount"] = None
        return ColumnMapping(**data)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v})


@dataclass(frozen=True)
class SavedMapping:
    """A mapping saved by name: its columns, and the date format and decimal style of the file
    it was saved from. Those two decide only where a later file cannot tell by itself (every
    day 12 or less; no amount whose separators give the style away)."""

    columns: ColumnMapping
    date_format: str | None = None
    decimal_style: DecimalStyle | None = None

    def to_json(self) -> str:
        found = {"date_format": self.date_format, "decimal_style": self.decimal_style}
        return json.dumps(
            {"columns": json.loads(self.columns.to_json())} | {k: v for k, v in found.items() if v}
        )

    @classmethod
    def of(cls, mapping: ColumnMapping, fmt: LedgerFormat) -> SavedMapping:
        """What to save of a file that was read: its columns and its formats."""
        return cls(mapping, fmt.date_format, fmt.decimal_style)

    @classmethod
    def from_json(cls, text: str) -> SavedMapping:
        data = json.loads(text)
        if "columns" not in data:  # saved before formats were kept: the columns alone
            return cls(ColumnMapping(**data))
        style = data.get("decimal_style")
        return cls(
            ColumnMapping(**data["columns"]),
            data.get("date_format"),
            DecimalStyle(style) if style else None,
        )


@dataclass(frozen=True)
class ImportOptions:
    name: str | None = None
    mapping: dict[str, str | None] = field(default_factory=dict)
    delimiter: str | None = None
    decimal_style: DecimalStyle | None = None
    date_format: str | None = None
    replace: bool = False
    imported_by: str | None = None
    threshold: float = REJECT_THRESHOLD


@dataclass(frozen=True)
class Parsed:
    """A file read and checked, not yet stored."""

    file_name: str
    content_hash: str
    format: LedgerFormat
    mapping: ColumnMapping
    columns: list[str]
    lines: pl.DataFrame  # line_no, entry_date, reference, description, amount, currency, …
    rejected: list[Rejected]
    skipped: list[tuple[int, str]]  # blank lines and total rows: recognised, not data

    @property
    def data_rows(self) -> int:
        return self.lines.height + len(self.rejected)


@dataclass(frozen=True)
class SharedLines:
    """Lines of a new import that an earlier ledger already holds (same date, amount and
    reference): usually a corrected re-export of the same books."""

    ledger_id: int
    name: str
    lines: int

    def warning(self) -> str:
        return (
            f"{self.lines:,} of these lines are also in ledger {self.ledger_id} ({self.name}): "
            "reconciled together, the second copy of each shows as duplicate_in_ledger. If this "
            f"file replaces that one, delete ledger {self.ledger_id} or reconcile one of them."
        )


@dataclass(frozen=True)
class ImportResult:
    ledger_id: int
    name: str
    lines_imported: int
    rejected: list[Rejected]
    skipped: list[tuple[int, str]]
    amount_total: Any
    date_from: date | None
    date_to: date | None
    format: LedgerFormat
    mapping: ColumnMapping
    shared: list[SharedLines] = field(default_factory=list)

    def line(self, money: Callable[[Any], str] = format_plain) -> str:
        """One sentence on what landed; `money` writes the total (plain for files and logs)."""
        total = money(self.amount_total)
        return (
            f"Imported ledger {self.ledger_id} ({self.name}): {self.lines_imported} lines, "
            f"total {total}, {self.date_from}..{self.date_to}; "
            f"{len(self.rejected)} rejected, {len(self.skipped)} skipped"
        )


# ---------------------------------------------------------------- sniffing


# Files people upload as "the ledger" that are not text: said plainly instead of misread.
NOT_CSV = {b"PK\x03\x04": "an Excel or OpenDocument workbook", b"%PDF": "a PDF",
           b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook"}  # fmt: skip


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding: UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's
    "Unicode text"), else cp1252, else latin-1."""
    for magic, kind in NOT_CSV.items():
        if raw.startswith(magic):
            raise LedgerError(f"this file is {kind}, not a CSV: save or export it as CSV first")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise LedgerError(f"the file starts as UTF-16 but is not: {exc.reason}") from exc
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise LedgerError("the file is not text")  # pragma: no cover - latin-1 decodes anything


def _normalise(header: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9]+", " ", header.lower())).strip()


def _sample_rows(text: str, delimiter: str, limit: int = 40) -> list[list[str]]:
    return [row for row, _ in _numbered_rows(text, delimiter, limit)]


def _numbered_rows(text: str, delimiter: str, limit: int) -> list[tuple[list[str], int]]:
    """The opening rows, each with the physical line (1-based) on which it ends."""
    reader = csv.reader(io.StringIO(text[:200_000]), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append((row, reader.line_num))
            if len(rows) >= limit:
                break
    except csv.Error:
        pass  # a cut-off quoted field at the sample's end
    return rows


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the opening rows most consistently into several fields."""
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        rows = [r for r in _sample_rows(text, delimiter) if any(c.strip() for c in r)]
        widths = Counter(len(r) for r in rows if len(r) > 1)
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        score = count + width / 100
        if score > best_score:
            best, best_score = delimiter, score
    return best


def find_header(text: str, delimiter: str) -> int:
    """0-based index of the header row among the opening rows: the first that names a field."""
    rows = _sample_rows(text, delimiter, 30)
    known = {alias for aliases in ALIASES.values() for alias in aliases}
    for i, row in enumerate(rows):
        names = {_normalise(c) for c in row}
        if len(row) > 1 and names & known:
            return i
    widths = Counter(len(r) for r in rows if len(r) > 1)
    if not widths:
        raise LedgerError("no columns found: is this a CSV file?")
    width = widths.most_common(1)[0][0]
    return next(i for i, r in enumerate(rows) if len(r) == width)


def auto_mapping(columns: list[str]) -> ColumnMapping:
    """Map columns by their header names, in English or Indonesian."""
    found: dict[str, str] = {}
    normalised = {c: _normalise(c) for c in columns}
    for fld, aliases in ALIASES.items():
        for alias in aliases:  # aliases in order of preference
            match = next(
                (c for c, n in normalised.items() if n == alias and c not in found.values()), None
            )
            if match:
                found[fld] = match
                break
    if "amount" in found and ("debit" in found or "credit" in found):
        found.pop("debit", None)
        found.pop("credit", None)
    return ColumnMapping(**found)


def _month_expr(col: pl.Expr) -> pl.Expr:
    out = col.str.to_lowercase().str.replace(r"\s+\d{1,2}:\d{2}(:\d{2})?$", "")
    for abbr, names in MONTHS.items():
        out = out.str.replace_all(r"\b(" + "|".join(names) + r")\b", abbr.capitalize())
    return out.str.strip_chars()


def sniff_date_format(values: pl.Series, prefer: str | None = None) -> str:
    """The one format that reads the whole column. When day/month order is undecidable the
    preferred format (a saved mapping's) decides; without one the file is refused."""
    texts = values.drop_nulls().to_frame("d").select(_month_expr(pl.col("d")))["d"]
    texts = texts.filter(texts.str.contains(r"\d"))
    if texts.is_empty():
        raise LedgerError("the date column is empty")
    scores = {
        fmt: int(texts.str.strptime(pl.Date, fmt, strict=False).is_not_null().sum())
        for fmt in DATE_FORMATS
    }
    best = max(scores.values())
    winners = [fmt for fmt, n in scores.items() if n == best]
    if best == 0:
        raise LedgerError(
            f"dates like {texts[0]!r} are in no format Rekon knows; say which one the file "
            "uses (Date format on the Ledger page, --date-format on the command line)"
        )
    if len(winners) > 1:
        winners = _day_or_month_first(texts, winners)
    if len(winners) > 1 and prefer in winners:
        return str(prefer)
    if len(winners) > 1:
        readings = " or ".join(f"{fmt} ({DATE_SAMPLE.strftime(fmt)})" for fmt in winners)
        raise LedgerError(
            f"the dates could be read as {readings}: every day is 12 or less. "
            "Say which date format the file uses (Date format on the Ledger page, "
            "--date-format on the command line)"
        )
    return winners[0]


def _day_or_month_first(texts: pl.Series, winners: list[str]) -> list[str]:
    """Break a %d/%m vs %m/%d tie with any value (even an invalid one) above 12."""
    parts = texts.str.extract_groups(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-]")
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    day_first, month_first = int((first > 12).sum()), int((second > 12).sum())
    if day_first and not month_first:
        return [w for w in winners if w.startswith("%d")] or winners
    if month_first and not day_first:
        return [w for w in winners if w.startswith("%m")] or winners
    return winners


# ---------------------------------------------------------------- reading


def read_ledger(
    raw: bytes,
    file_name: str,
    options: ImportOptions | None = None,
    saved_mapping: SavedMapping | None = None,
) -> Parsed:
    """Parse and validate a ledger file; nothing is stored. Raises LedgerError."""
    options = options or ImportOptions()
    if not raw.strip():
        raise LedgerError(f"{file_name} is empty")
    text, encoding = decode(raw)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = options.delimiter or sniff_delimiter(text)
    header_index = find_header(text, delimiter)
    header_line = _numbered_rows(text, delimiter, header_index + 1)[header_index][1]
    body = text if header_line == 1 else "\n".join(text.split("\n")[header_line - 1 :])
    try:
        frame = pl.read_csv(
            io.BytesIO(body.encode("utf-8")),
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=True,
            quote_char='"',
            has_header=True,
        )
    except pl.exceptions.PolarsError as exc:
        raise LedgerError(f"{file_name} could not be read as CSV: {exc}") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    columns = frame.columns
    base = saved_mapping.columns if saved_mapping else auto_mapping(columns)
    mapping = base.with_overrides(options.mapping)
    for fld, col in asdict(mapping).items():
        if col and col not in columns:
            raise ChoiceNeeded(
                f"column {col!r} (for {fld}) is not in the file: found {', '.join(columns)}",
                columns,
                mapping,
            )
    if missing := mapping.missing():
        raise ChoiceNeeded(
            f"no column for {', '.join(missing)}: found {', '.join(columns)}. "
            f"Pick {'it' if len(missing) == 1 else 'them'} in the column mapping "
            "(--map date=Tanggal on the command line)",
            columns,
            mapping,
        )
    physical_lines = body.count("\n") + (not body.endswith("\n"))
    saved = saved_mapping or SavedMapping(mapping)
    return _validate(
        frame, physical_lines, mapping, file_name, raw, encoding, delimiter, header_line, options,
        saved,
    )  # fmt: skip


def _validate(
    frame: pl.DataFrame,
    physical_lines: int,
    mapping: ColumnMapping,
    file_name: str,
    raw: bytes,
    encoding: str,
    delimiter: str,
    header_line: int,
    options: ImportOptions,
    saved: SavedMapping,
) -> Parsed:
    m = asdict(mapping)
    text_cols = list(frame.columns)  # the file's own columns, before helpers are added
    # Line in the file of each record: header line + 1 + index + newlines inside earlier records
    # (counted only when the file has more lines than records, i.e. when there are some).
    line_no = header_line + 1 + pl.int_range(pl.len())
    if physical_lines > frame.height + 1:
        newlines = pl.sum_horizontal(
            [pl.col(c).fill_null("").str.count_matches("\n") for c in text_cols]
        )
        line_no = line_no + newlines.cum_sum() - newlines
    frame = frame.with_columns(
        line_no.alias("__line"),
        pl.all_horizontal(
            [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in text_cols]
        ).alias("__blank"),
    )
    amount_cols = [c for c in (m["amount"], m["debit"], m["credit"]) if c]
    style = options.decimal_style or sniff_style(
        pl.concat([frame[c] for c in amount_cols]).drop_nulls(), saved.decimal_style
    )
    date_col = m["date"]
    # A total or balance line: no date in the date column, and a word like Total or Saldo.
    wordy = pl.lit(False)
    for c in (date_col, m["reference"], m["description"]):
        if c:
            wordy = wordy | pl.col(c).fill_null("").str.contains(SUMMARY_WORDS)
    no_date = ~pl.col(date_col).fill_null("").str.contains(r"\d")
    # The word test runs on the few rows without a date, not on every row.
    summary_lines = frame.filter(no_date & ~pl.col("__blank")).filter(wordy)["__line"]
    frame = frame.with_columns(pl.col("__line").is_in(summary_lines.implode()).alias("__summary"))
    data = frame.filter(~pl.col("__blank") & ~pl.col("__summary"))
    if data.is_empty():
        raise LedgerError(f"{file_name} has a header but no ledger lines")
    try:
        date_format = options.date_format or sniff_date_format(
            data[date_col].unique(), saved.date_format
        )
    except LedgerError as exc:
        raise ChoiceNeeded(str(exc), text_cols, mapping) from exc
    parsed_date = _via_distinct(
        data[date_col],
        lambda c: _month_expr(c).str.strptime(pl.Date, date_format, strict=False),
        pl.Date,
    )
    if m["amount"]:
        amount = _via_distinct(data[m["amount"]], lambda c: amount_expr(c, style), MONEY_DTYPE)
        amount_ok = pl.col("__amount").is_not_null()
    else:
        debit = amount_expr(pl.col(m["debit"]), style) if m["debit"] else pl.lit(None)
        credit = amount_expr(pl.col(m["credit"]), style) if m["credit"] else pl.lit(None)
        amount = pl.lit(0).cast(pl.Decimal(18, 2))  # replaced below once the sales side is known
        amount_ok = debit.is_not_null() | credit.is_not_null()
    data = data.with_columns(parsed_date.alias("__date"), amount.alias("__amount"))
    if not m["amount"]:
        data = _debit_credit(data, m, style)
        amount_ok = pl.col("__amount").is_not_null()
    rejected = _rejections(data, mapping, date_format, style, amount_ok)
    bad_lines = {r.line_no for r in rejected}
    good = data.filter(~pl.col("__line").is_in(list(bad_lines)))
    lines = good.select(
        pl.col("__line").cast(pl.Int64).alias("line_no"),
        pl.col("__date").alias("entry_date"),
        _text(m["reference"]).alias("reference"),
        _text(m["description"]).alias("description"),
        pl.col("__amount").cast(pl.Decimal(18, 2)).alias("amount"),
        (
            _text(m["currency"]).str.to_uppercase().fill_null("IDR")
            if m["currency"]
            else pl.lit("IDR")
        ).alias("currency"),
        _text(m["provider"]).str.to_lowercase().alias("provider"),
        _text(m["email"]).alias("email"),
    )
    skipped = [(int(n), "blank line") for n in frame.filter(pl.col("__blank"))["__line"]]
    skipped += [(int(n), "total/summary row") for n in frame.filter(pl.col("__summary"))["__line"]]
    fmt = LedgerFormat(encoding, delimiter, header_line, style, date_format)
    return Parsed(
        file_name,
        hashlib.sha256(raw).hexdigest(),
        fmt,
        mapping,
        text_cols,
        lines,
        rejected,
        sorted(skipped),
    )


def _via_distinct(
    values: pl.Series, parse: Callable[[pl.Expr], pl.Expr], dtype: PolarsDataType
) -> pl.Expr:
    """`parse` applied to each distinct text of a column once, mapped back onto every row.

    Ledgers repeat their dates and, mostly, their amounts: parsing the distinct texts is
    several regular expressions over thousands of values instead of a million. When most
    texts are distinct, mapping back would cost more than it saves.
    """
    texts = values.unique()
    if len(texts) > len(values) // 2:
        return parse(pl.col(values.name))
    parsed = texts.to_frame("t").select(parse(pl.col("t")).alias("t"))["t"]
    return pl.col(values.name).replace_strict(texts, parsed, default=None, return_dtype=dtype)


def _text(col: str | None) -> pl.Expr:
    if not col:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(col).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def _debit_credit(data: pl.DataFrame, m: dict[str, Any], style: DecimalStyle) -> pl.DataFrame:
    """One signed amount from a debit/credit pair: the side most rows use counts as sales."""
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    debit = amount_expr(pl.col(m["debit"]), style).fill_null(zero) if m["debit"] else zero
    credit = amount_expr(pl.col(m["credit"]), style).fill_null(zero) if m["credit"] else zero
    data = data.with_columns(debit.alias("__debit"), credit.alias("__credit"))
    debit_rows = int((data["__debit"] != 0).sum())
    credit_rows = int((data["__credit"] != 0).sum())
    sales, other = ("__debit", "__credit") if debit_rows >= credit_rows else ("__credit", "__debit")
    has_text = pl.lit(False)
    for c in (m["debit"], m["credit"]):
        if c:
            has_text = has_text | (pl.col(c).fill_null("").str.strip_chars() != "")
    value = (pl.col(sales) - pl.col(other)).cast(pl.Decimal(18, 2))
    parsed_ok = pl.lit(True)
    for c in (m["debit"], m["credit"]):
        if c:
            text = pl.col(c).fill_null("").str.strip_chars()
            parsed_ok = parsed_ok & ((text == "") | amount_expr(pl.col(c), style).is_not_null())
    return data.with_columns(
        pl.when(has_text & parsed_ok).then(value).otherwise(None).alias("__amount")
    )


def _rejections(
    data: pl.DataFrame,
    mapping: ColumnMapping,
    date_format: str,
    style: DecimalStyle,
    amount_ok: pl.Expr,
) -> list[Rejected]:
    m = asdict(mapping)
    amount_label = m["amount"] or "/".join(c for c in (m["debit"], m["credit"]) if c)
    amount_source = m["amount"] or m["debit"] or m["credit"]
    checks = data.select(
        "__line",
        pl.col(m["date"]).fill_null("").alias("date_text"),
        pl.col(amount_source).fill_null("").alias("amount_text"),
        pl.col("__date").is_null().alias("bad_date"),
        (~amount_ok).alias("bad_amount"),
    ).filter(pl.col("bad_date") | pl.col("bad_amount"))
    out = []
    # Only the failing rows reach Python, and the import is refused past 5 % of them.
    for line, date_text, amount_text, bad_date, bad_amount in checks.iter_rows():
        if bad_date:
            reason = (
                "no date"
                if not date_text.strip()
                else f"not a date like {DATE_SAMPLE.strftime(date_format)} ({date_format})"
            )
            out.append(Rejected(int(line), m["date"], date_text, reason))
        if bad_amount:
            reason = (
                "no amount" if not amount_text.strip() else f"not an amount like {style.sample}"
            )
            out.append(Rejected(int(line), amount_label, amount_text, reason))
    return out


# ---------------------------------------------------------------- storing


def import_ledger(
    store: Store,
    path_or_bytes: Path | bytes,
    file_name: str | None = None,
    options: ImportOptions | None = None,
    saved_mapping: str | None = None,
) -> ImportResult:
    """Read, validate and store one ledger file in one transaction. Raises LedgerError."""
    options = options or ImportOptions()
    if isinstance(path_or_bytes, Path):
        raw = path_or_bytes.read_bytes()
        file_name = file_name or path_or_bytes.name
    else:
        raw = path_or_bytes
    file_name = file_name or "ledger.csv"
    base = load_mapping(store, saved_mapping) if saved_mapping else None
    parsed = read_ledger(raw, file_name, options, base)
    return store_ledger(store, parsed, options)


def store_ledger(store: Store, parsed: Parsed, options: ImportOptions) -> ImportResult:
    rows = parsed.data_rows
    failed_lines = len({r.line_no for r in parsed.rejected})
    if rows == 0:
        raise LedgerError(f"{parsed.file_name} has a header but no ledger lines")
    if failed_lines > options.threshold * rows:
        raise TooManyRejected(
            f"{failed_lines} of {rows} lines in {parsed.file_name} could not be read "
            f"(more than {options.threshold:.0%}); nothing was imported. "
            f"First problem: line {parsed.rejected[0].line_no}, {parsed.rejected[0].column}: "
            f"{parsed.rejected[0].reason} ({parsed.rejected[0].value!r})",
            parsed.rejected,
        )
    name = options.name or parsed.file_name
    lines = parsed.lines
    total = lines["amount"].sum() if lines.height else 0
    first_day: date | None = lines["entry_date"].min()  # type: ignore[assignment]
    last_day: date | None = lines["entry_date"].max()  # type: ignore[assignment]
    with store.write() as cur:
        existing = cur.execute(
            "SELECT id, name FROM ledgers WHERE content_hash = ?", [parsed.content_hash]
        ).fetchall()
        if existing and not options.replace:
            raise DuplicateLedger(
                f"{parsed.file_name} was already imported as ledger {existing[0][0]} "
                f"({existing[0][1]}); use --replace to import it again"
            )
        for old_id, _ in existing:
            cur.execute("DELETE FROM ledger_lines WHERE ledger_id = ?", [old_id])
            cur.execute("DELETE FROM ledgers WHERE id = ?", [old_id])
        # The same file keeps its ledger id, so its lines keep their result keys and the reviews
        # recorded on them stay attached when the month is reconciled again.
        row = cur.execute(
            "INSERT INTO ledgers (id, name, file_name, content_hash, imported_at, imported_by,"
            " mapping, format, lines_total, lines_imported, lines_rejected, amount_total,"
            " date_from, date_to, rejected)"
            " VALUES (coalesce(?, nextval('ledger_id')),?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            [
                existing[0][0] if existing else None,
                name,
                parsed.file_name,
                parsed.content_hash,
                utc_now(),
                options.imported_by,
                parsed.mapping.to_json(),
                json.dumps(asdict(parsed.format)),
                rows,
                lines.height,
                failed_lines,
                total,
                lines["entry_date"].min(),
                lines["entry_date"].max(),
                json.dumps([asdict(r) for r in parsed.rejected[:1000]]),
            ],
        ).fetchall()
        ledger_id = int(row[0][0])
        columns = ("line_no", "entry_date", "reference", "description", "amount", "currency",
                   "provider", "email")  # fmt: skip
        # The table's column order; from_arrow rather than register() so the batch is not
        # kept alive until the commit.
        new_lines = lines.select(pl.lit(ledger_id, pl.Int64).alias("ledger_id"), *columns)
        cur.from_arrow(new_lines.to_arrow()).insert_into("ledger_lines")
        overlapping = cur.execute(
            "SELECT list(id) FROM ledgers WHERE id <> ? AND date_from <= ? AND date_to >= ?",
            [ledger_id, last_day, first_day],
        ).fetchall()[0][0]
        shared = (
            [
                SharedLines(*r)
                for r in cur.execute(SHARED_LINES_SQL, [ledger_id, overlapping]).fetchall()
            ]
            if overlapping
            else []
        )
        store.audit(
            cur,
            options.imported_by or "system",
            "ledger.import",
            f"ledger:{ledger_id}",
            json.dumps(
                {
                    "file": parsed.file_name,
                    "lines": lines.height,
                    "rejected": failed_lines,
                    "replaced": [e[0] for e in existing],
                }
            ),
        )
    return ImportResult(
        ledger_id,
        name,
        lines.height,
        parsed.rejected,
        parsed.skipped,
        total,
        first_day,
        last_day,
        parsed.format,
        parsed.mapping,
        shared,
    )


# How many lines of the new ledger ($1) each earlier ledger whose dates overlap ($2) holds too.
SHARED_LINES_SQL = """
    SELECT e.ledger_id, g.name, count(DISTINCT n.line_no) AS lines
    FROM ledger_lines n
    JOIN ledger_lines e ON e.entry_date = n.entry_date AND e.amount = n.amount
                       AND e.reference IS NOT DISTINCT FROM n.reference
    JOIN ledgers g ON g.id = e.ledger_id
    WHERE n.ledger_id = $1 AND list_contains($2, e.ledger_id)
    GROUP BY e.ledger_id, g.name ORDER BY e.ledger_id
"""


def delete_ledger(store: Store, ledger_id: int, actor: str = "system") -> int:
    """Delete a ledger and its lines in one transaction (audited); returns how many lines went.
    Runs that used it keep their results, which hold the lines' dates and amounts."""
    with store.write() as cur:
        found = cur.execute("SELECT name FROM ledgers WHERE id = ?", [ledger_id]).fetchall()
        if not found:
            raise LedgerError(f"there is no ledger {ledger_id}")
        lines = cur.execute("DELETE FROM ledger_lines WHERE ledger_id = ?", [ledger_id])
        deleted = int(lines.fetchall()[0][0])
        cur.execute("DELETE FROM ledgers WHERE id = ?", [ledger_id])
        detail = json.dumps({"name": found[0][0], "lines": deleted})
        store.audit(cur, actor, "ledger.delete", f"ledger:{ledger_id}", detail)
    return deleted


def list_ledgers(store: Store) -> pl.DataFrame:
    return store.query(
        "SELECT id, name, file_name, imported_at, lines_imported, lines_rejected, amount_total,"
        " date_from, date_to FROM ledgers ORDER BY id"
    )


def save_mapping(store: Store, name: str, saved: SavedMapping) -> str:
    """Save (or overwrite) a mapping; returns the name it is saved under."""
    name = name.strip()
    if not name:
        raise LedgerError("a saved mapping needs a name")
    with store.write() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO ledger_mappings VALUES (?, ?, ?)",
            [name, saved.to_json(), utc_now()],
        )
    return name


def load_mapping(store: Store, name: str) -> SavedMapping:
    found = store.scalar("SELECT mapping FROM ledger_mappings WHERE name = ?", [name])
    if found is None:
        raise LedgerError(f"there is no saved mapping called {name!r}")
    return SavedMapping.from_json(found)


def list_mappings(store: Store) -> list[str]:
    return list(store.query("SELECT name FROM ledger_mappings ORDER BY name")["name"])
