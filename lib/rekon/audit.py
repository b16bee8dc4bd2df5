"""The audit trail: every action a person, the command line or a schedule takes, appended to
`audit_log` (who, when, what, the subject, the detail) and never updated or deleted.

The write paths append their own rows, in their own transactions (store.audit); this module
adds the actions that write nothing else — a sign-in, an export downloaded, settings that
changed — and reads the trail back, filtered, for the Audit page and `rekon audit`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rekon.access import Actor, Role
from rekon.config import Settings

if TYPE_CHECKING:  # a command records its settings here at start: nothing heavy loads for it
    import polars as pl

    from rekon.store import Store

COLUMNS = ("logged_at_utc", "actor", "action", "subject", "detail")
PAGE_LIMIT = 1_000


@dataclass(frozen=True)
class TrailFilter:
    """Rows logged on business days start..end (in the store's timezone), by one person, of
    some actions; None: any."""

    start: date | None = None
    end: date | None = None
    actor: str | None = None
    actions: tuple[str, ...] = ()

    def sql(self) -> tuple[str, dict[str, Any]]:
        local_day = "CAST(timezone($tz, logged_at AT TIME ZONE 'UTC') AS DATE)"
        return (
            f"""
            SELECT logged_at AS logged_at_utc, actor, action, subject, detail
            FROM audit_log
            WHERE ($start IS NULL OR {local_day} >= $start)
              AND ($end IS NULL OR {local_day} <= $end)
              AND ($actor IS NULL OR lower(actor) = lower($actor))
              AND (len($actions) = 0 OR list_contains($actions, action))
            ORDER BY logged_at, action, subject
            """,
            {
                "start": self.start,
                "end": self.end,
                "actor": (self.actor or "").strip() or None,
                "actions": list(self.actions),
            },
        )


def signed_in(store: Store, by: Actor) -> None:
    with store.write() as cur:
        store.audit(cur, by.name, "sign-in", f"user:{by.name}", json.dumps({"role": by.role.label}))


def export_downloaded(store: Store, by: Actor, name: str, run_id: int | None, kind: str) -> None:
    """An export left Rekon: which file, of which run, to whom."""
    by.require(Role.VIEWER, "download exports")
    with store.write() as cur:
        store.audit(cur, by.name, "export", f"run:{run_id}" if run_id else "audit",
                    json.dumps({"file": name, "kind": kind}))  # fmt: skip


def trail(
    store: Store, where: TrailFilter, by: Actor, limit: int | None = PAGE_LIMIT
) -> pl.DataFrame:
    """The trail as the Audit page shows it (at most `limit` rows, newest last)."""
    by.require(Role.APPROVER, "read the audit trail")
    sql, params = where.sql()
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return store.query(sql, params | {"tz": store.timezone})


def count(store: Store, where: TrailFilter, by: Actor) -> int:
    by.require(Role.APPROVER, "read the audit trail")
    sql, params = where.sql()
    return int(store.scalar(f"SELECT count(*) FROM ({sql})", params | {"tz": store.timezone}))


def actions(store: Store) -> list[str]:
    return list(store.query("SELECT DISTINCT action FROM audit_log ORDER BY 1")["action"])


def people(store: Store) -> list[str]:
    return list(store.query("SELECT DISTINCT actor FROM audit_log ORDER BY 1")["actor"])


def export_trail(store: Store, where: TrailFilter, path: Path, by: Actor) -> int:
    """Write the filtered trail to a CSV file (DuckDB writes it; no row passes through Python);
    the export itself is audited. Returns the number of rows written."""
    by.require(Role.ADMIN, "export the audit trail")
    sql, params = where.sql()
    from rekon.duck import sql_text
    from rekon.reports import neutralise

    # Names, subjects and details come from people and files: neutralised like every export.
    neutral = ", ".join(["logged_at_utc", *(neutralise(c) for c in COLUMNS[1:])])
    sql = f"SELECT logged_at_utc, actor, action, subject, detail::VARCHAR AS detail FROM ({sql})"
    n = int(store.scalar(f"SELECT count(*) FROM ({sql})", params | {"tz": store.timezone}))
    with store.read() as cur:
        cur.execute(
            f"COPY (SELECT {neutral} FROM ({sql})) TO '{sql_text(path)}' (HEADER, DELIMITER ',')",
            params | {"tz": store.timezone},
        )
    with store.write() as cur:
        store.audit(cur, by.name, "audit.export", "audit", json.dumps({
            "file": path.name, "rows": n, "from": str(where.start or ""),
            "to": str(where.end or ""), "actor": where.actor}))  # fmt: skip
    return n


def trail_csv(store: Store, where: TrailFilter, by: Actor) -> bytes:
    """The filtered trail as CSV bytes, for a download button."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.csv"
        export_trail(store, where, path, by)
        return path.read_bytes()


# Settings a change of which the trail records: what Rekon connects to and the rules it
# follows. Never a key or a password.
def settings_snapshot(settings: Settings) -> dict[str, str]:
    return {
        "database": settings.store_name,
        "timezone": settings.timezone,
        "xepeng": settings.xepeng.base_url if settings.xepeng else "not configured",
        "durianpay": settings.durianpay.base_url if settings.durianpay else "not configured",
        "memory_limit": settings.memory_limit,
        "max_upload_mb": str(settings.max_upload_mb),
        "sign_in": "on" if settings.sign_in else "off",
        "four_eyes": "on" if settings.four_eyes else "off",
        "allow_anonymous": "on" if settings.allow_anonymous else "off",
        "access": json.dumps({r.label: list(v) for r, v in sorted(settings.access.lists.items())}),
        "accounts": json.dumps(settings.accounts, sort_keys=True),
    }


def record_settings(store: Store, settings: Settings, by: str) -> dict[str, list[str | None]]:
    """Append a `settings.change` row when these settings differ from the last ones recorded;
    returns what changed ({"timezone": [old, new]}), empty when nothing did."""
    now = settings_snapshot(settings)
    last = store.scalar(
        "SELECT detail FROM audit_log WHERE action = 'settings.change'"
        " ORDER BY logged_at DESC LIMIT 1"
    )
    before = json.loads(last)["now"] if last else {}
    changed: dict[str, list[str | None]] = {
        k: [before.get(k), v] for k, v in now.items() if before.get(k) != v
    }
    if changed:
        # The whole snapshot travels with each row, so the next comparison reads one row.
        detail = json.dumps({"changed": changed, "now": now})
        with store.write() as cur:
            store.audit(cur, by, "settings.change", "settings", detail)
    return changed
