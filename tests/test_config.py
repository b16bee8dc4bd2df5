"""Settings: env over secrets.toml, sandbox when nothing is configured, keys never shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rekon.config import ConfigError, Settings, load_settings


def test_nothing_configured_means_sandbox() -> None:
    settings = load_settings(env={}, secrets={})
    assert settings.sandbox
    assert settings.timezone == "Asia/Jakarta"
    assert settings.db_path == Path("data/rekon.duckdb")


def test_environment_wins_over_secrets_and_keys_stay_hidden() -> None:
    settings = load_settings(
        env={"XEPENG_API_KEY": "xp_env_secret", "REKON_DB": "/tmp/x.duckdb"},
        secrets={
            "XEPENG_API_KEY": "xp_file_secret",
            "DURIANPAY_SERVER_KEY": "dp_live_abc",
            "REKON_TIMEZONE": "Asia/Makassar",
        },
    )
    assert settings.xepeng and settings.durianpay and not settings.sandbox
    assert settings.xepeng.key.reveal() == "xp_env_secret"
    assert settings.durianpay.base_url == "https://api-sandbox.durianpay.id"
    assert settings.timezone == "Asia/Makassar"
    text = f"{settings!r} {settings} {settings.xepeng} {settings.durianpay!r}"
    assert "xp_env_secret" not in text and "dp_live_abc" not in text


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("REKON_TIMEZONE", "Asia/Jakrta", "'Asia/Jakrta', which is not a time zone: use a name"),
        ("REKON_TIMEZONE", "../etc", "not a time zone"),
        ("REKON_MAX_UPLOAD_MB", "abc", "'abc': give the largest ledger upload as a whole number"),
        ("REKON_MAX_UPLOAD_MB", "0", "as a whole number of megabytes"),
        ("REKON_MEMORY_LIMIT", "lots", "'lots': give DuckDB's memory budget as a size"),
    ],
)
def test_a_setting_rekon_cannot_use_is_refused_by_name(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} is .*{re.escape(says)}"):
        load_settings(env={name: value}, secrets={})


def test_sizes_and_shares_of_memory_are_budgets() -> None:
    for budget in ("1500MB", "1.5 GiB", "80%"):
        assert load_settings(env={"REKON_MEMORY_LIMIT": budget}, secrets={}).memory_limit == budget
    assert load_settings(env={"REKON_MAX_UPLOAD_MB": "50"}, secrets={}).max_upload_mb == 50


def test_secrets_file_is_read(tmp_path: Path) -> None:
    from rekon.config import read_secrets_file

    path = tmp_path / "secrets.toml"
    path.write_text('DURIANPAY_SERVER_KEY = "dp_test_1"\nDURIANPAY_BASE_URL = "http://x"\n')
    settings = load_settings(env={}, secrets=read_secrets_file(path))
    assert settings.durianpay and settings.durianpay.base_url == "http://x"


def test_today_is_the_business_date_in_the_configured_zone() -> None:
    # UTC+14 and UTC-12 are 26 hours apart: never on the same date, whatever the server's clock.
    east = Settings(timezone="Pacific/Kiritimati").today()
    west = Settings(timezone="Etc/GMT+12").today()
    assert 1 <= (east - west).days <= 2


@pytest.mark.parametrize("url", ["api.xepeng.com", "ftp://api.xepeng.com", "https://", "http:/x"])
def test_a_provider_address_that_cannot_work_is_refused_by_name(url: str) -> None:
    with pytest.raises(ConfigError, match=r"XEPENG_BASE_URL is .* not an address Rekon can call"):
        load_settings(env={"XEPENG_API_KEY": "k", "XEPENG_BASE_URL": url}, secrets={})
