"""Reading a ledger file into checked lines: every step past sniffing is a polars expression
over whole columns; a row that cannot be read is reported with its line in the file and the
reason, never dropped quietly. Nothing is stored here."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from rekon.ledger.model import (
    DATE_SAMPLE,
    DELIMITER_NAMES,
    Checked,
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
    source = _Source(file_name, hashlib.sha256(raw).hexdigest(), encoding, delimiter, header_line)
    return _mapped(frame, source, options, saved_mapping, overlong)


BATCH_ROWS = 1_000_000


class LedgerStream:
    """A ledger file read and checked a batch of lines at a time, so an import holds one
    batch, never the whole file. `lines()` yields the checked lines; once it has run out,
    `checked()` says what was set aside, the totals, and any warning."""

    def __init__(
        self, file_name: str, content_hash: str,
        read: Iterator[tuple[pl.DataFrame | None, Checked | None]],
    ) -> None:  # fmt: skip
        self.file_name = file_name
        self.content_hash = content_hash
        self._read = read  # each batch's lines; the last item also carries what was found
        self._done: Checked | None = None

    @classmethod
    def of(cls, parsed: Parsed) -> LedgerStream:
        """A file already read in memory, as one batch."""
        return cls(parsed.file_name, parsed.content_hash, iter([(parsed.lines, parsed.checked)]))

    @classmethod
    def checking(
        cls, source: _Source, records: pl.LazyFrame, plan: _Plan, batch_rows: int
    ) -> LedgerStream:
        """Records on disk, checked a batch at a time as they are read."""

        def batches() -> Iterator[tuple[pl.DataFrame | None, Checked | None]]:
            tally = _Tally()
            for batch in records.collect_batches(chunk_size=batch_rows):
                yield _check(batch, plan, source, tally), None
            yield None, _checked(plan, source, tally, [])

        return cls(source.file_name, source.content_hash, batches())

    def lines(self) -> Iterator[pl.DataFrame]:
        for lines, done in self._read:
            if done is not None:
                self._done = done
            if lines is not None:
                yield lines

    def checked(self) -> Checked:
        if self._done is None:
            raise RuntimeError("checked() before every batch of lines was read")
        return self._done


def open_ledger_file(
    path: Path,
    file_name: str | None = None,
    options: ImportOptions | None = None,
    saved_mapping: SavedMapping | None = None,
    batch_rows: int = BATCH_ROWS,
) -> LedgerStream:
    """A ledger file on disk, ready to be checked batch by batch. Raises LedgerError.

    A UTF-8 file with plain line ends (nearly every export) is never held in Python: one pass
    over its bytes hashes it and counts its lines, the sniffing reads its opening bytes, one
    streamed pass decides its formats from its distinct texts, and polars reads the records a
    batch at a time where they lie. Anything else (another encoding, a BOM, CR line ends, a
    record polars cannot read strictly) is read in memory as an upload is."""
    options = options or ImportOptions()
    file_name = file_name or path.name
    scan = _scan(path)
    if not scan.plain:
        return LedgerStream.of(read_ledger(path.read_bytes(), file_name, options, saved_mapping))
    text, encoding = decode(scan.head)
    delimiter = options.delimiter or sniff_delimiter(text)
    header_line = _header_line(text, delimiter)
    source = _Source(file_name, scan.content_hash, encoding, delimiter, header_line)
    records = pl.scan_csv(
        path, separator=delimiter, infer_schema=False, quote_char='"', has_header=True,
        skip_lines=header_line - 1,
    )  # fmt: skip
    try:
        columns = records.collect_schema().names()
        records = records.rename({c: c.strip() for c in columns})
        mapping, saved = _mapping(records.collect_schema().names(), options, saved_mapping)
        plan = _plan(records, mapping, source, options, saved)
    except pl.exceptions.PolarsError:
        # Not strict CSV (a record too long, a quote that is no CSV quote): the forgiving way
        # needs the text.
        return LedgerStream.of(read_ledger(path.read_bytes(), file_name, options, saved_mapping))
    return LedgerStream.checking(source, records, plan, batch_rows)


def read_ledger_file(
    path: Path,
    file_name: str | None = None,
    options: ImportOptions | None = None,
    saved_mapping: SavedMapping | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Parsed:
    """A ledger file on disk read and checked whole (all its lines in one frame), as
    `open_ledger_file` reads it."""
    stream = open_ledger_file(path, file_name, options, saved_mapping, batch_rows)
    lines = list(stream.lines())
    return Parsed(stream.checked(), pl.concat(lines) if len(lines) > 1 else lines[0])


@dataclass(frozen=True)
class _Source:
    """What the records were read from: the file, and where its header is."""

    file_name: str
    content_hash: str
    encoding: str
    delimiter: str
    header_line: int  # 1-based


@dataclass(frozen=True)
class _Scan:
    content_hash: str
    head: bytes  # the opening lines, whole lines only, for sniffing
    plain: bool  # UTF-8 without a BOM, no CR, not blank: polars may read it where it lies


SCAN_CHUNK = 1 << 24
# The sniffing reads the opening 200,000 characters at most.
HEAD_BYTES = 262_144


def _scan(path: Path) -> _Scan:
    """One pass over the file's bytes, a chunk at a time: its hash, its opening lines, and
    whether it is plain UTF-8."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    head, plain, blank = b"", True, True
    with path.open("rb") as f:
        while chunk := f.read(SCAN_CHUNK):
            digest.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            blank = blank and not chunk.strip()
            if plain and b"\r" in chunk:
                plain = False
            # Most exports are ASCII: a check in C, where decoding would build the text.
            elif plain and not (chunk.isascii() and not utf8.getstate()[0]):
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    plain = False
    try:
        utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        plain = False
    plain = plain and not blank and not head.startswith(codecs.BOM_UTF8)
    if len(head) >= HEAD_BYTES:  # a line cut in two would fool the sniffing
        head = head[: head.rfind(b"\n") + 1] or head
    return _Scan(digest.hexdigest(), head, plain)


def _header_line(text: str, delimiter: str) -> int:
    """The 1-based line in the file on which the header row ends."""
    header_index = find_header(text, delimiter)
    return numbered_rows(text, delimiter, header_index + 1)[header_index][1]


def _mapping(
    columns: list[str], options: ImportOptions, saved_mapping: SavedMapping | None
) -> tuple[ColumnMapping, SavedMapping]:
    """The file's columns mapped to ledger fields, or a ChoiceNeeded naming what is missing."""
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
    return mapping, saved_mapping or SavedMapping(mapping)


def _mapped(
    frame: pl.DataFrame,
    source: _Source,
    options: ImportOptions,
    saved_mapping: SavedMapping | None,
    overlong: list[Rejected],
) -> Parsed:
    """Records held in memory, mapped to ledger fields and checked as one batch."""
    frame = frame.rename({c: c.strip() for c in frame.columns})
    mapping, saved = _mapping(frame.columns, options, saved_mapping)
    plan = _plan(frame.lazy(), mapping, source, options, saved)
    tally = _Tally()
    lines = _check(frame, plan, source, tally, frozenset(r.line_no for r in overlong))
    return Parsed(_checked(plan, source, tally, overlong), lines)


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


@dataclass(frozen=True)
class _Plan:
    """What the whole file decides before any line is checked, from its distinct values: the
    decimal style, the date format, how dates and amounts are parsed, and which side of a
    debit/credit pair (or of side-marked amounts) counts as sales."""

    mapping: ColumnMapping
    text_cols: list[str]
    style: DecimalStyle
    date_format: str
    date: pl.Expr
    amount: pl.Expr  # the signed amount; null where it cannot be read


def _blank_and_summary(text_cols: list[str], m: dict[str, Any]) -> tuple[pl.Expr, pl.Expr]:
    """A line of white space only, and a total or balance line: no date in the date column and
    a word like Total or Saldo. Both decided by the line alone."""
    # No character but white space: a search, where stripping would copy every text.
    blank = pl.all_horizontal([~pl.col(c).str.contains(r"\S").fill_null(False) for c in text_cols])
    wordy = pl.lit(False)
    for c in (m["date"], m["reference"], m["description"]):
        if c:
            wordy = wordy | pl.col(c).fill_null("").str.contains(SUMMARY_WORDS)
    no_date = ~pl.col(m["date"]).fill_null("").str.contains(r"\d")
    # The word test runs on the few lines without a date, not on every line.
    summary = pl.when(no_date & ~blank).then(wordy).otherwise(False)
    return blank, summary


def _plan(
    records: pl.LazyFrame, mapping: ColumnMapping, source: _Source, options: ImportOptions,
    saved: SavedMapping,
) -> _Plan:  # fmt: skip
    """One pass over the records (streamed for a file on disk), grouping the texts of the
    date and amount columns: every decision is taken on distinct texts, each weighed by how
    many lines carry it."""
    m = asdict(mapping)
    text_cols = records.collect_schema().names()
    blank, summary = _blank_and_summary(text_cols, m)
    flagged = records.with_columns((~blank & ~summary).alias("__data"))
    amount_cols = [c for c in (m["amount"], m["debit"], m["credit"]) if c]
    # The style reads every amount (a total row's too); the rest reads ledger lines only.
    queries = [
        flagged.filter("__data").group_by(pl.col(m["date"]).alias("t")).agg(pl.len().alias("rows")),
        *(
            flagged.group_by(pl.col(c).alias("t"), "__data").agg(pl.len().alias("rows"))
            for c in amount_cols
        ),
    ]
    dates, *per_column = pl.collect_all(queries, engine="streaming")
    rows = int(dates["rows"].sum())
    if rows == 0:
        raise LedgerError(f"{source.file_name} has a header but no ledger lines")
    all_amounts = (
        pl.concat([f.select("t", "rows") for f in per_column])
        .drop_nulls("t")
        .group_by("t")
        .agg(pl.col("rows").sum())
    )
    style = options.decimal_style or sniff_style(all_amounts, saved.decimal_style)
    if options.date_format:
        check_date_format(options.date_format)
    try:
        date_format = options.date_format or sniff_date_format(
            dates["t"].rename(m["date"]), saved.date_format
        )
    except LedgerError as exc:
        raise ChoiceNeeded(str(exc), text_cols, mapping) from exc
    date = _via_distinct(
        m["date"], dates, rows,
        lambda c: month_names_expr(c).str.strptime(pl.Date, date_format, strict=False), pl.Date,
    )  # fmt: skip
    counts = {
        c: f.filter("__data").select("t", "rows")
        for c, f in zip(amount_cols, per_column, strict=True)
    }
    if m["amount"]:
        parse = _via_distinct(
            m["amount"], counts[m["amount"]], rows, lambda c: amount_expr(c, style), MONEY_DTYPE
        )
        amount = _signed_by_side(m["amount"], counts[m["amount"]], parse)
    else:
        amount = _debit_credit(m, counts, style)
    return _Plan(mapping, text_cols, style, date_format, date, amount)


@dataclass
class _Tally:
    """What checking the batches found so far, beside the lines themselves."""

    rows_before: int = 0
    newlines_before: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    summaries: list[pl.DataFrame] = field(default_factory=list)
    cleaned: int = 0
    lines: int = 0
    total: Decimal = Decimal(0)
    first_day: date | None = None
    last_day: date | None = None


def _check(
    batch: pl.DataFrame, plan: _Plan, source: _Source, tally: _Tally,
    set_aside: frozenset[int] = frozenset(),
) -> pl.DataFrame:  # fmt: skip
    """One batch of records checked: its ledger lines, with what it set aside added to the
    tally. Line numbers run on from the batches before. `set_aside`: lines already rejected
    while reading (too many fields)."""
    m = asdict(plan.mapping)
    text_cols = plan.text_cols
    # Line in the file of each record: header line + 1 + index + newlines inside earlier
    # records (counted only where some field holds one).
    line_no = source.header_line + 1 + tally.rows_before + pl.int_range(pl.len())
    embedded = pl.any_horizontal([pl.col(c).str.contains("\n", literal=True) for c in text_cols])
    if batch.select(embedded.any()).item():
        newlines = pl.sum_horizontal(
            [pl.col(c).fill_null("").str.count_matches("\n") for c in text_cols]
        )
        line_no = line_no + tally.newlines_before + newlines.cum_sum() - newlines
        tally.newlines_before += int(batch.select(newlines.sum()).item())
    elif tally.newlines_before:
        line_no = line_no + tally.newlines_before
    tally.rows_before += batch.height
    blank, summary = _blank_and_summary(text_cols, m)
    batch = batch.with_columns(
        line_no.alias("__line"), blank.alias("__blank"), summary.alias("__summary")
    )
    # A filter copies every column, so a batch with nothing to set aside is not filtered.
    not_data = pl.col("__blank") | pl.col("__summary")
    if batch.select(not_data.any()).item():
        tally.skipped += [(int(n), "blank line") for n in batch.filter("__blank")["__line"]]
        summaries = batch.filter("__summary")
        tally.skipped += [(int(n), "total/summary row") for n in summaries["__line"]]
        tally.summaries.append(summaries)
        batch = batch.filter(~not_data)
    data = batch.with_columns(plan.date.alias("__date"), plan.amount.alias("__amount"))
    rejected = _rejections(data, plan)
    tally.rejected += rejected
    bad_lines = {r.line_no for r in rejected} | set_aside
    good = data.filter(~pl.col("__line").is_in(list(bad_lines))) if bad_lines else data
    # A NUL or a bidi mark inside a reference is invisible and keeps the line from ever
    # matching: such characters go, and the import says on how many lines.
    dirty = pl.lit(False)
    for c in (m["reference"], m["description"]):
        if c:
            dirty = dirty | pl.col(c).fill_null("").str.contains(INVISIBLE)
    cleaned = int(good.select(dirty.sum()).item())
    tally.cleaned += cleaned
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
    if lines.height:
        total, first, last = lines.select(
            pl.col("amount").sum(),
            pl.col("entry_date").min().alias("first"),
            pl.col("entry_date").max().alias("last"),
        ).row(0)
        tally.lines += lines.height
        tally.total += Decimal(total)
        tally.first_day = min(filter(None, (tally.first_day, first)))
        tally.last_day = max(filter(None, (tally.last_day, last)))
    return lines


def _checked(plan: _Plan, source: _Source, tally: _Tally, overlong: list[Rejected]) -> Checked:
    """The tally of every batch, as what the import reports: rejections in line order, and a
    warning where the file's own total disagrees with the lines."""
    m = asdict(plan.mapping)
    rejected = sorted(overlong + tally.rejected, key=lambda r: r.line_no)
    warnings = []
    summaries = pl.concat(tally.summaries) if tally.summaries else None
    stated = (
        _stated_total(summaries, m, plan.style, (m["date"], m["reference"], m["description"]))
        if summaries is not None
        else None
    )
    if stated is not None:
        total_line, said = stated
        summed = tally.total
        if said != summed:
            set_aside = len({r.line_no for r in rejected})
            because = f"; the {set_aside} line(s) set aside may explain it" if set_aside else ""
            warnings.append(
                f"the total on line {total_line} says {format_plain(said)}, but the imported "
                f"lines add up to {format_plain(summed)} (difference "
                f"{format_plain(summed - said)}){because}: check the file before reconciling"
            )
    fmt = LedgerFormat(source.encoding, source.delimiter, source.header_line, plan.style,
                       plan.date_format)  # fmt: skip
    return Checked(
        source.file_name, source.content_hash, fmt, plan.mapping, plan.text_cols, rejected,
        sorted(tally.skipped), tally.cleaned, warnings, tally.lines, tally.total,
        tally.first_day, tally.last_day,
    )  # fmt: skip


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
    column: str,
    texts: pl.DataFrame,
    rows: int,
    parse: Callable[[pl.Expr], pl.Expr],
    dtype: PolarsDataType,
) -> pl.Expr:
    """`parse` applied to each distinct text of a column once (`texts`: column t), mapped back
    onto every line.

    Ledgers repeat their dates and, mostly, their amounts: parsing the distinct texts is
    several regular expressions over thousands of values instead of a million. When most
    texts are distinct, mapping back would cost more than it saves.
    """
    if texts.height > rows // 2:
        return parse(pl.col(column))
    parsed = texts.select(parse(pl.col("t")).alias("p"))["p"]
    return pl.col(column).replace_strict(texts["t"], parsed, default=None, return_dtype=dtype)


def _signed_by_side(column: str, texts: pl.DataFrame, amount: pl.Expr) -> pl.Expr:
    """Amounts marked with their side (`1.500.000,00 CR`, `250.000,00 DB`) as one signed
    amount: as with a debit/credit pair, the side most lines use counts as sales (a tie goes to
    credit, money in on a bank statement) and the other side as reversals."""
    sides = texts.select(side_expr(pl.col("t")).alias("s"), "rows").drop_nulls("s")
    if sides.is_empty():
        return amount
    per_side = dict(sides.group_by("s").agg(pl.col("rows").sum()).iter_rows())
    reversal = "credit" if per_side.get("debit", 0) > per_side.get("credit", 0) else "debit"
    return pl.when(side_expr(pl.col(column)) == reversal).then(-amount).otherwise(amount)


def _text(col: str | None, clean: bool = False) -> pl.Expr:
    if not col:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(col)
    if clean:
        value = value.str.replace_all(INVISIBLE, "")
    value = value.str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def _debit_credit(
    m: dict[str, Any], counts: dict[str, pl.DataFrame], style: DecimalStyle
) -> pl.Expr:
    """One signed amount from a debit/credit pair (null where it cannot be read): the side
    most lines use counts as sales."""
    zero = pl.lit(0).cast(pl.Decimal(18, 2))

    def lines_with_amount(c: str | None) -> int:
        if not c:
            return 0
        parsed = counts[c].select(amount_expr(pl.col("t"), style).fill_null(zero).alias("a"),
                                  "rows")  # fmt: skip
        return int(parsed.filter(pl.col("a") != 0)["rows"].sum())

    debit = amount_expr(pl.col(m["debit"]), style).fill_null(zero) if m["debit"] else zero
    credit = amount_expr(pl.col(m["credit"]), style).fill_null(zero) if m["credit"] else zero
    if lines_with_amount(m["debit"]) >= lines_with_amount(m["credit"]):
        sales, other = debit, credit
    else:
        sales, other = credit, debit
    has_text = pl.lit(False)
    for c in (m["debit"], m["credit"]):
        if c:
            has_text = has_text | (pl.col(c).fill_null("").str.strip_chars() != "")
    value = (sales - other).cast(pl.Decimal(18, 2))
    parsed_ok = pl.lit(True)
    for c in (m["debit"], m["credit"]):
        if c:
            text = pl.col(c).fill_null("").str.strip_chars()
            parsed_ok = parsed_ok & ((text == "") | amount_expr(pl.col(c), style).is_not_null())
    return pl.when(has_text & parsed_ok).then(value).otherwise(None)


def _rejections(data: pl.DataFrame, plan: _Plan) -> list[Rejected]:
    m = asdict(plan.mapping)
    style, date_format = plan.style, plan.date_format
    amount_label = m["amount"] or "/".join(c for c in (m["debit"], m["credit"]) if c)
    amount_source = m["amount"] or m["debit"] or m["credit"]
    currency = _text(m["currency"])
    amount_ok = pl.col("__amount").is_not_null()
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
