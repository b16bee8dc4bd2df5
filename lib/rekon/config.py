"""Settings from the environment or `.streamlit/secrets.toml`, in one place.

Nothing else in Rekon reads the environment: callers build a `Settings` once and pass it on.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rekon.access import AccessList, Actor, operator
from rekon.errors import RekonError
from rekon.names import PROVIDER_TITLES
from rekon.redaction import redact_url

DEFAULT_DB = Path("data/rekon.duckdb")
DEFAULT_TIMEZONE = "Asia/Jakarta"
XEPENG_DEFAULT_URL = "https://staging-api.xepeng.com"
DURIANPAY_DEFAULT_URL = "https://api-sandbox.durianpay.id"
SECRETS_FILE = Path(".streamlit/secrets.toml")
_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


class ConfigError(RekonError):
    """A setting that Rekon cannot use; the message names it and says what it should be."""


def size_in_bytes(text: str) -> int:
    """A DuckDB size setting such as '256MB' or '1.5 GiB' in bytes; 0 if it is not one."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if not found or found[2] not in _SIZE_UNITS:
        return 0
    return int(float(found[1]) * _SIZE_UNITS[found[2]])


class Secret:
    """A credential that never shows itself in a repr, a log line or an f-string."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class ProviderSettings:
    base_url: str
    key: Secret
    # Xepeng's second auth mode: signed headers instead of a bearer key.
    client_id: str | None = None
    client_secret: Secret | None = None


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB
    # A PostgreSQL store shared by a team, instead of the file; its address carries a password.
    db_url: Secret | None = None
    timezone: str = DEFAULT_TIMEZONE
    xepeng: ProviderSettings | None = None
    durianpay: ProviderSettings | None = None
    max_upload_mb: int = 200
    memory_limit: str = "1GB"  # DuckDB's budget; larger work spills to disk
    bootstrap: bool = True  # sandbox mode: seed the sample month into an empty database
    reviewer: str = field(default_factory=lambda: os.environ.get("USER", "reviewer"))
    # The ledger accounts the adjustments export books differences to, by reason.
    accounts: dict[str, str] = field(default_factory=dict)
    # People: sign-in (an [auth] table in secrets.toml), the roles' allow-lists, and the rules
    # that loosen the defaults for a one-person team or a trusted network.
    sign_in: bool = False
    access: AccessList = field(default_factory=AccessList)
    four_eyes: bool = True
    allow_anonymous: bool = False

    @property
    def store_location(self) -> str | Path:
        """What `Store` opens: the PostgreSQL address when one is configured, else the file."""
        return self.db_url.reveal() if self.db_url else self.db_path

    @property
    def store_name(self) -> str:
        """The store as shown to people: a PostgreSQL address with its password masked."""
        if self.db_url:
            return redact_url(self.db_url.reveal(), self.db_url.reveal())
        return str(self.db_path)

    @property
    def operator(self) -> Actor:
        """Who the command line acts as: a trusted operator named by REKON_REVIEWER (default
        the OS user)."""
        return operator(self.reviewer)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """Today's business date: at 06:00 WIB on 1 December the server's UTC clock still
        reads 30 November, and 'last month' must already be November."""
        return datetime.now(self.tz).date()

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers with keys configured, by name."""
        return tuple(name for name in PROVIDER_TITLES if getattr(self, name))

    @property
    def sandbox(self) -> bool:
        """True when no provider is configured: the app then serves its built-in sandbox."""
        return self.xepeng is None and self.durianpay is None


def check_base_url(name: str, url: str | None) -> None:
    """A provider address Rekon can call: http(s)://host, said by name when it is not."""
    if url is None:
        return
    found = re.fullmatch(r"(?i)(https?)://([^/\s:]+)(:\d+)?(/\S*)?", url.strip())
    if not found:
        raise ConfigError(
            f"{name} is {url!r}, which is not an address Rekon can call: give the API's "
            "address starting with https:// (or http:// for a local sandbox)"
        )


def read_secrets_file(path: Path = SECRETS_FILE) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
    db_path: str | Path | None = None,
) -> Settings:
    """Build settings; the environment wins over secrets.toml, an explicit db_path over both."""
    env = os.environ if env is None else env
    secrets = read_secrets_file() if secrets is None else secrets

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            raw = secrets.get(name)
            value = None if raw is None else str(raw)
        return value or None

    tz = get("REKON_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(tz)  # fail early on a misspelt zone
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"REKON_TIMEZONE is {tz!r}, which is not a time zone: use a name such as "
            "Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)"
        ) from exc
    upload_mb = get("REKON_MAX_UPLOAD_MB") or "200"
    if not upload_mb.isdigit() or int(upload_mb) < 1:
        raise ConfigError(
            f"REKON_MAX_UPLOAD_MB is {upload_mb!r}: give the largest ledger upload as a whole "
            "number of megabytes, such as 200"
        )
    memory_limit = get("REKON_MEMORY_LIMIT") or "1GB"
    if not (size_in_bytes(memory_limit) or re.fullmatch(r"\d+(\.\d+)?%", memory_limit.strip())):
        raise ConfigError(
            f"REKON_MEMORY_LIMIT is {memory_limit!r}: give DuckDB's memory budget as a size "
            "such as 1GB or 1500MB (or a share of the memory, such as 50%)"
        )
    xepeng = None
    for name in ("XEPENG_BASE_URL", "DURIANPAY_BASE_URL"):
        check_base_url(name, get(name))
    x_key, x_id, x_secret = (
        get("XEPENG_API_KEY"),
        get("XEPENG_CLIENT_ID"),
        get("XEPENG_CLIENT_SECRET"),
    )
    if x_key or (x_id and x_secret):
        xepeng = ProviderSettings(
            base_url=get("XEPENG_BASE_URL") or XEPENG_DEFAULT_URL,
            key=Secret(x_key or ""),
            client_id=x_id,
            client_secret=Secret(x_secret) if x_secret else None,
        )
    durianpay = None
    if d_key := get("DURIANPAY_SERVER_KEY"):
        durianpay = ProviderSettings(
            base_url=get("DURIANPAY_BASE_URL") or DURIANPAY_DEFAULT_URL, key=Secret(d_key)
        )
    database = str(db_path or get("REKON_DB") or DEFAULT_DB).strip()
    db_url = Secret(database) if is_postgres_url(database) else None
    rekon_table = secrets.get("rekon")
    access = rekon_table.get("access") if isinstance(rekon_table, Mapping) else None
    return Settings(
        db_path=DEFAULT_DB if db_url else Path(database),
        db_url=db_url,
        timezone=tz,
        xepeng=xepeng,
        durianpay=durianpay,
        max_upload_mb=int(upload_mb),
        memory_limit=memory_limit,
        bootstrap=_flag(get("REKON_BOOTSTRAP"), True),
        reviewer=get("REKON_REVIEWER") or env.get("USER") or "reviewer",
        accounts={
            reason: value
            for reason in ("fee", "rounding", "write_off")
            if (value := get(f"REKON_ACCOUNT_{reason.upper()}"))
        },
        sign_in=isinstance(secrets.get("auth"), Mapping),
        access=AccessList.parse(access if isinstance(access, Mapping) else {}),
        four_eyes=_flag(get("REKON_FOUR_EYES"), True),
        allow_anonymous=_flag(get("REKON_ALLOW_ANONYMOUS"), False),
    )


def is_postgres_url(location: str | Path) -> bool:
    """Whether a store location is a PostgreSQL address rather than a file path."""
    return bool(re.match(r"(?i)\s*postgres(ql)?://", str(location)))


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def check_serving(settings: Settings, address: str | None) -> None:
    """Refuse to serve the dashboard beyond this machine without sign-in: without it anyone who
    reaches the port reads every payment and acts under any name. REKON_ALLOW_ANONYMOUS=1
    says the network is trusted (every page then says so)."""
    if settings.sign_in or settings.allow_anonymous or is_loopback(address):
        return
    raise ConfigError(
        f"Rekon will not serve on {address or 'every address'} without sign-in: add an [auth] "
        "section to .streamlit/secrets.toml (see the README, Signing in), serve on 127.0.0.1, "
        "or set REKON_ALLOW_ANONYMOUS=1 on a network you trust"
    )


def is_loopback(address: str | None) -> bool:
    address = (address or "").strip().strip("[]").lower()
    return address in ("localhost", "::1") or address.startswith("127.")
