"""Ledger files that should not import as they are (tests/fixtures/hostile-ledgers): each gives
one clear message, and a refused file leaves the store exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rekon.ledger import LedgerError, TooManyRejected, import_ledger
from rekon.store import Store
from tests.factories import OPERATOR, fingerprint, import_lines

HOSTILE = Path(__file__).parent / "fixtures" / "hostile-ledgers"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "rekon.duckdb")
    import_lines(s, (date(2026, 9, 30), "INV-EARLIER", 10_000))
    yield s
    s.close()


def refused(store: Store, name: str, error: type[Exception] = LedgerError) -> str:
    before = fingerprint(store)
    with pytest.raises(error) as caught:
        import_ledger(store, HOSTILE / name, by=OPERATOR)
    assert fingerprint(store) == before
    message = str(caught.value)
    assert "\n" not in message and "\ufffd" not in message and "\\x" not in message
    return message


@pytest.mark.parametrize(
    ("name", "what"),
    [("gzipped.csv", "a gzip archive"), ("random-bytes.csv", "not text (it holds binary data")],
)
def test_a_file_that_is_not_text_is_refused_saying_so(store: Store, name: str, what: str) -> None:
    message = refused(store, name)
    assert what in message and "CSV" in message


def test_a_utf8_file_with_one_cp1252_line_is_read_line_by_line_and_says_so(store: Store) -> None:
    result = import_ledger(store, HOSTILE / "mixed-encoding.csv", by=OPERATOR)
    descriptions = store.query(
        "SELECT description FROM ledger_lines WHERE ledger_id = ? ORDER BY line_no",
        [result.ledger_id],
    )["description"].to_list()
    assert descriptions == ["Café Ané", "Kopi Susu", "Crème brûlée", "Nasi Gorèng"]
    assert result.format.encoding == "utf-8, with cp1252 on line 4"
    assert "with cp1252 on line 4" in result.format.describe()


def test_control_characters_leave_references_and_are_counted(store: Store) -> None:
    result = import_ledger(store, HOSTILE / "control-characters.csv", by=OPERATOR)
    rows = store.query(
        "SELECT reference, description FROM ledger_lines"
        f" WHERE ledger_id = {result.ledger_id} ORDER BY line_no"
    ).rows()
    assert rows == [
        ("INV-0001", "Penjualan"),
        ("INV-0002", "Penjualan bel"),
        ("INV-0003", "Penjualan"),
        ("INV-0004", "Penjualan"),
    ]
    assert result.cleaned == 3
    assert "control characters removed from the reference or description of 3 lines" in (
        result.line()
    )


def test_a_line_failing_twice_counts_once_against_the_threshold(store: Store) -> None:
    message = refused(store, "one-line-two-reasons.csv", TooManyRejected)
    assert message.startswith("1 of 19 lines in one-line-two-reasons.csv cannot be imported")
