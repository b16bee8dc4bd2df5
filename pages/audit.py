"""Audit: every action on the store — who, when, what, the subject — filtered by when it was
done, by person and by action (approvers read it; admins download it)."""

import streamlit as st

from pages.ui.display import attempt, count, table
from pages.ui.people import can, me, role_note
from pages.ui.period import period, period_label
from pages.ui.workspace import query, settings, workspace
from rekon import audit
from rekon.access import Role

ws = workspace()
start, end = period()
st.title(f"Audit · {period_label(start, end)}")
st.caption(
    "Every sign-in, fetch, import, correction, deletion, run, decision, match, sign-off, "
    "reopen, export and settings change, as it happened: rows are only ever added."
)

when, left, right = st.columns([2, 2, 3])
# A month's work happens after it ends: from the period's first day until today, by default.
today = settings().today()
picked = when.date_input(
    "Done between", (start, max(end, today)), format="DD/MM/YYYY", key=f"audit_{start}"
)
done_from, done_to = picked if isinstance(picked, tuple) and len(picked) == 2 else (start, today)
people = [None, *query(ws, audit.people)]
who = left.selectbox("Person", people, format_func=lambda p: p or "Anyone")
kinds = right.multiselect("Actions", query(ws, audit.actions), placeholder="Every action")
where = audit.TrailFilter(done_from, done_to, who, tuple(kinds))
actor = me()
total = query(ws, audit.count, where, actor)
rows = query(ws, audit.trail, where, actor)
shown = f"; the first {count(rows.height)} shown" if total > rows.height else ""
st.caption(
    f"{count(total)} action(s) from {done_from:%d %b %Y} to {done_to:%d %b %Y} "
    f"({settings().timezone}){shown}."
)
table(
    rows,
    column_config={
        "logged_at_utc": st.column_config.DatetimeColumn(
            "When (UTC)", format="D MMM YYYY HH:mm:ss"
        ),
        "actor": "Who",
        "action": "Action",
        "subject": "Subject",
        "detail": "Detail",
    },
)
if can(Role.ADMIN):
    if st.button("Prepare the CSV download", icon=":material/download:"):
        data = attempt(lambda: audit.trail_csv(ws.store, where, actor))
        if data is not None:
            st.download_button(
                "Download audit CSV",
                data=data,
                file_name=f"rekon-audit-{done_from}_{done_to}.csv",
                mime="text/csv",
                on_click="ignore",
                type="primary",
            )
else:
    role_note(Role.ADMIN, "export the audit trail")
