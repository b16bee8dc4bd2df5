"""Keeping credentials out of every message that came from outside: a provider that echoes the
key it was sent, a URL with a password in it. Applied before a message is printed, stored or
shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "****"

# What a credential looks like even when it is not one of ours: an Authorization value, a
# gateway key, a password inside a URL.
_SHAPES = (
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+|=|:\s*)[A-Za-z0-9._~+/=-]{6,}"), rf"\1\2{MASK}"),
    (re.compile(r"\b(?:dp|xp|sk|pk|rk)_(?:live|test|prod|sandbox)_[A-Za-z0-9_-]{4,}"), MASK),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), rf"\1{MASK}@"),
    (re.compile(r"(?i)\b(api[_-]?key|secret|password|passwd|server[_-]?key)(\"?\s*[:=]\s*\"?)"
                r"[^\s\"',;&]{4,}"), rf"\1\2{MASK}"),
)  # fmt: skip


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every one of `secrets` and anything shaped like a credential masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact_url(text: str, url: str) -> str:
    """`text` with a database address, and any password in it, masked."""
    password = re.search(r"://[^:/@]*:([^@]*)@", url)
    text = text.replace(url, "postgresql://…")
    if password and password[1]:
        text = text.replace(password[1], MASK)
    return text
