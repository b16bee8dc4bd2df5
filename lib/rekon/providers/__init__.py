"""Clients for the payment gateways Rekon reconciles against."""

from rekon.providers.base import (
    AuthError,
    Order,
    Progress,
    ProviderError,
    ProviderUnavailable,
    RequestError,
    RetryPolicy,
)

__all__ = [
    "AuthError",
    "Order",
    "Progress",
    "ProviderError",
    "ProviderUnavailable",
    "RequestError",
    "RetryPolicy",
]
