"""Finding an order by what a reviewer has at hand, and what was done to it."""

from __future__ import annotations

import polars as pl

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
