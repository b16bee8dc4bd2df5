"""Calendar months, as the period picker, exports and the sandbox name them."""

from __future__ import annotations

from datetime import date, timedelta


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-10' → (1 October, 31 October)."""
    year, mon = (int(p) for p in month.split("-"))
    start = date(year, mon, 1)
    nxt = date(year + mon // 12, mon % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def is_whole_month(start: date, end: date) -> bool:
    """Whether [start, end] is exactly one calendar month."""
    return (start, end) == month_bounds(f"{start:%Y-%m}")
