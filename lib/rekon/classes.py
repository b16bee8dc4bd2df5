"""The result classes and export kinds, by code, with the words people read them as: the
vocabulary the matcher, the pages, the exports and the command line share. Imports nothing
heavy, so a command that only lists runs starts quickly."""

from __future__ import annotations

from collections.abc import Mapping

from rekon.migrations import RESULT_CLASSES_V2

RESULTS = RESULT_CLASSES_V2
EXCEPTIONS = ("amount_mismatch", "status_mismatch", "missing_in_ledger", "missing_in_provider",
              "duplicate_in_ledger", "ambiguous")  # fmt: skip
# The tiers' rules as people name them ("Matched on"); classes read as their words.
RULE_NAMES = {"order_id": "order id", "payment_id": "payment id",
              "merchant_ref": "merchant ref", "amount_date": "amount and date",
              "manual": "by hand"}  # fmt: skip
# Why the sums of a manual match differ, as a reviewer says it.
REASONS = ("fee", "rounding", "partial_payment", "write_off", "other")
# What `rekon export --kind` and the Exports page write.
KINDS = ("all", "exceptions", "matched", "summary", "reviews", "adjustments")


def class_name(result: str) -> str:
    """A result class as pages and charts name it: 'amount mismatch' (exports keep codes)."""
    return result.replace("_", " ")


def exception_count(counts: Mapping[str, int]) -> int:
    """How many results of a run's counts per class are exceptions."""
    return sum(counts.get(k, 0) for k in EXCEPTIONS)
