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


def day(value: date) -> str:
    """A date as people read it on every page and message: '1 Oct 2026'."""
    return f"{value.day} {value:%b %Y}"


def day_range(start: date | None, end: date | None) -> str:
    """A range of dates as messages write it: '1–30 Sep 2026', '29 Sep – 3 Oct 2026'."""
    if start is None or end is None:
        return "no dates"
    if start == end:
        return day(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{day(end)}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {day(end)}"
    return f"{day(start)} – {day(end)}"
