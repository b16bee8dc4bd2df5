"""The providers Rekon knows, by code, with the names people know them by and the settings that
configure them. The lowest module: configuration, clients and pages all read it."""

from __future__ import annotations

# Every provider Rekon fetches from, by its code, with the name people know it by.
PROVIDER_TITLES = {"xepeng": "Xepeng", "durianpay": "Durianpay"}
# The setting that holds each provider's address, for messages that say what to check.
BASE_URL_SETTINGS = {"xepeng": "XEPENG_BASE_URL", "durianpay": "DURIANPAY_BASE_URL"}
# The setting that holds each provider's key.
KEY_SETTINGS = {"xepeng": "XEPENG_API_KEY", "durianpay": "DURIANPAY_SERVER_KEY"}


def provider_title(provider: str) -> str:
    return PROVIDER_TITLES.get(provider, provider)
