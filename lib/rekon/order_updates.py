"""Correct an order at Xepeng (description or merchant reference) and keep the store in step.

The change goes to Xepeng first; the order Xepeng returns is then upserted and the change is
written to the audit trail in one transaction.
"""

from __future__ import annotations

import json

from rekon.errors import RekonError
from rekon.providers.base import Order
from rekon.providers.xepeng import XepengClient
from rekon.store import Store


def update_xepeng_order(
    store: Store,
    client: XepengClient,
    order_id: str,
    actor: str,
    description: str | None = None,
    order_ref: str | None = None,
) -> Order:
    """Send the correction to Xepeng, store the answer, audit it. Raises ProviderError."""
    if description is None and order_ref is None:
        raise RekonError("nothing to change: give a new description or merchant reference")
    before = client.get_order(order_id)
    metadata = None
    if order_ref is not None:
        raw = json.loads(before.raw)
        metadata = dict(raw.get("metadata") or {}) | {"order_ref": order_ref}
    after = client.update_order(order_id, description=description, metadata=metadata)
    with store.write() as cur:
        store.upsert_orders(cur, [after], 0)
        store.audit(
            cur,
            actor,
            "xepeng.update_order",
            f"xepeng:{order_id}",
            json.dumps(
                {
                    "description": [before.description, after.description],
                    "merchant_ref": [before.merchant_ref, after.merchant_ref],
                }
            ),
        )
    return after
