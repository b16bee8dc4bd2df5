"""Finding an order by what a reviewer has at hand, and what was done to it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from rekon.providers.base import Order
from rekon.store import Store


def find_orders(store: Store, text: str, limit: int = 50) -> pl.DataFrame:
    """Orders whose id, payment id or merchant reference is or contains the text."""
    needle = text.strip()
    if not needle:
        return store.query("SELECT * FROM orders LIMIT 0")
    return store.query(
        f"""
        SELECT provider, order_id, merchant_ref, payment_id, amount, status, provider_status,
               business_date, customer_name, description
        FROM orders
        WHERE order_id = $t OR payment_id = $t OR upper(merchant_ref) = upper($t)
           OR contains(lower(order_id), $part) OR contains(lower(merchant_ref), $part)
        ORDER BY (order_id = $t OR payment_id = $t OR upper(merchant_ref) = upper($t)) DESC,
                 business_date DESC
        LIMIT {int(limit)}
        """,
        # contains(), not ILIKE: the "_" in "ord_1" is a character to find, not a wildcard.
        {"t": needle, "part": needle.lower()},
    )


def audit_trail(store: Store, subject: str, limit: int = 50) -> pl.DataFrame:
    """What was done to one subject (e.g. 'xepeng:xo_123'), newest first."""
    return store.query(
        f"SELECT logged_at, actor, action, detail FROM audit_log WHERE subject = ?"
        f" ORDER BY logged_at DESC LIMIT {int(limit)}",
        [subject],
    )


# What each audited action is called on a page.
ACTION_NAMES = {"xepeng.update_order": "Correction sent to Xepeng"}
# The fields a person compares between the stored order and the provider's live copy.
COMPARED = ("amount", "currency", "status", "provider_status", "merchant_ref", "payment_id",
            "description", "customer_name", "customer_email", "updated_at", "paid_at")  # fmt: skip


def describe_change(detail: str | None) -> str:
    """An audit row's detail ({"field": [before, after]}) in words:
    "description: 'Kopi' → 'Kopi Gayo 250g'"."""
    try:
        changes = json.loads(detail or "{}")
    except ValueError:
        return detail or ""
    if not isinstance(changes, dict):
        return str(changes)
    parts = [
        f"{field.replace('_', ' ')}: {pair[0]!r} → {pair[1]!r}"
        for field, pair in changes.items()
        if isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]
    ]
    return "; ".join(parts) or "no change"


def differences(stored: Mapping[str, Any], live: Order) -> list[tuple[str, str, str]]:
    """Where the provider's live copy differs from the stored order: (field, stored, live)."""
    out = []
    for field in COMPARED:
        was, now = stored.get(field), getattr(live, field)
        if was != now and not (was in (None, "") and now in (None, "")):
            out.append(
                (
                    field.replace("_", " "),
                    "" if was is None else str(was),
                    "" if now is None else str(now),
                )
            )
    return out
