"""Correct an order at Xepeng (description or merchant reference) and keep the store in step.

The change goes to Xepeng first; the order Xepeng returns is then upserted and the change is
written to the audit trail in one transaction.
"""

from __future__ import annotations

import json

from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.locks import refuse_if_locked
from rekon.providers.base import Order
from rekon.providers.xepeng import XepengClient
from rekon.store import Store


def update_xepeng_order(
    store: Store,
    client: XepengClient,
    order_id: str,
    by: Actor,
    description: str | None = None,
    order_ref: str | None = None,
) -> Order:
    """Send the correction to Xepeng, store the answer, audit it. Raises ProviderError, or
    PeriodLocked for an order of a signed-off period (before anything is sent)."""
    by.require(Role.REVIEWER, "correct an order at Xepeng")
    if description is None and order_ref is None:
        raise RekonError("nothing to change: give a new description or merchant reference")
    with store.read() as cur:
        refuse_if_locked(
            cur,
            "SELECT business_date FROM orders WHERE provider = 'xepeng' AND order_id = $id",
            {"id": order_id},
            "correcting an order",
        )
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
            by.name,
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
