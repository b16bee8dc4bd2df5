"""Reading a ledger file into checked lines: every step past sniffing is a polars expression
over whole columns; a row that cannot be read is reported with its line in the file and the
reason, never dropped quietly. Nothing is stored here."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from rekon.ledger.model import (
    DATE_SAMPLE,
    DELIMITER_NAMES,
    ChoiceNeeded,
    ColumnMapping,
    ImportOptions,
    LedgerError,
    LedgerFormat,
    Parsed,
    Rejected,
    SavedMapping,
)
from rekon.ledger.sniffing import (
    auto_mapping,
    check_date_format,
    decode,
    find_header,
    month_names_expr,
    numbered_rows,
    sniff_date_format,
    sniff_delimiter,
)
from rekon.money import RUPIAH, DecimalStyle, amount_problem, format_plain
from rekon.money_columns import MONEY_DTYPE, amount_expr, side_expr, sniff_style

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

# Control characters, zero-width and bidi marks: never part of a reference a person typed.
INVISIBLE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
# A word that opens a total or balance line rather than a ledger line.
SUMMARY_WORDS = r"(?i)^\s*(grand\s+)?(sub\s*)?total\b|^\s*jumlah\b|^\s*saldo\b|^\s*balance\b"


def read_ledger(
    raw: bytes,
    file_name: str,
    options: ImportOptions | None = None,
    saved_mapping: SavedMapping | None = None,
) -> Parsed:
    """Parse and validate a ledger file held in memory; nothing is stored. Raises
    LedgerError."""
    options = options or ImportOptions()
    if not raw.strip():
        raise LedgerError(f"{file_name} is empty")
    text, encoding = decode(raw)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = options.delimiter or sniff_delimiter(text)
    header_line = _header_line(text, delimiter)
    body = text if header_line == 1 else "\n".join(text.split("\n")[header_line - 1 :])
    frame, overlong = read_records(body, delimiter, header_line, file_name)
    physical_lines = body.count("\n") + (not body.endswith("\n"))
    source = _Source(
        file_name, hashlib.sha256(raw).hexdigest(), encoding, delimiter, header_line,
        physical_lines,
    )  # fmt: skip
    return _mapped(frame, source, options, saved_mapping, overlong)


def read_ledger_file(
    path: Path,
    file_name: str | None = None,
    options: ImportOptions | None = None,
    saved_mapping: SavedMapping | None = None,
) -> Parsed:
    """Parse and validate a ledger file on disk; nothing is stored. Raises LedgerError.

    A UTF-8 file with plain line ends (nearly every export) is never held in Python: one pass
    over its bytes hashes it and counts its lines, the sniffing reads its opening bytes, and
    polars reads the records where they lie. Anything else (another encoding, a BOM, CR line
    ends, a record polars cannot read strictly) is read in memory as an upload is."""
    options = options or ImportOptions()
    file_name = file_name or path.name
    scan = _scan(path)
    if not scan.plain:
        return read_ledger(path.read_bytes(), file_name, options, saved_mapping)
    text, encoding = decode(scan.head)
    delimiter = options.delimiter or sniff_delimiter(text)
    header_line = _header_line(text, delimiter)
    try:
        frame = pl.read_csv(
            path, separator=delimiter, infer_schema=False, quote_char='"', has_header=True,
            skip_lines=header_line - 1,
        )  # fmt: skip
    except pl.exceptions.PolarsError:
        return read_ledger(path.read_bytes(), file_name, options, saved_mapping)
    physical_lines = scan.newlines - (header_line - 1) + (not scan.ends_with_newline)
    source = _Source(file_name, scan.content_hash, encoding, delimiter, header_line, physical_lines)
    return _mapped(frame, source, options, saved_mapping, [])


@dataclass(frozen=True)
class _Source:
    """What the records were read from: the file, and where its header is."""

    file_name: str
    content_hash: str
    encoding: str
    delimiter: str
    header_line: int  # 1-based
    physical_lines: int  # from the header line on


@dataclass(frozen=True)
class _Scan:
    content_hash: str
    head: bytes  # the opening lines, whole lines only, for sniffing
    newlines: int
    ends_with_newline: bool
    plain: bool  # UTF-8 without a BOM, no CR, not blank: polars may read it where it lies


SCAN_CHUNK = 1 << 24
# The sniffing reads the opening 200,000 characters at most.
HEAD_BYTES = 262_144


def _scan(path: Path) -> _Scan:
    """One pass over the file's bytes, a chunk at a time: its hash, its line count, and
    whether it is plain UTF-8."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    head, newlines, last, plain, blank = b"", 0, b"", True, True
    with path.open("rb") as f:
        while chunk := f.read(SCAN_CHUNK):
            digest.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            newlines += chunk.count(b"\n")
            blank = blank and not chunk.strip()
            if plain:
                try:
                    utf8.decode(chunk)
                    plain = b"\r" not in chunk
                except UnicodeDecodeError:
                    plain = False
            last = chunk[-1:]
    try:
        utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        plain = False
    plain = plain and not blank and not head.startswith(codecs.BOM_UTF8)
    if len(head) >= HEAD_BYTES:  # a line cut in two would fool the sniffing
        head = head[: head.rfind(b"\n") + 1] or head
    return _Scan(digest.hexdigest(), head, newlines, last == b"\n", plain)


def _header_line(text: str, delimiter: str) -> int:
    """The 1-based line in the file on which the header row ends."""
    header_index = find_header(text, delimiter)
    return numbered_rows(text, delimiter, header_index + 1)[header_index][1]


def _mapped(
    frame: pl.DataFrame,
    source: _Source,
    options: ImportOptions,
    saved_mapping: SavedMapping | None,
    overlong: list[Rejected],
) -> Parsed:
    """The records mapped to ledger fields and checked."""
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
            f"(--map {missing[0].split()[0]}=COLUMN on the command line)",
            columns,
            mapping,
        )
    saved = saved_mapping or SavedMapping(mapping)
    return _validate(frame, mapping, source, options, saved, overlong)


def _read_csv(body: str, delimiter: str, quote: str | None, ragged: bool) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(body.encode("utf-8")),
        separator=delimiter,
        infer_schema=False,
        truncate_ragged_lines=ragged,
        quote_char=quote,
        has_header=True,
    )


def read_records(
    body: str, delimiter: str, header_line: int, file_name: str
) -> tuple[pl.DataFrame, list[Rejected]]:
    """The records under the header as text columns, and those with more fields than it has.

    Read strictly first; only a file that fails that (one record too long, or a quote that is
    not a CSV quote) takes the slower, forgiving way."""
    try:
        return _read_csv(body, delimiter, '"', ragged=False), []
    except pl.exceptions.PolarsError:
        pass
    # When no field opens with a quote the file does not quote at all, and a quote inside a
    # field is text: the inch mark of 'Kabel HDMI 5" hitam'.
    quotes = re.search(rf'(?m)(^|{re.escape(delimiter)})[ \t]*"', body) is not None
    quote = '"' if quotes else None
    try:
        frame = _read_csv(body, delimiter, quote, ragged=True)
    except pl.exceptions.PolarsError as exc:
        # The first line with an odd number of quotes is where a quote is left open.
        odd = _lines_where(body, pl.col("text").str.count_matches('"', literal=True) % 2 == 1)
        where = f"line {header_line + int(odd['i'][0])} opens" if odd.height else "a field opens"
        raise LedgerError(
            f'{file_name} could not be read as CSV: {where} a quote (") that does not close'
        ) from exc
    return frame, overlong_records(body, delimiter, quote, len(frame.columns), header_line)


def overlong_records(
    body: str, delimiter: str, quote: str | None, width: int, header_line: int
) -> list[Rejected]:
    """Lines with more fields than the header, beyond empty trailing ones: most often a
    delimiter inside a field that is not quoted, which shifts the amount into another column.
    Lines with enough delimiters are found over the whole column; only those are split, each
    on its own (a quoted field spanning lines is rare in a file that is already ragged)."""
    candidates = _lines_where(
        body, pl.col("text").str.count_matches(delimiter, literal=True) >= width
    )
    out = []
    for i, text in candidates.iter_rows():
        fields = next(
            csv.reader([text], delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
            if quote
            else csv.reader([text], delimiter=delimiter, quoting=csv.QUOTE_NONE)
        )
        extra = [f for f in fields[width:] if f.strip()]
        if extra:
            out.append(
                Rejected(
                    header_line + int(i),
                    "whole line",
                    delimiter.join(extra),
                    f"{len(fields)} fields where the header has {width}: is there a "
                    f"{DELIMITER_NAMES.get(delimiter, delimiter)} inside a field that is not "
                    "in quotes?",
                )
            )
    return out


def _lines_where(body: str, condition: pl.Expr) -> pl.DataFrame:
    """The body's physical lines (`i` from 0, `text`) that meet a condition on their text."""
    return pl.DataFrame({"text": body.split("\n")}).with_row_index("i").filter(condition)


def _validate(
    frame: pl.DataFrame,
    mapping: ColumnMapping,
    source: _Source,
    options: ImportOptions,
    saved: SavedMapping,
    overlong: list[Rejected],
) -> Parsed:
    m = asdict(mapping)
    file_name, header_line = source.file_name, source.header_line
    text_cols = list(frame.columns)  # the file's own columns, before helpers are added
    # Line in the file of each record: header line + 1 + index + newlines inside earlier records
    # (counted only when the file has more lines than records, i.e. when there are some).
    line_no = header_line + 1 + pl.int_range(pl.len())
    if source.physical_lines > frame.height + 1:
        newlines = pl.sum_horizontal(
            [pl.col(c).fill_null("").str.count_matches("\n") for c in text_cols]
        )
        line_no = line_no + newlines.cum_sum() - newlines
    frame = frame.with_columns(
        line_no.alias("__line"),
        # No character but white space: a search, where stripping would copy every text.
        pl.all_horizontal(
            [~pl.col(c).str.contains(r"\S").fill_null(False) for c in text_cols]
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
    # A filter copies every column: at 10M lines each copy is the file's size again, so a
    # clean file (no blank, total or rejected lines) is never filtered.
    not_data = pl.col("__blank") | pl.col("__summary")
    data = frame.filter(~not_data) if frame.select(not_data.any()).item() else frame
    if data.is_empty():
        raise LedgerError(f"{file_name} has a header but no ledger lines")
    if options.date_format:
        check_date_format(options.date_format)
    try:
        date_format = options.date_format or sniff_date_format(
            data[date_col].unique(), saved.date_format
        )
    except LedgerError as exc:
        raise ChoiceNeeded(str(exc), text_cols, mapping) from exc
    parsed_date = _via_distinct(
        data[date_col],
        lambda c: month_names_expr(c).str.strptime(pl.Date, date_format, strict=False),
        pl.Date,
    )
    if m["amount"]:
        amount = _via_distinct(data[m["amount"]], lambda c: amount_expr(c, style), MONEY_DTYPE)
        amount = _signed_by_side(data[m["amount"]], amount)
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
    rejected = sorted(
        overlong + _rejections(data, mapping, date_format, style, amount_ok),
        key=lambda r: r.line_no,
    )
    bad_lines = {r.line_no for r in rejected}
    good = data.filter(~pl.col("__line").is_in(list(bad_lines))) if bad_lines else data
    # A NUL or a bidi mark inside a reference is invisible and keeps the line from ever
    # matching: such characters go, and the import says on how many lines.
    dirty = pl.lit(False)
    for c in (m["reference"], m["description"]):
        if c:
            dirty = dirty | pl.col(c).fill_null("").str.contains(INVISIBLE)
    cleaned = int(good.select(dirty.sum()).item())
    lines = good.select(
        pl.col("__line").cast(pl.Int64).alias("line_no"),
        pl.col("__date").alias("entry_date"),
        _text(m["reference"], clean=bool(cleaned)).alias("reference"),
        _text(m["description"], clean=bool(cleaned)).alias("description"),
        pl.col("__amount").cast(pl.Decimal(18, 2)).alias("amount"),
        pl.lit("IDR").alias("currency"),  # any other currency was set aside above
        _text(m["provider"]).str.to_lowercase().alias("provider"),
        _text(m["email"]).alias("email"),
    )
    skipped = [(int(n), "blank line") for n in frame.filter(pl.col("__blank"))["__line"]]
    skipped += [(int(n), "total/summary row") for n in frame.filter(pl.col("__summary"))["__line"]]
    stated = _stated_total(
        frame.filter(pl.col("__summary")), m, style, (date_col, m["reference"], m["description"])
    )
    warnings = []
    if stated is not None:
        total_line, said = stated
        summed = Decimal(lines["amount"].sum() or 0) if lines.height else Decimal(0)
        if said != summed:
            set_aside = len({r.line_no for r in rejected})
            because = f"; the {set_aside} line(s) set aside may explain it" if set_aside else ""
            warnings.append(
                f"the total on line {total_line} says {format_plain(said)}, but the imported "
                f"lines add up to {format_plain(summed)} (difference "
                f"{format_plain(summed - said)}){because}: check the file before reconciling"
            )
    fmt = LedgerFormat(source.encoding, source.delimiter, header_line, style, date_format)
    return Parsed(
        file_name,
        source.content_hash,
        fmt,
        mapping,
        text_cols,
        lines,
        rejected,
        sorted(skipped),
        cleaned,
        warnings,
    )


# A grand total, not a sub-total or a running balance (neither adds up the lines).
GRAND_TOTAL = r"(?i)^\s*(grand\s+)?total\b|^\s*jumlah\b"


def _stated_total(
    summary: pl.DataFrame, m: dict[str, Any], style: DecimalStyle, word_cols: tuple[str | None, ...]
) -> tuple[int, Decimal] | None:
    """The last grand-total row's line and amount, when the file states one in its amount
    column (or its sales column of a debit/credit pair)."""
    column = m["amount"] or m["debit"] or m["credit"]
    if summary.is_empty() or not column:
        return None
    grand = pl.lit(False)
    for c in word_cols:
        if c:
            grand = grand | pl.col(c).fill_null("").str.contains(GRAND_TOTAL)
    rows = (
        summary.filter(grand)
        .select("__line", amount_expr(pl.col(column), style).alias("total"))
        .drop_nulls("total")
    )
    if rows.is_empty():
        return None
    line_no, total = rows.row(-1)
    return int(line_no), Decimal(total)


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


def _signed_by_side(values: pl.Series, amount: pl.Expr) -> pl.Expr:
    """Amounts marked with their side (`1.500.000,00 CR`, `250.000,00 DB`) as one signed
    amount: as with a debit/credit pair, the side most lines use counts as sales (a tie goes to
    credit, money in on a bank statement) and the other side as reversals."""
    if not values.str.contains(r"(?i)[a-z]\.?\s*$").any():  # one quick scan: no marks at all
        return amount
    counts = values.to_frame("v").select(side_expr(pl.col("v")).alias("s"))["s"].value_counts()
    per_side = dict(zip(counts["s"].to_list(), counts["count"].to_list(), strict=True))
    reversal = "credit" if per_side.get("debit", 0) > per_side.get("credit", 0) else "debit"
    return pl.when(side_expr(pl.col(values.name)) == reversal).then(-amount).otherwise(amount)


def _text(col: str | None, clean: bool = False) -> pl.Expr:
    if not col:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(col)
    if clean:
        value = value.str.replace_all(INVISIBLE, "")
    value = value.str.strip_chars()
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
    currency = _text(m["currency"])
    # Orders are in rupiah: a line in another currency would pair by its bare number.
    foreign = currency.is_not_null() & ~currency.str.to_uppercase().is_in(RUPIAH)
    # The failing rows first: their texts are then read from a few rows, not copied from all.
    checks = data.filter(pl.col("__date").is_null() | ~amount_ok | foreign).select(
        "__line",
        pl.col(m["date"]).fill_null("").alias("date_text"),
        pl.col(amount_source).fill_null("").alias("amount_text"),
        currency.alias("currency_text"),
        pl.col("__date").is_null().alias("bad_date"),
        (~amount_ok).alias("bad_amount"),
        foreign.alias("foreign"),
    )
    out = []
    # Only the failing rows reach Python, and the import is refused past 5 % of them.
    for line, date_text, amount_text, code, bad_date, bad_amount, foreign in checks.iter_rows():
        if bad_date:
            reason = (
                "no date"
                if not date_text.strip()
                else f"not a date like {DATE_SAMPLE.strftime(date_format)} ({date_format})"
            )
            out.append(Rejected(int(line), m["date"], date_text, reason))
        if bad_amount:
            reason = "no amount" if not amount_text.strip() else amount_problem(amount_text, style)
            out.append(Rejected(int(line), amount_label, amount_text, reason))
        if foreign:
            reason = "not rupiah: the gateways' orders are in IDR; convert or leave out this line"
            out.append(Rejected(int(line), m["currency"], code, reason))
    return out
