"""The committed samples in data/samples/, written from the default seed: the golden month's
ledger booked per order and booked as net deposits, what reconciling each gives, and Xepeng's
settlement report. `python -m rekon.sandbox.samples` rewrites them; a test holds them equal."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rekon.periods import month_bounds
from rekon.sandbox import settlements
from rekon.sandbox.data import (
    DEPOSITS_EXPECTED,
    DEPOSITS_LEDGER,
    GOLDEN_MONTH,
    SAMPLE_EXPECTED,
    SAMPLE_LEDGER,
    XEPENG_REPORT,
    DataConfig,
    generate,
    ledger_csv,
)


def write_samples(root: Path = Path(".")) -> None:
    """Regenerate data/samples/ from the default seed (`python -m rekon.sandbox.samples`)."""
    dataset = generate()
    (root / SAMPLE_LEDGER).parent.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(DataConfig().timezone)
    plan = settlements.plan_deposits(dataset.orders, tz, GOLDEN_MONTH)
    (root / DEPOSITS_LEDGER).write_bytes(ledger_csv(dataset, plan.lines))
    (root / DEPOSITS_EXPECTED).write_text(
        json.dumps(
            {
                "period": GOLDEN_MONTH,
                "seed": DataConfig().seed,
                "expected": dict(sorted(plan.expected.items())),
                "settlements": dict(sorted(plan.settlements.items())),
            },
            indent=2,
        )
        + "\n"
    )
    start, end = month_bounds(GOLDEN_MONTH)
    xepeng = [
        s
        for s in settlements.settle(dataset.orders, tz)
        if s.provider == "xepeng"
        and start
        <= s.settled_at.replace(tzinfo=UTC).astimezone(tz).date()
        <= end + timedelta(days=7)
    ]
    (root / XEPENG_REPORT).write_bytes(settlements.report_csv(xepeng, tz))
    (root / SAMPLE_LEDGER).write_bytes(ledger_csv(dataset))
    expected = {name: dataset.expected[name] for name in sorted(dataset.expected)}
    (root / SAMPLE_EXPECTED).write_text(
        json.dumps(
            {"period": GOLDEN_MONTH, "seed": DataConfig().seed, "expected": expected}, indent=2
        )
        + "\n"
    )


if __name__ == "__main__":
    write_samples()
