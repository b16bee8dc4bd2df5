"""Who is using the dashboard: sign-in (Streamlit's OIDC login), the role the allow-lists give
them, and the one local user of a dashboard without sign-in.

The gate runs in app.py before any page: a visitor who is not signed in sees only the sign-in
page, a signed-in person on no list only the no-access page. What a role may do is checked
again in every library call (rekon.access); the pages only hide what would be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st

from pages.ui.text import plain
from pages.ui.workspace import PAGES, settings
from rekon import audit
from rekon.access import ROLE_DUTIES, Actor, Role, operator
from rekon.config import ConfigError, check_serving
from rekon.workspace import Workspace

ROLE_KEY = "rekon_actor"


def gate(ws: Workspace) -> Actor:
    """The person this run acts for. Stops the run with the sign-in page, the no-access page,
    or the one-line refusal to serve beyond this machine without sign-in."""
    s = settings()
    try:
        check_serving(s, st.get_option("server.address"))
    except ConfigError as exc:
        st.error(plain(str(exc)), icon=":material/lock:")
        st.stop()
    if not s.sign_in:
        me = operator(str(st.session_state.get("reviewer") or "").strip() or s.reviewer)
        st.session_state[ROLE_KEY] = me
        return me
    if not st.user.is_logged_in:
        _only(_sign_in_page, "Sign in")
    email = str(st.user.get("email") or "").strip()
    role = s.access.role_for(email)
    if role is None:
        _only(lambda: _no_access_page(email, s.access.admins()), "No access")
    me = Actor(email, role)
    if st.session_state.get("rekon_signed_in") != email:
        # Once per session: the sign-in itself is an action on the trail.
        audit.signed_in(ws.store, me)
        st.session_state["rekon_signed_in"] = email
    st.session_state[ROLE_KEY] = me
    return me


def _only(page: Callable[[], None], title: str) -> NoReturn:
    """Show one page whatever address was asked for (a bookmark of /reconcile too, rather than
    Streamlit's "page not found"), with no navigation to the others, and stop."""
    paths = ["", *(Path(path).stem for path, _, _ in PAGES[1:])]
    st.navigation(
        [st.Page(page, title=title, url_path=p, default=not p) for p in paths], position="hidden"
    ).run()
    st.stop()


def me() -> Actor:
    """The actor app.py's gate settled for this run."""
    found = st.session_state.get(ROLE_KEY)
    if not isinstance(found, Actor):  # a page run outside app.py never gets this far
        raise RuntimeError("the sign-in gate has not run")
    return found


def can(role: Role) -> bool:
    """Whether this run's person holds `role`: what a page shows, never what it allows."""
    return me().role >= role


def role_note(role: Role, doing: str) -> None:
    """Say, where a button would be, why this person does not see it."""
    if not can(role):
        st.caption(
            f"Your role ({me().role.label}) cannot {doing}: that needs the {role.label} role."
        )


def _providers() -> list[str]:
    """Named providers ([auth.google] …); an [auth] with its own client_id is the default."""
    try:
        section: Mapping[str, Any] = st.secrets["auth"]
    except (KeyError, FileNotFoundError):
        return []
    named = [k for k, v in section.items() if isinstance(v, Mapping)]
    return [] if "client_id" in section or not named else named


def _sign_in_page() -> None:
    st.title("Rekon")
    st.write("Sign in to reconcile payments and books.")
    providers = _providers()
    if not providers:
        st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")
    for name in providers:
        st.button(
            f"Sign in with {name.title()}", on_click=st.login, args=(name,), key=f"login_{name}"
        )


def _no_access_page(email: str, admins: list[str]) -> None:
    st.title("No access")
    st.error(
        plain(f"{email or 'This account'} is signed in but has no role in Rekon."),
        icon=":material/block:",
    )
    ask = ", ".join(admins) if admins else "your Rekon administrator"
    st.write(
        plain(
            f"Ask {ask} to add you to a list in [rekon.access]: viewer (read and download), "
            "reviewer (fetch, import, run, decide), approver (sign off), admin."
        )
    )
    st.button("Sign out", on_click=st.logout)


def person_box(ws: Workspace, actor: Actor) -> None:
    """The sidebar's who-am-I: the signed-in email and role with a sign-out button, or, without
    sign-in, the one Reviewer name recorded on every action."""
    s = settings()
    if s.sign_in:
        st.caption(
            f"Signed in as **{plain(actor.name)}** · {actor.role.label}",
            help=f"A {actor.role.label} can {ROLE_DUTIES[actor.role]}.",
        )
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        return
    st.session_state.setdefault("reviewer", ws.settings.reviewer)
    st.text_input("Reviewer", key="reviewer")
    st.caption("Recorded on every decision, import, run and fetch of this session.")


def anonymous_warning() -> None:
    s = settings()
    if not s.sign_in and s.allow_anonymous and not _loopback():
        st.warning(
            "Sign-in is off (REKON_ALLOW_ANONYMOUS=1) and Rekon is served beyond this machine: "
            "anyone who reaches this address can read every payment and act under any name.",
            icon=":material/warning:",
        )


def _loopback() -> bool:
    from rekon.config import is_loopback

    return is_loopback(st.get_option("server.address"))
