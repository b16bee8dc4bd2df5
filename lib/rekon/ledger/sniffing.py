"""Telling what a ledger file is: its encoding, delimiter, header row, which column holds
which field, and how its dates are written. Works on the opening rows, or on a column's
distinct values; nothing here reads the whole file row by row."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import polars as pl

from rekon.ledger.model import DATE_SAMPLE, ColumnMapping, LedgerError

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


# Files people upload as "the ledger" that are not text: said plainly instead of misread.
NOT_CSV = {b"PK\x03\x04": "an Excel or OpenDocument workbook",
           b"%PDF": "a PDF", b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook",
           b"\x1f\x8b": "a gzip archive", b"SQLite format 3": "a SQLite database",
           b"7z\xbc\xaf": "a 7-Zip archive", b"Rar!": "a RAR archive"}  # fmt: skip
# Bytes no text file holds: NUL and the C0 controls other than tab, newline and return.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
# A byte that was not UTF-8, kept by surrogateescape.
_UNDECODED = re.compile(r"[\udc80-\udcff]")


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding: UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's
    "Unicode text"), else cp1252, else latin-1. A UTF-8 file with a few lines in cp1252 (an
    export edited by hand) is read line by line rather than garbled whole as cp1252. Raises
    LedgerError for a file that is not text."""
    for magic, kind in NOT_CSV.items():
        if raw.startswith(magic):
            raise LedgerError(f"this file is {kind}, not a CSV: save or export it as CSV first")
    if raw.startswith(b"\xef\xbb\xbf"):
        return _text_only(_utf8_by_line(raw[3:], "utf-8-sig"))
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _text_only((raw.decode("utf-16"), "utf-16"))
        except UnicodeDecodeError as exc:
            raise LedgerError(f"the file starts as UTF-16 but is not: {exc.reason}") from exc
    return _text_only(_utf8_by_line(raw, "utf-8"))


def _utf8_by_line(raw: bytes, name: str) -> tuple[str, str]:
    try:
        return raw.decode("utf-8"), name
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", errors="surrogateescape")
    if not re.search(r"[^\x00-\x7f\udc80-\udcff]", text):  # no line is UTF-8 beyond ASCII
        for encoding in ("cp1252", "latin-1"):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError:
                continue
    # Mixed: only the lines that are not UTF-8 are read as cp1252 (latin-1 where cp1252 has
    # no character), so the UTF-8 lines keep their "Café".
    lines = text.split("\n")
    legacy = [i for i, line in enumerate(lines) if _UNDECODED.search(line)]
    for i in legacy:
        data = lines[i].encode("utf-8", errors="surrogateescape")
        try:
            lines[i] = data.decode("cp1252")
        except UnicodeDecodeError:
            lines[i] = data.decode("latin-1")
    shown = ", ".join(str(i + 1) for i in legacy[:5]) + (" …" if len(legacy) > 5 else "")
    return "\n".join(lines), f"{name}, with cp1252 on line{'s' * (len(legacy) > 1)} {shown}"


def _text_only(decoded: tuple[str, str]) -> tuple[str, str]:
    """Refuse a file that decodes but is not text: random or compressed bytes named .csv."""
    text, _ = decoded
    sample = text[:65_536]
    if sample and len(_BINARY.findall(sample)) > max(2, len(sample) // 1000):
        raise LedgerError(
            "this file is not text (it holds binary data — a compressed or encrypted file?): "
            "export the ledger from the accounting software as CSV"
        )
    return decoded


def normalise_header(header: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9]+", " ", header.lower())).strip()


def _sample_rows(text: str, delimiter: str, limit: int = 40) -> list[list[str]]:
    return [row for row, _ in numbered_rows(text, delimiter, limit)]


def numbered_rows(text: str, delimiter: str, limit: int) -> list[tuple[list[str], int]]:
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
    """The delimiter that splits the opening rows most consistently into the most fields."""
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        rows = [r for r in _sample_rows(text, delimiter) if any(c.strip() for c in r)]
        widths = Counter(len(r) for r in rows if len(r) > 1)
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        # Weighed by the width: in a ';' file with amounts like 1.000,00 the comma splits every
        # line in two just as consistently, and a few odd lines must not tip it.
        score = count * width + width / 100
        if score > best_score:
            best, best_score = delimiter, score
    return best


def find_header(text: str, delimiter: str) -> int:
    """0-based index of the header row among the opening rows: the first that names a field."""
    rows = _sample_rows(text, delimiter, 30)
    known = {alias for aliases in ALIASES.values() for alias in aliases}
    for i, row in enumerate(rows):
        names = {normalise_header(c) for c in row}
        if len(row) > 1 and names & known:
            return i
    widths = Counter(len(r) for r in rows if len(r) > 1)
    if not widths:
        raise LedgerError("no columns found: is this a CSV file?")
    width = widths.most_common(1)[0][0]
    return next(i for i, r in enumerate(rows) if len(r) == width)


def auto_mapping(columns: list[str]) -> ColumnMapping:
    """Map columns by their header names, in English or Indonesian."""
    found = by_header(columns, ALIASES)
    if "amount" in found and ("debit" in found or "credit" in found):
        found.pop("debit", None)
        found.pop("credit", None)
    return ColumnMapping(**found)


def by_header(
    columns: list[str], aliases: dict[str, tuple[str, ...]], given: dict[str, str] | None = None
) -> dict[str, str]:
    """Each field's column, by the first of its aliases (in order of preference) a column's
    header is, each column used once; fields `given` keep theirs."""
    found = dict(given or {})
    normalised = {c: normalise_header(c) for c in columns}
    for fld, names in aliases.items():
        if fld in found:
            continue
        for alias in names:
            match = next(
                (c for c, n in normalised.items() if n == alias and c not in found.values()), None
            )
            if match:
                found[fld] = match
                break
    return found


def month_names_expr(col: pl.Expr) -> pl.Expr:
    # A time of day goes: "01/10/2026 10:15", "2026-10-01T10:15:00Z", "…+07:00".
    out = col.str.to_lowercase().str.replace(
        r"(\s+|t)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?$", ""
    )
    for abbr, names in MONTHS.items():
        out = out.str.replace_all(r"\b(" + "|".join(names) + r")\b", abbr.capitalize())
    return out.str.strip_chars()


def check_date_format(date_format: str) -> None:
    """Refuse a date format that does not read back the day it writes: a typo, or one that
    leaves out the day, month or year, would otherwise reject every line one by one."""
    sample = pl.Series([DATE_SAMPLE])
    try:
        back = sample.dt.strftime(date_format).str.strptime(pl.Date, date_format, strict=False)
    except pl.exceptions.PolarsError:
        back = pl.Series([None], dtype=pl.Date)
    if back[0] != DATE_SAMPLE:
        raise LedgerError(
            f"{date_format!r} is not a date format naming the day, month and year, "
            "like %d/%m/%Y or %Y-%m-%d"
        )


def sniff_date_format(values: pl.Series, prefer: str | None = None) -> str:
    """The one format that reads the whole column. When day/month order is undecidable the
    preferred format (a saved mapping's) decides; without one the file is refused."""
    texts = values.drop_nulls().to_frame("d").select(month_names_expr(pl.col("d")))["d"]
    texts = texts.filter(texts.str.contains(r"\d"))
    if texts.is_empty():
        raise LedgerError("the date column is empty")
    # Only plausible years count: "01/10/26" read with %Y is the year 26, not 2026.
    scores = {
        fmt: int(
            texts.str.strptime(pl.Date, fmt, strict=False).dt.year().is_between(1900, 2199).sum()
        )
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
