"""Text from outside printed on a terminal as typed: a newline inside an order id would split
a listing's row, and U+202E would reverse the rest of the line. Such characters are shown as
escapes instead."""

from __future__ import annotations

import re

# C0 and C1 controls (tab and newline included: a row is one line), zero-width and bidi marks.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def safe(text: object) -> str:
    """`text` for one line of a terminal: every control or bidi character as `\\xNN`/`\\uNNNN`."""
    return _UNSAFE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))
