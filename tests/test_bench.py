"""The benchmarks run as `make bench` runs them, at a tiny size, into a report of their own:
so a change to the code they drive cannot leave them broken until the next measurement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import INSTALL, postgres_bin

ROOT = Path(__file__).resolve().parent.parent


def bench(module: str, report: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", "--report", str(report), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return report.read_text()


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]


@pytest.mark.parametrize(
    ("module", "args", "first_cell"),
    [
        ("reconcile", ("--sizes", "3000", "--no-datacompy"), "3,000"),
        ("fetch", ("--sizes", "2000"), "2,000"),
        ("settlements", ("--sizes", "3000", "--runs", "1"), "3,000"),
        ("pages", ("--n", "3000", "--runs", "1"), "pages/overview.py"),
        ("startup", ("--runs", "1"), "`rekon --help`"),
        ("big_month", ("--n", "3000"), "`rekon ledger import`"),
        pytest.param(
            "team_store",
            ("--n", "3000", "--fetch-per-provider", "1000", "--runs", "1"),
            "ledger import (3,000 lines)",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(postgres_bin() is None, reason=INSTALL),
            ],
        ),
    ],
)
def test_benchmark_writes_its_section_and_nothing_else(
    tmp_path: Path, module: str, args: tuple[str, ...], first_cell: str
) -> None:
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("# Benchmarks\n\nKept as it is.\n")
    text = bench(module, report, *args)
    assert text.startswith("# Benchmarks\n\nKept as it is.\n")
    assert f"<!-- {module}:start -->" in text and f"<!-- {module}:end -->" in text
    rows = table_rows(text)
    assert rows[1][0] == first_cell, rows  # rows[0] is the header
