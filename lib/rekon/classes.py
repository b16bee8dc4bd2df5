"""The result classes and export kinds, by code, with the words people read them as: the
vocabulary the matcher, the pages, the exports and the command line share. Imports nothing
heavy, so a command that only lists runs starts quickly."""

from __future__ import annotations

from collections.abc import Mapping

from rekon.migrations import RESULT_CLASSES_V3

RESULTS = RESULT_CLASSES_V3
EXCEPTIONS = ("amount_mismatch", "status_mismatch", "missing_in_ledger", "missing_in_provider",
              "duplicate_in_ledger", "ambiguous", "settlement_late")  # fmt: skip
# What a run says of each payout: its deposit is in the books, or it is not, or the gateway
# charged more than the rate card says (which wins: a deposit does not excuse a fee).
SETTLEMENT_RESULTS = ("settled", "settlement_missing_in_ledger", "fee_mismatch")
SETTLEMENT_EXCEPTIONS = ("settlement_missing_in_ledger", "fee_mismatch")
# The tiers' rules as people name them ("Matched on"); classes read as their words.
RULE_NAMES = {"order_id": "order id", "payment_id": "payment id",
              "merchant_ref": "merchant ref", "amount_date": "amount and date",
              "manual": "by hand",
              "settlement": "settlement deposit"}  # fmt: skip
# Why the sums of a manual match differ, as a reviewer says it.
REASONS = ("fee", "rounding", "partial_payment", "write_off", "other")
# What `rekon export --kind` and the Exports page write.
KINDS = ("all", "exceptions", "matched", "summary", "reviews", "adjustments", "settlements")


def class_name(result: str) -> str:
    """A result class as pages and charts name it: 'amount mismatch' (exports keep codes)."""
    return result.replace("_", " ")


def exception_count(counts: Mapping[str, int]) -> int:
    """How many results of a run's counts per class are exceptions."""
    return sum(counts.get(k, 0) for k in EXCEPTIONS)
