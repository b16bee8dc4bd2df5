"""Ledger import: real-world file shapes, line-numbered rejections, atomic landing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rekon.ledger import (
    ColumnMapping,
    DuplicateLedger,
    ImportOptions,
    LedgerError,
    SavedMapping,
    SharedLines,
    TooManyRejected,
    delete_ledger,
    import_ledger,
    list_ledgers,
    list_mappings,
    load_mapping,
    read_ledger,
    save_mapping,
)
from rekon.money import DecimalStyle
from rekon.store import Store
from tests.factories import OPERATOR

POINT = DecimalStyle.POINT
FIXTURES = Path(__file__).parent / "fixtures" / "ledgers"
D = Decimal
STANDARD = [
    (date(2026, 1, 31), "INV-001", D("1500000.00")),
    (date(2026, 2, 1), "INV-002", D("25000.50")),
    (date(2026, 2, 15), "INV-003", D("100.00")),
]

SHAPES = {
    "01_semicolon_bom_idr.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
    "02_comma_english.csv": ([2, 3, 4], STANDARD, ",", DecimalStyle.POINT),
    "03_rp_prefix.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
    "04_debit_credit.csv": (
        [2, 3, 4],
        [*STANDARD[:2], (date(2026, 2, 15), "INV-003", D("-100.00"))],
        ";",
        DecimalStyle.COMMA,
    ),
    "05_tab_separated.tsv": ([2, 3, 4], STANDARD, "\t", DecimalStyle.COMMA),
    "06_cp1252.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
    "07_quoted_delimiters_newlines.csv": ([2, 4, 5], STANDARD, ",", DecimalStyle.COMMA),
    "08_trailing_total.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
    "09_blank_lines.csv": ([3, 6, 7], STANDARD, ";", DecimalStyle.COMMA),
    "10_header_not_first.csv": ([6, 7, 8], STANDARD, ";", DecimalStyle.COMMA),
    "11_indonesian_months.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
    "12_negative_amounts.csv": (
        [2, 3, 4],
        [
            STANDARD[0],
            (date(2026, 2, 1), "INV-002", D("-25000.50")),
            (date(2026, 2, 15), "INV-003", D("-100.00")),
        ],
        ";",
        DecimalStyle.COMMA,
    ),
    "13_pipe_english_months.csv": ([2, 3, 4], STANDARD, "|", DecimalStyle.POINT),
    "14_month_first.csv": ([2, 3, 4], STANDARD, ",", DecimalStyle.POINT),
    "15_agustus_abbrev_crlf.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated, CRLF
    "16_excel_unicode_text.txt": ([2, 3, 4], STANDARD, "\t", DecimalStyle.POINT),
    # A bank-style export: a time after the date, each amount marked CR or DB instead of signed
    "17_bank_side_marks.csv": (
        [2, 3, 4],
        [*STANDARD[:2], (date(2026, 2, 15), "INV-003", D("-100.00"))],
        ";",
        DecimalStyle.COMMA,
    ),
    # ISO timestamps: the date as written, whatever the offset
    "18_iso_timestamps.csv": ([2, 3, 4], STANDARD, ",", DecimalStyle.POINT),
    # No quoting at all: a quote is an inch mark (Kabel HDMI 5" hitam)
    "19_unquoted_inch_marks.csv": ([2, 3, 4], STANDARD, ";", DecimalStyle.COMMA),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_ledger_shape_imports_with_its_lines_and_amounts(store: Store, name: str) -> None:
    line_numbers, expected, delimiter, style = SHAPES[name]
    result = import_ledger(store, FIXTURES / name, by=OPERATOR)
    assert result.rejected == []
    assert (result.format.delimiter, result.format.decimal_style) == (delimiter, style)
    rows = store.query(
        "SELECT line_no, entry_date, reference, amount FROM ledger_lines"
        " WHERE ledger_id = ? ORDER BY line_no",
        [result.ledger_id],
    ).rows()
    assert [r[0] for r in rows] == line_numbers
    assert [r[1:] for r in rows] == expected
    assert store.scalar("SELECT amount_total FROM ledgers WHERE id = ?", [result.ledger_id]) == sum(
        e[2] for e in expected
    )


def test_text_survives_encodings_and_quoting(store: Store) -> None:
    cp = import_ledger(store, FIXTURES / "06_cp1252.csv", by=OPERATOR)
    assert cp.format.encoding == "cp1252"
    quoted = import_ledger(store, FIXTURES / "07_quoted_delimiters_newlines.csv", by=OPERATOR)
    descriptions = store.query(
        "SELECT ledger_id, description FROM ledger_lines WHERE line_no = 2 ORDER BY ledger_id"
    )["description"].to_list()
    assert descriptions == ["Café – résumé", 'Penjualan, kopi "Gayo"\nbaris kedua']
    assert quoted.format.header_line == 1
    excel = import_ledger(store, FIXTURES / "16_excel_unicode_text.txt", by=OPERATOR)
    assert excel.format.encoding == "utf-16"
    assert (
        store.scalar(
            "SELECT description FROM ledger_lines WHERE ledger_id = ? AND line_no = 2",
            [excel.ledger_id],
        )
        == "Sales – Café"
    )


@pytest.mark.parametrize(
    ("opening", "kind"),
    [(b"PK\x03\x04", "Excel or OpenDocument workbook"), (b"%PDF-1.7", "PDF"),
     (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel (.xls) workbook")],
)  # fmt: skip
def test_a_workbook_or_pdf_is_named_for_what_it_is(store: Store, opening: bytes, kind: str) -> None:
    with pytest.raises(LedgerError, match=f"is an? {re.escape(kind)}, not a CSV: save or export"):
        import_ledger(store, opening + bytes(range(256)) * 4, "ledger.csv", by=OPERATOR)
    assert store.scalar("SELECT count(*) FROM ledgers") == 0


def test_two_digit_years_are_read_as_this_century(store: Store) -> None:
    # Every day is 12 or less, yet only one format gives plausible years: %Y reads 26 as 0026.
    text = b"Tanggal;Referensi;Jumlah\n01/10/26;A;1.500\n02/10/26;B;2.500\n"
    parsed = read_ledger(text, "short.csv")
    assert parsed.format.date_format == "%d/%m/%y"
    assert parsed.lines["entry_date"].to_list() == [date(2026, 10, 1), date(2026, 10, 2)]


@pytest.mark.parametrize(
    ("marks", "signs"),
    [
        (("DB", "DB", "CR"), (1, 1, -1)),  # mostly debits: those are the sales
        (("CR", "K", "D"), (1, 1, -1)),  # Indonesian K(redit) and D(ebet)
        (("DR", "CR", ""), (-1, 1, 1)),  # a tie goes to credit; an unmarked amount stays as is
    ],
)
def test_side_marks_sign_amounts_as_a_debit_credit_pair_would(
    marks: tuple[str, ...], signs: tuple[int, ...]
) -> None:
    rows = "".join(f"2{i}/10/2026;R{i};1.000,00 {mark}\n" for i, mark in enumerate(marks))
    parsed = read_ledger(("Tanggal;Referensi;Jumlah\n" + rows).encode(), "bank.csv")
    assert parsed.lines["amount"].to_list() == [D("1000.00") * sign for sign in signs]


def test_total_rows_and_blank_lines_are_recognised_not_rejected(store: Store) -> None:
    totals = import_ledger(store, FIXTURES / "08_trailing_total.csv", by=OPERATOR)
    assert totals.skipped == [(5, "total/summary row"), (6, "total/summary row")]
    blanks = import_ledger(store, FIXTURES / "09_blank_lines.csv", by=OPERATOR)
    assert [n for n, why in blanks.skipped if why == "blank line"] == [2, 4, 5, 8]


BAD_ROWS = "Tanggal;Referensi;Jumlah\n" + "".join(
    f"{day:02d}/10/2026;INV-{day:03d};{day}.000,00\n" for day in range(1, 29)
)


def test_a_bad_row_is_reported_with_its_line_and_the_rest_lands(store: Store) -> None:
    text = BAD_ROWS.replace("05/10/2026;INV-005;5.000,00", "05/10/2026;INV-005;lima ribu")
    result = import_ledger(
        store, text.encode(), "oct.csv", ImportOptions(threshold=0.05), by=OPERATOR
    )
    assert result.lines_imported == 27
    (bad,) = result.rejected
    assert (bad.line_no, bad.column, bad.value) == (6, "Jumlah", "lima ribu")
    assert "not an amount" in bad.reason
    assert store.scalar("SELECT lines_rejected FROM ledgers") == 1


def test_a_line_with_more_fields_than_the_header_is_set_aside_not_shifted(store: Store) -> None:
    # An unquoted ";" in the description: read by position, the amount would be 1.000.
    text = BAD_ROWS.replace("05/10/2026;INV-005;5.000,00", "05/10/2026;INV-005;1.000;5.000,00")
    # Empty fields past the header's are only trailing delimiters: that line lands.
    text = text.replace("10/10/2026;INV-010;10.000,00", "10/10/2026;INV-010;10.000,00;;")
    result = import_ledger(
        store, text.encode(), "oct.csv", ImportOptions(threshold=0.05), by=OPERATOR
    )
    assert result.lines_imported == 27
    (bad,) = result.rejected
    assert result.format.delimiter == ";"  # the comma of 1.000,00 splits lines as evenly
    assert (bad.line_no, bad.column, bad.value) == (6, "whole line", "5.000,00")
    assert bad.reason == (
        "4 fields where the header has 3: is there a semicolon inside a field that is not in "
        "quotes?"
    )


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("lima ribu", "not an amount like 1.500.000,00"),
        ("1.000,555", "more than two decimals"),
        ("12.345.678.901.234.567,00", "too large: amounts are kept up to 16 digits"),
    ],
)
def test_an_amount_that_cannot_be_kept_exactly_says_why(
    store: Store, amount: str, why: str
) -> None:
    text = BAD_ROWS.replace("05/10/2026;INV-005;5.000,00", f"05/10/2026;INV-005;{amount}")
    (bad,) = import_ledger(store, text.encode(), "oct.csv", by=OPERATOR).rejected
    assert (bad.line_no, bad.value) == (6, amount)
    assert bad.reason.startswith(why), bad.reason


def test_a_line_in_another_currency_is_set_aside_not_paired_by_its_number(store: Store) -> None:
    spellings = ["IDR", "Rp", "rupiah", "", "idr"]
    text = "Tanggal;Referensi;Jumlah;Mata Uang\n" + "".join(
        f"{day:02d}/10/2026;INV-{day:03d};{day}.000,00;{spellings[day % 5]}\n"
        for day in range(1, 29)
    ).replace("INV-008;8.000,00;", "INV-008;8.000,00;usd")
    result = import_ledger(store, text.encode(), "oct.csv", by=OPERATOR)
    (bad,) = result.rejected
    assert (bad.line_no, bad.column, bad.value) == (9, "Mata Uang", "usd")  # as written
    assert bad.reason.startswith("not rupiah")
    assert store.query("SELECT DISTINCT currency FROM ledger_lines").rows() == [("IDR",)]
    assert store.scalar("SELECT count(*) FROM ledger_lines") == 27


def test_repeated_dates_and_amounts_parse_once_and_land_on_every_line(store: Store) -> None:
    # 40 lines, 2 dates and 3 amount texts: parsed as distinct texts and mapped back, the
    # bad one rejected on each of its lines.
    amounts = ["1.500.000,00", "Rp 25.000,50", "(100,00)", "1.500.000,00", "bad"]
    text = "Tanggal;Referensi;Jumlah\n" + "".join(
        f"{13 + i % 2}/10/2026;INV-{i};{amounts[i % 5] if i < 39 else '-7,00'}\n" for i in range(40)
    )
    result = import_ledger(
        store, text.encode(), "oct.csv", ImportOptions(threshold=0.25), by=OPERATOR
    )
    assert [(r.line_no, r.value) for r in result.rejected] == [
        (line, "bad") for line in range(6, 37, 5)
    ]
    lines = store.query(
        "SELECT line_no, entry_date, amount FROM ledger_lines ORDER BY line_no"
    ).rows()
    assert len(lines) == 40 - 7
    assert lines[:4] == [
        (2, date(2026, 10, 13), D("1500000.00")),
        (3, date(2026, 10, 14), D("25000.50")),
        (4, date(2026, 10, 13), D("-100.00")),
        (5, date(2026, 10, 14), D("1500000.00")),
    ]
    assert lines[-1] == (41, date(2026, 10, 14), D("-7.00"))


def test_more_than_five_percent_bad_rows_refuses_the_whole_file(store: Store) -> None:
    text = BAD_ROWS.replace("05/10/2026", "35/10/2026").replace("07/10/2026", "7 Okt")
    with pytest.raises(TooManyRejected) as err:
        import_ledger(store, text.encode(), "oct.csv", by=OPERATOR)
    assert [(r.line_no, r.column) for r in err.value.rejected] == [(6, "Tanggal"), (8, "Tanggal")]
    assert "nothing was imported" in str(err.value)
    assert store.counts()["ledger_lines"] == 0
    assert store.scalar("SELECT count(*) FROM ledgers") == 0


def test_day_month_order_that_cannot_be_decided_is_refused(store: Store) -> None:
    text = "Tanggal;Jumlah\n01/02/2026;1.000\n03/04/2026;2.000\n"
    with pytest.raises(LedgerError, match="--date-format"):
        import_ledger(store, text.encode(), "x.csv", by=OPERATOR)
    result = import_ledger(
        store, text.encode(), "x.csv", ImportOptions(date_format="%d/%m/%Y"), by=OPERATOR
    )
    assert store.query("SELECT entry_date FROM ledger_lines ORDER BY line_no")[
        "entry_date"
    ].to_list() == [date(2026, 2, 1), date(2026, 4, 3)]
    assert result.format.date_format == "%d/%m/%Y"


@pytest.mark.parametrize("typo", ["%d/%m", "%Y", "%Q/%m/%Y", "dd/mm/yyyy"])
def test_a_date_format_that_cannot_name_a_day_is_refused_before_reading(
    store: Store, typo: str
) -> None:
    # Not a line-by-line rejection of the whole file, but one message about the format.
    text = "Tanggal;Jumlah\n01/02/2026;1.000\n"
    with pytest.raises(LedgerError, match=f"{re.escape(repr(typo))} is not a date format"):
        import_ledger(store, text.encode(), "x.csv", ImportOptions(date_format=typo), by=OPERATOR)
    assert store.scalar("SELECT count(*) FROM ledgers") == 0


def test_a_saved_mapping_decides_what_a_later_file_cannot(store: Store) -> None:
    # November's file shows the order (13/11); the first week of December cannot.
    november = "Tgl;Ref;Nilai\n13/11/2026;A-1;1,500.00\n"
    first = import_ledger(store, november.encode(), "nov.csv", by=OPERATOR)
    assert (first.format.date_format, first.format.decimal_style) == ("%d/%m/%Y", POINT)
    save_mapping(store, "shop", SavedMapping.of(first.mapping, first.format), by=OPERATOR)
    december = "Tgl;Ref;Nilai\n01/12/2026;A-2;2500\n05/12/2026;A-3;100\n"
    with pytest.raises(LedgerError, match=r"%d/%m/%Y \(31/01/2026\) or %m/%d/%Y \(01/31/2026\)"):
        read_ledger(december.encode(), "dec.csv")
    parsed = read_ledger(december.encode(), "dec.csv", saved_mapping=load_mapping(store, "shop"))
    assert parsed.lines["entry_date"].to_list() == [date(2026, 12, 1), date(2026, 12, 5)]
    assert (parsed.format.date_format, parsed.format.decimal_style) == ("%d/%m/%Y", POINT)
    # The file's own evidence still wins over what was saved.
    us = "Tgl;Ref;Nilai\n12/31/2026;A-4;1.500,00\n"
    parsed = read_ledger(us.encode(), "us.csv", saved_mapping=load_mapping(store, "shop"))
    assert parsed.lines["entry_date"].to_list() == [date(2026, 12, 31)]
    assert parsed.format.decimal_style is DecimalStyle.COMMA


def test_a_mapping_saved_before_formats_were_kept_still_loads(store: Store) -> None:
    with store.write() as cur:
        cur.execute(
            "INSERT INTO ledger_mappings VALUES ('old', ?, now())",
            ['{"date": "Tgl", "amount": "Nilai"}'],
        )
    saved = load_mapping(store, "old")
    assert saved == SavedMapping(ColumnMapping(date="Tgl", amount="Nilai"))
    parsed = read_ledger(b"Tgl;Nilai\n31/10/2026;1.000\n", "x.csv", saved_mapping=saved)
    assert parsed.lines["amount"].to_list() == [D("1000.00")]


def test_missing_amount_column_names_what_was_found(store: Store) -> None:
    with pytest.raises(LedgerError, match=r"no column for amount.*found Tanggal, Catatan") as err:
        import_ledger(store, b"Tanggal;Catatan\n01/10/2026;x\n02/10/2026;y\n", "x.csv", by=OPERATOR)
    assert "--map amount=COLUMN" in str(err.value)


def test_explicit_mapping_overrides_and_saved_mappings_are_reused(store: Store) -> None:
    text = b"Tgl Bayar;Kode;Nilai Bersih;Nilai Kotor\n31/10/2026;A-1;9.000;10.000\n"
    opts = ImportOptions(
        mapping={"date": "Tgl Bayar", "reference": "Kode", "amount": "Nilai Kotor"}
    )
    first = import_ledger(store, text, "a.csv", opts, by=OPERATOR)
    assert store.scalar("SELECT amount FROM ledger_lines") == Decimal("10000.00")
    save_mapping(store, "bank-bca", SavedMapping.of(first.mapping, first.format), by=OPERATOR)
    assert list_mappings(store) == ["bank-bca"]
    again = b"Tgl Bayar;Kode;Nilai Bersih;Nilai Kotor\n13/11/2026;A-2;18.000;20.000\n"
    second = import_ledger(store, again, "b.csv", saved_mapping="bank-bca", by=OPERATOR)
    assert second.mapping == load_mapping(store, "bank-bca").columns == first.mapping
    with pytest.raises(LedgerError, match="not in the file"):
        import_ledger(store, text, "c.csv", ImportOptions(mapping={"amount": "Harga"}), by=OPERATOR)


def test_the_same_file_twice_is_refused_unless_replaced(store: Store) -> None:
    path = FIXTURES / "01_semicolon_bom_idr.csv"
    first = import_ledger(store, path, by=OPERATOR)
    with pytest.raises(DuplicateLedger, match=f"already imported as ledger {first.ledger_id}"):
        import_ledger(store, path, by=OPERATOR)
    second = import_ledger(store, path, options=ImportOptions(replace=True), by=OPERATOR)
    assert second.ledger_id == first.ledger_id  # the same file keeps its id (and result keys)
    assert store.query("SELECT id FROM ledgers")["id"].to_list() == [first.ledger_id]
    assert store.counts()["ledger_lines"] == 3


def test_a_corrected_re_export_is_told_which_ledger_already_holds_its_lines(
    store: Store,
) -> None:
    october = "Tanggal;Referensi;Jumlah\n21/10/2026;A-1;1.000\n22/10/2026;A-2;2.000\n"
    first = import_ledger(store, october.encode(), "oct.csv", by=OPERATOR)
    assert first.shared == []
    corrected = october.replace("2.000", "2.500") + "23/10/2026;;3.000\n"
    second = import_ledger(store, corrected.encode(), "oct-fixed.csv", by=OPERATOR)
    assert second.shared == [SharedLines(first.ledger_id, "oct.csv", 1)]
    assert (
        second.shared[0]
        .warning()
        .startswith(
            f"1 of these lines are also in ledger {first.ledger_id} (oct.csv): reconciled together"
        )
    )
    # Lines without a reference count as shared too when date and amount agree.
    third = import_ledger(store, b"Tanggal;Jumlah\n23/10/2026;3.000\n", "cash.csv", by=OPERATOR)
    assert third.shared == [SharedLines(second.ledger_id, "oct-fixed.csv", 1)]
    november = import_ledger(
        store, b"Tanggal;Referensi;Jumlah\n21/11/2026;A-1;1.000\n", "n.csv", by=OPERATOR
    )
    assert november.shared == []  # the same reference and amount on another day is not a copy


def test_deleting_a_ledger_takes_its_lines_and_leaves_the_others(store: Store) -> None:
    keep = import_ledger(store, FIXTURES / "01_semicolon_bom_idr.csv", by=OPERATOR)
    drop = import_ledger(store, FIXTURES / "02_comma_english.csv", by=OPERATOR)
    assert delete_ledger(store, drop.ledger_id, by=OPERATOR) == 3
    assert store.query("SELECT DISTINCT ledger_id FROM ledger_lines")["ledger_id"].to_list() == [
        keep.ledger_id
    ]
    assert list_ledgers(store)["id"].to_list() == [keep.ledger_id]
    audit = store.query("SELECT actor, action, subject, detail FROM audit_log").rows()
    assert (
        "ana", "ledger.delete", f"ledger:{drop.ledger_id}",
        '{"name": "02_comma_english.csv", "lines": 3}',
    ) in audit  # fmt: skip
    with pytest.raises(LedgerError, match=f"there is no ledger {drop.ledger_id}"):
        delete_ledger(store, drop.ledger_id, by=OPERATOR)


@pytest.mark.parametrize(
    ("text", "kept", "rejected"),
    [
        ("05/10/2026;1.000\n35/10/2026;2.000\n", date(2026, 10, 5), 3),  # day above 12: day first
        ("10/05/2026;1.000\n10/35/2026;2.000\n", date(2026, 10, 5), 3),  # month first
    ],
)
def test_an_invalid_date_still_tells_day_from_month(
    store: Store, text: str, kept: date, rejected: int
) -> None:
    parsed = read_ledger(("Tanggal;Jumlah\n" + text).encode(), "x.csv")
    assert parsed.lines["entry_date"].to_list() == [kept]
    assert [(r.line_no, r.column) for r in parsed.rejected] == [(rejected, "Tanggal")]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"Tanggal;Jumlah\n;1.000\n;2.000\n", "the date column is empty"),
        (b"Tanggal;Jumlah\n31102026;1.000\n", "dates like '31102026' are in no format"),
        (b"just one line of prose\n", "no columns found: is this a CSV file?"),
        (b"\xff\xfeT\x00\x00\xd8", "the file starts as UTF-16 but is not"),
        (
            b'Tanggal;Ref;Jumlah\n2026-10-05;a;1.000\n2026-10-06;"b;2.000\n2026-10-07;c;3.000\n',
            'x.csv could not be read as CSV: line 3 opens a quote (") that does not close',
        ),
    ],
)
def test_a_file_that_cannot_be_read_says_why(store: Store, raw: bytes, why: str) -> None:
    with pytest.raises(LedgerError, match=re.escape(why)):
        import_ledger(store, raw, "x.csv", by=OPERATOR)
    assert store.scalar("SELECT count(*) FROM ledgers") == 0


def test_a_saved_mapping_that_does_not_exist_is_named(store: Store) -> None:
    with pytest.raises(LedgerError, match="there is no saved mapping called 'bca'"):
        import_ledger(
            store, FIXTURES / "01_semicolon_bom_idr.csv", saved_mapping="bca", by=OPERATOR
        )


def test_an_empty_or_header_only_file_is_a_clear_error(store: Store) -> None:
    with pytest.raises(LedgerError, match="is empty"):
        import_ledger(store, b"  \n", "empty.csv", by=OPERATOR)
    with pytest.raises(LedgerError, match="no ledger lines"):
        import_ledger(store, b"Tanggal;Jumlah\n", "header.csv", by=OPERATOR)


def test_reading_does_not_store_anything(store: Store) -> None:
    parsed = read_ledger((FIXTURES / "02_comma_english.csv").read_bytes(), "x.csv")
    assert parsed.lines.height == 3
    assert store.counts()["ledger_lines"] == 0


def test_the_column_list_is_the_files_own(store: Store) -> None:
    parsed = read_ledger((FIXTURES / "04_debit_credit.csv").read_bytes(), "dc.csv")
    assert parsed.columns == ["Tanggal", "No. Bukti", "Uraian", "Debit", "Kredit"]
    assert (parsed.mapping.debit, parsed.mapping.credit, parsed.mapping.amount) == (
        "Debit",
        "Kredit",
        None,
    )


def test_choosing_one_amount_column_replaces_a_debit_credit_pair() -> None:
    from rekon.ledger import ColumnMapping

    pair = ColumnMapping(date="Tanggal", debit="Debit", credit="Kredit")
    single = pair.with_overrides({"amount": "Debit"})
    assert (single.amount, single.debit, single.credit) == ("Debit", None, None)
    back = single.with_overrides({"debit": "Debit", "credit": "Kredit"})
    assert (back.amount, back.debit, back.credit) == (None, "Debit", "Kredit")
    with pytest.raises(LedgerError, match="unknown field"):
        pair.with_overrides({"tanggal": "x"})


def test_a_stated_total_the_lines_do_not_reach_is_named_with_the_difference(
    store: Store,
) -> None:
    text = (
        "Tanggal;Referensi;Jumlah\n"
        "13/10/2026;A-1;1.500.000,00\n"
        "14/10/2026;A-2;250.000,00\n"
        ";Total;1.800.000,00\n"
    )
    result = import_ledger(store, text.encode(), "jurnal.csv", by=OPERATOR)
    assert result.warnings == [
        "the total on line 4 says 1800000.00, but the imported lines add up to 1750000.00 "
        "(difference -50000.00): check the file before reconciling"
    ]
    agreeing = text.replace("1.800.000,00", "1.750.000,00").replace("A-", "B-")
    assert import_ledger(store, agreeing.encode(), "ok.csv", by=OPERATOR).warnings == []
    # A running balance or a sub-total is not the sum of the lines, and is not checked.
    balance = text.replace(";Total;", ";Saldo akhir;").replace("A-", "C-")
    assert import_ledger(store, balance.encode(), "saldo.csv", by=OPERATOR).warnings == []
