"""Who may do what: roles from the `[rekon.access]` allow-lists, and the check every library
write makes before it touches the store.

A page hides what a role may not do, but the check that counts is here, in the call the page
makes: a button drawn by mistake, or a request crafted by hand, still meets it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from rekon.errors import RekonError


class Role(IntEnum):
    """A higher role includes every lower one."""

    VIEWER = 1
    REVIEWER = 2
    APPROVER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()


# What each role adds, as the sign-in and no-access pages say it.
ROLE_DUTIES = {
    Role.VIEWER: "read every page and download exports",
    Role.REVIEWER: "fetch, import, run, decide and match",
    Role.APPROVER: "sign off and reopen periods, read the audit trail",
    Role.ADMIN: "everything, and the audit export",
}


class AccessDenied(RekonError):
    """The person acting has no role that allows this."""


@dataclass(frozen=True)
class Actor:
    """Someone acting on the store: a signed-in person, the laptop's one local user, the
    command line's trusted operator, or the dashboard's schedule."""

    name: str
    role: Role

    def require(self, role: Role, doing: str) -> None:
        """Raise AccessDenied unless this actor holds `role` (or a higher one)."""
        if not self.name.strip():
            raise AccessDenied(f"{doing} needs to know who is acting: give a name")
        if self.role < role:
            raise AccessDenied(
                f"{self.name} is a {self.role.label} and cannot {doing}: that needs the "
                f"{role.label} role. Ask an admin to add you to its list"
            )


def operator(name: str) -> Actor:
    """A trusted operator: the command line (acting as REKON_REVIEWER) or the one local user of
    a dashboard without sign-in. Whoever can run those already holds the store's file."""
    return Actor(name, Role.ADMIN)


@dataclass(frozen=True)
class AccessList:
    """The `[rekon.access]` allow-lists: per role, exact emails or `*@domain` patterns."""

    lists: Mapping[Role, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, section: Mapping[str, Any]) -> AccessList:
        """Read the secrets' `[rekon.access]` table; raises AccessConfigError naming a key or
        an entry Rekon cannot use."""
        lists: dict[Role, tuple[str, ...]] = {}
        for key, value in section.items():
            try:
                role = Role[str(key).upper()]
            except KeyError:
                raise AccessConfigError(
                    f"[rekon.access] has a list {key!r}: the roles are viewer, reviewer, "
                    "approver and admin"
                ) from None
            entries = [value] if isinstance(value, str) else value
            if not isinstance(entries, list | tuple) or not all(
                isinstance(e, str) for e in entries
            ):
                raise AccessConfigError(
                    f"[rekon.access] {key} must be a list of emails, such as "
                    '["ana@example.co.id", "*@example.co.id"]'
                )
            for entry in entries:
                if not _ENTRY.fullmatch(entry.strip()):
                    raise AccessConfigError(
                        f"[rekon.access] {key} has {entry!r}: give an email "
                        "(ana@example.co.id) or a whole domain (*@example.co.id)"
                    )
            lists[role] = tuple(e.strip().lower() for e in entries)
        return cls(lists)

    def role_for(self, email: str | None) -> Role | None:
        """The highest role whose list names this email, or None."""
        email = (email or "").strip().lower()
        if "@" not in email:
            return None
        domain = "*@" + email.rsplit("@", 1)[1]
        granted = [role for role, entries in self.lists.items() if {email, domain} & set(entries)]
        return max(granted, default=None)

    def admins(self) -> list[str]:
        """Whom to ask for access: the admins named by email."""
        return [e for e in self.lists.get(Role.ADMIN, ()) if not e.startswith("*@")]


class AccessConfigError(RekonError):
    """The allow-lists cannot be read."""


_ENTRY = re.compile(r"(\*|[^@\s*]+)@[^@\s*]+\.[^@\s*]+", re.IGNORECASE)
