"""Start-up benchmark: how long `rekon --help`, `rekon runs` and `rekon ledger list` take as a
user runs them (a fresh process each, interpreter start included), beside the bare interpreter
(`python -c pass`) as the floor, median of several runs.

Run: `.venv/bin/python -m bench.startup` (or `make bench`). Writes its table into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, machine, report_option, write_section

COMMANDS = (("rekon --help", ["--help"]), ("rekon runs", ["runs"]),
            ("rekon ledger list", ["ledger", "list"]))  # fmt: skip
TARGET = 0.4


def timed(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    report_option(parser)
    args = parser.parse_args()
    rekon = str(Path(sys.executable).parent / "rekon")
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "startup.duckdb")
        subprocess.run([rekon, "runs", "--db", db], check=True, capture_output=True)  # made
        floor = timed([sys.executable, "-c", "pass"], args.runs)
        rows = [
            (name, timed([rekon, *argv, *(["--db", db] if argv != ["--help"] else [])], args.runs))
            for name, argv in COMMANDS
        ]
    lines = [
        "## Start-up (`bench/startup.py`)",
        "",
        f"Machine: {machine()}. Each command in a fresh process as a user runs it, median of "
        f"{args.runs}; the floor is the bare interpreter (`python -c pass`): "
        f"{floor:.3f} s. A command loads only what it uses (no polars, pyarrow, httpx or "
        "pandas to list runs or ledgers).",
        "",
        "| command | wall | ÷ interpreter | target |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in rows:
        lines.append(f"| `{name}` | {seconds:.3f} s | {seconds / floor:.1f}× | ≤ {TARGET} s |")
    write_section("startup", "\n".join(lines), args.report)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
