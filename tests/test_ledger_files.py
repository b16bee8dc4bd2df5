"""A ledger read from disk (polars reading the records where they lie, hashed in one pass)
gives exactly what the same bytes give read in memory, as an upload is — every fixture,
including those that take the in-memory way (another encoding, a BOM, CR line ends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rekon.ledger import LedgerError, Parsed, read_ledger
from rekon.ledger.reading import SCAN_CHUNK, _scan, read_ledger_file

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted((FIXTURES / "ledgers").iterdir()) + sorted(
    p for p in (FIXTURES / "hostile-ledgers").iterdir() if p.suffix == ".csv"
)


def _read(read: object, *args: object) -> Parsed | str:
    try:
        return read(*args)  # type: ignore[operator, no-any-return]
    except LedgerError as exc:
        return f"{type(exc).__name__}: {exc}"


def _same(a: Parsed | str, b: Parsed | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert a.lines.equals(b.lines)
    assert (a.content_hash, a.format, a.mapping, a.columns) == (
        b.content_hash, b.format, b.mapping, b.columns,
    )  # fmt: skip
    assert (a.rejected, a.skipped, a.cleaned, a.warnings) == (
        b.rejected, b.skipped, b.cleaned, b.warnings,
    )  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_file_on_disk_reads_as_its_bytes_do(path: Path) -> None:
    _same(_read(read_ledger_file, path), _read(read_ledger, path.read_bytes(), path.name))


def test_most_fixtures_are_read_where_they_lie() -> None:
    plain = [p.name for p in FILES if _scan(p).plain]
    assert len(plain) >= len(FILES) // 2
    assert "06_cp1252.csv" not in plain and "01_semicolon_bom_idr.csv" not in plain


def test_a_file_larger_than_a_chunk_reads_in_batches_as_its_bytes_do(tmp_path: Path) -> None:
    # Several scan chunks, a title line above the header, a quoted field across lines, a
    # rejected line and a stated total: line numbers, hash and totals must not drift.
    rows = [f"01/10/2026;INV-{i};Penjualan {i};{i % 900 + 1}.000,00" for i in range(1, 400_000)]
    rows[60_000] = '01/10/2026;INV-X;"two\nlines";5.000,00'
    rows[150_000] = "32/10/2026;INV-BAD;Penjualan;1.000,00"
    text = "Buku Besar Oktober\nTanggal;No. Referensi;Keterangan;Jumlah\n" + "\n".join(rows)
    text += "\n;;Total;1,00\n"
    path = tmp_path / "big.csv"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > SCAN_CHUNK
    # In batches of 50,000 lines: line numbers and totals run on across them.
    from_disk = read_ledger_file(path, batch_rows=50_000)
    _same(from_disk, read_ledger(path.read_bytes(), path.name))
    assert [(r.line_no, r.value) for r in from_disk.rejected] == [
        (150_004, "32/10/2026")
    ]  # the quoted newline counts
    assert from_disk.warnings and from_disk.lines.height == len(rows) - 1


def test_the_scan_tells_utf8_across_chunks_from_another_encoding(tmp_path: Path) -> None:
    head = b"Tanggal;Keterangan;Jumlah\n"
    filler = b"x" * (SCAN_CHUNK - len(head) - 1)
    straddling = tmp_path / "utf8.csv"  # "é" is two bytes, one each side of a chunk's end
    straddling.write_bytes(head + filler + "é\n".encode() + b"y" * 100 + b"\n")
    cp1252 = tmp_path / "cp1252.csv"  # the same "é" as one cp1252 byte, in the second chunk
    cp1252.write_bytes(head + filler + b"z" * 10 + b"\xe9\n")
    assert _scan(straddling).plain and not _scan(cp1252).plain


def test_a_file_whose_every_line_is_rejected_reads_as_its_bytes_do(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Tanggal;Referensi;Jumlah\n13/10/2026;INV-1;abc\n14/10/2026;INV-2;xyz\n")
    from_disk = read_ledger_file(path)
    _same(from_disk, read_ledger(path.read_bytes(), path.name))
    assert from_disk.lines.height == 0 and from_disk.rejected_lines == 2
