"""What a ledger import works with: the errors it raises, the mapping of file columns to
fields, the format it detected, and what a read and an import give back."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from rekon.errors import RekonError
from rekon.money import DecimalStyle, format_count, format_plain
from rekon.periods import day_range

FIELDS = ("date", "amount", "debit", "credit", "reference", "description", "currency",
          "provider", "email")  # fmt: skip
REJECT_THRESHOLD = 0.05
DATE_SAMPLE = date(2026, 1, 31)  # shows a reader what each format looks like


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


DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class LedgerFormat:
    encoding: str
    delimiter: str
    header_line: int  # 1-based line of the header in the file
    decimal_style: DecimalStyle
    date_format: str

    def describe(self) -> str:
        return (
            f"{self.encoding}, {DELIMITER_NAMES.get(self.delimiter, self.delimiter)}-separated, "
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
    threshold: float = REJECT_THRESHOLD
    corrects: int | None = None  # the ledger this file is a corrected re-export of


@dataclass(frozen=True)
class Checked:
    """What checking every line of a file found, beside the lines themselves."""

    file_name: str
    content_hash: str
    format: LedgerFormat
    mapping: ColumnMapping
    columns: list[str]
    rejected: list[Rejected]
    skipped: list[tuple[int, str]]  # blank lines and total rows: recognised, not data
    cleaned: int  # lines whose reference or description held control characters
    warnings: list[str]  # e.g. a stated total the lines miss
    lines: int
    total: Decimal
    first_day: date | None
    last_day: date | None

    @property
    def rejected_lines(self) -> int:
        """Lines set aside; one line can fail for several reasons (a date and an amount)."""
        return len({r.line_no for r in self.rejected})

    @property
    def data_rows(self) -> int:
        return self.lines + self.rejected_lines


@dataclass(frozen=True)
class Parsed:
    """A file read and checked whole, not yet stored: what was found, and every line."""

    checked: Checked
    lines: pl.DataFrame  # line_no, entry_date, reference, description, amount, currency, …

    @property
    def file_name(self) -> str:
        return self.checked.file_name

    @property
    def content_hash(self) -> str:
        return self.checked.content_hash

    @property
    def format(self) -> LedgerFormat:
        return self.checked.format

    @property
    def mapping(self) -> ColumnMapping:
        return self.checked.mapping

    @property
    def columns(self) -> list[str]:
        return self.checked.columns

    @property
    def rejected(self) -> list[Rejected]:
        return self.checked.rejected

    @property
    def skipped(self) -> list[tuple[int, str]]:
        return self.checked.skipped

    @property
    def cleaned(self) -> int:
        return self.checked.cleaned

    @property
    def warnings(self) -> list[str]:
        return self.checked.warnings

    @property
    def rejected_lines(self) -> int:
        return self.checked.rejected_lines

    @property
    def data_rows(self) -> int:
        return self.checked.data_rows


@dataclass(frozen=True)
class SharedLines:
    """Lines of a new import that an earlier ledger already holds (same date, amount and
    reference): usually a corrected re-export of the same books."""

    ledger_id: int
    name: str
    lines: int

    def warning(self) -> str:
        return (
            f"{format_count(self.lines)} of these lines are also in ledger {self.ledger_id} "
            f"({self.name}): "
            "reconciled together, the second copy of each shows as duplicate_in_ledger. If this "
            f"file is a corrected export of that one, let it correct ledger {self.ledger_id}: "
            "the decisions on the lines that did not change carry over, and the old ledger goes."
        )


@dataclass(frozen=True)
class Correction:
    """What correcting ledger `old_id` with ledger `new_id` did."""

    old_id: int
    new_id: int
    lines_kept: int  # lines of the old ledger found unchanged in the new one
    lines_dropped: int  # lines of the old ledger the new one no longer has (or changed)
    decisions_carried: int

    def line(self) -> str:
        return (
            f"Ledger {self.new_id} replaces ledger {self.old_id}: "
            f"{format_count(self.lines_kept)} of its lines are unchanged and "
            f"{format_count(self.lines_dropped)} changed or gone; "
            f"{format_count(self.decisions_carried)} decisions on unchanged lines carried over"
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
    correction: Correction | None = None
    cleaned: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self, money: Callable[[Any], str] = format_plain) -> str:
        """One sentence on what landed; `money` writes the total (plain for files and logs)."""
        total = money(self.amount_total)
        rejected = len({r.line_no for r in self.rejected})
        landed = (
            f"Imported ledger {self.ledger_id} ({self.name}): "
            f"{format_count(self.lines_imported)} lines, total {total}, "
            f"{day_range(self.date_from, self.date_to)}; {format_count(rejected)} rejected, "
            f"{format_count(len(self.skipped))} skipped"
        )
        if self.cleaned:
            landed += (
                f"; control characters removed from the reference or description of "
                f"{format_count(self.cleaned)} lines"
            )
        return landed if self.correction is None else f"{landed}. {self.correction.line()}"
