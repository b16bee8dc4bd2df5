"""Rekon: reconcile payment-gateway orders against a merchant's ledger."""

__version__ = "0.1.0"
