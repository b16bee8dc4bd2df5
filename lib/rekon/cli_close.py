"""`rekon period status|signoff|reopen` and `rekon audit`: closing a month from the command
line, which acts as a trusted operator (REKON_REVIEWER) with every role."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from rekon.cli_recon import Handler, day_arg, open_store
from rekon.config import Settings
from rekon.errors import RekonError
from rekon.locks import period_name
from rekon.periods import month_bounds
from rekon.terminal import safe


def add_parsers(
    sub: Any,
    db: Callable[[argparse.ArgumentParser], None],
    period: Callable[[argparse.ArgumentParser], None],
) -> dict[str, Handler]:
    per = sub.add_parser("period", help="a period's sign-off: status, sign off, reopen")
    psub = per.add_subparsers(dest="period_command", required=True)
    st = psub.add_parser("status", help="open, signed off, lapsed or reopened, with the history")
    st.add_argument("--month", type=_month, metavar="YYYY-MM", help="default: last month")
    db(st)
    so = psub.add_parser("signoff", help="sign off a month on a run and lock it")
    so.add_argument("--month", type=_month, required=True, metavar="YYYY-MM")
    so.add_argument("--run", default="latest", help="run id, or latest (of that month)")
    so.add_argument(
        "--note",
        help="why it closes with exceptions still open (needed, with --confirm-open, when any are)",
    )
    so.add_argument(
        "--confirm-open",
        action="store_true",
        help="sign off although some exceptions are still open (needs --note)",
    )
    db(so)
    ro = psub.add_parser("reopen", help="unlock a signed-off month (its history stays)")
    ro.add_argument("--month", type=_month, required=True, metavar="YYYY-MM")
    ro.add_argument("--reason", required=True, help="why it is reopened")
    db(ro)

    au = sub.add_parser("audit", help="write the audit trail (every action) to a CSV file")
    au.add_argument("--from", dest="start", type=day_arg, metavar="YYYY-MM-DD")
    au.add_argument("--to", dest="end", type=day_arg, metavar="YYYY-MM-DD")
    au.add_argument("--actor", metavar="NAME", help="one person's actions (an email or a name)")
    au.add_argument("--action", action="append", default=[], help="only these (repeat)")
    au.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    au.add_argument("--force", action="store_true", help="write over an existing file")
    db(au)
    return {"period": _period_command, "audit": _audit}


def _month(text: str) -> tuple[date, date]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM")
    return month_bounds(text)


def _period_command(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import closing
    from rekon.matching import resolve_run

    store = open_store(settings)
    if args.period_command == "status":
        start, end = args.month or _last_month(settings)
        for line in closing.status(store, start, end).lines():
            print(safe(line))
        return 0
    start, end = args.month
    if args.period_command == "reopen":
        closing.reopen(store, start, end, settings.operator, args.reason)
        print(safe(f"{period_name(start, end)} reopened: its dates are unlocked."))
        return 0
    if args.run == "latest":
        run_id = store.scalar(
            "SELECT max(id) FROM recon_runs WHERE period_from = ? AND period_to = ?"
            " AND finished_at IS NOT NULL",
            [start, end],
        )
        if run_id is None:
            raise RekonError(
                f"{period_name(start, end)} has no reconciliation run: run it first "
                f"(rekon reconcile --from {start} --to {end})"
            )
    else:
        run_id = resolve_run(store, args.run)
    made = closing.signoff(
        store, start, end, int(run_id), settings.operator, args.note,
        confirm_open=args.confirm_open, four_eyes=settings.four_eyes,
    )  # fmt: skip
    print(safe(made.line() + "; locked."))
    return 0


def _last_month(settings: Settings) -> tuple[date, date]:
    first = settings.today().replace(day=1)
    return month_bounds(f"{first.year - (first.month == 1)}-{(first.month - 2) % 12 + 1:02d}")


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import audit
    from rekon.cli_recon import check_out

    check_out(args.out, settings.db_path, args.force)
    store = open_store(settings)
    where = audit.TrailFilter(args.start, args.end, args.actor, tuple(args.action))
    n = audit.export_trail(store, where, args.out, settings.operator)
    print(safe(f"Wrote {n} audit row(s) to {args.out}"))
    return 0
