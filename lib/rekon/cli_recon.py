"""`rekon ledger`, `rekon reconcile`, `rekon review`, `rekon export`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rekon.access import operator
from rekon.classes import KINDS
from rekon.config import Settings
from rekon.errors import RekonError
from rekon.money import DecimalStyle, MoneyError, format_count, format_plain, parse_amount
from rekon.terminal import safe

if TYPE_CHECKING:  # the store, polars and the rest load in the command that needs them
    from rekon.store import Store

Handler = Callable[[argparse.Namespace, Settings], int]


def day_arg(text: str) -> date:
    """A command-line date, YYYY-MM-DD, refused in argparse's words otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def add_parsers(
    sub: Any,
    db: Callable[[argparse.ArgumentParser], None],
    period: Callable[[argparse.ArgumentParser], None],
) -> dict[str, Handler]:
    """Add these commands' parsers to `sub`; return their handlers by command name (for
    `rekon.cli` to dispatch, so that this module never imports it back)."""
    ledger = sub.add_parser("ledger", help="import, list or delete ledger CSV files")
    lsub = ledger.add_subparsers(dest="ledger_command", required=True)
    imp = lsub.add_parser("import", help="import a ledger CSV")
    imp.add_argument("file", type=Path, help="the CSV as exported by the accounting software")
    imp.add_argument("--name", help="what to call this ledger (default: the file name)")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="map a field (date, amount, debit, credit, reference, description, "
        "currency, provider, email) to a column",
    )
    imp.add_argument(
        "--mapping",
        metavar="NAME",
        help="start from a saved mapping (its columns; its date format and decimal style "
        "decide where the file cannot tell)",
    )
    imp.add_argument(
        "--save-mapping", metavar="NAME", help="save the columns and formats used under NAME"
    )
    imp.add_argument("--delimiter", metavar="C", help="; , | or tab (default: detected)")
    style = imp.add_mutually_exclusive_group()
    style.add_argument("--decimal-comma", action="store_true", help="amounts like 1.500.000,00")
    style.add_argument("--decimal-point", action="store_true", help="amounts like 1,500,000.00")
    imp.add_argument(
        "--date-format", metavar="FMT", help="strftime format, e.g. %%d/%%m/%%Y (default: detected)"
    )
    imp.add_argument("--replace", action="store_true", help="re-import a file seen before")
    imp.add_argument(
        "--corrects",
        type=int,
        metavar="ID",
        help="this file is a corrected export of ledger ID: it takes that ledger's place, and "
        "the decisions on the lines that did not change carry over",
    )
    db(imp)
    lst = lsub.add_parser("list", help="list imported ledgers")
    db(lst)
    dele = lsub.add_parser("delete", help="delete an imported ledger")
    dele.add_argument("id", type=int, help="the ledger id (see `rekon ledger list`)")
    db(dele)
    cor = lsub.add_parser(
        "correct",
        help="let ledger NEW (a corrected export) take the place of ledger OLD; the decisions on "
        "the lines that did not change carry over",
    )
    cor.add_argument("old", type=int, help="the ledger being replaced")
    cor.add_argument("new", type=int, help="the corrected ledger, already imported")
    db(cor)

    rec = sub.add_parser("reconcile", help="match orders against ledger lines for a period")
    period(rec)
    rec.add_argument("--ledger", type=int, action="append", default=[], help="ledger id(s)")
    rec.add_argument(
        "--amount-tolerance",
        default="0",
        metavar="RP",
        help="amounts within this many rupiah match, written 2500 or 2.500 (default 0)",
    )
    rec.add_argument(
        "--date-window", type=int, default=3, metavar="DAYS",
        help="ledger dates this many days from the order's still match (default 3)",
    )  # fmt: skip
    db(rec)

    runs = sub.add_parser("runs", help="the latest reconciliation runs, newest first")
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    db(runs)

    rev = sub.add_parser("review", help="list or decide on exceptions")
    rsub = rev.add_subparsers(dest="review_command", required=True)
    rl = rsub.add_parser("list", help="open exceptions of a run")
    rl.add_argument("--run", default="latest", help="run id or latest (default)")
    rl.add_argument(
        "--status", default="open", choices=["open", "accepted", "resolved", "all"],
        help="which exceptions (default: open)",
    )  # fmt: skip
    rl.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    db(rl)
    for verb in ("accept", "resolve", "reopen"):
        p = rsub.add_parser(verb, help=f"{verb} one or more results by key")
        p.add_argument(
            "keys", nargs="+", metavar="KEY", help="result keys from `rekon review list`"
        )
        p.add_argument(
            "--note",
            required=verb == "resolve",
            help="why (required to resolve, and for several keys at once)",
        )
        p.add_argument(
            "--include-decided",
            action="store_true",
            help="with several keys: replace earlier accept/resolve decisions too "
            "(default: leave them as they are)",
        )
        p.add_argument("--reviewer", default=None, help="name recorded (default $REKON_REVIEWER)")
        p.add_argument("--run", default="latest", help="run id or latest (default)")
        db(p)

    exp = sub.add_parser("export", help="write results for accounting")
    exp.add_argument("--run", default="latest", help="run id or latest (default)")
    exp.add_argument(
        "--kind", choices=KINDS, required=True,
        help="which results (summary: per class, provider and business day; "
             "reviews: every decision on the run's results, the audit trail; adjustments: a "
             "journal line per difference booked as a fee, rounding or write-off)",
    )  # fmt: skip
    exp.add_argument("--out", type=Path, required=True, metavar="PATH", help="file to write")
    exp.add_argument(
        "--format", choices=["csv", "xlsx"], default=None, help="default: from the file name"
    )
    exp.add_argument("--force", action="store_true", help="write over an existing file")
    db(exp)

    return {
        "ledger": _ledger,
        "reconcile": _reconcile,
        "runs": _runs,
        "review": _review,
        "export": _export,
    }


def open_store(settings: Settings) -> Store:
    """The store a command works on; settings that changed since the last command or dashboard
    start are recorded in the audit trail first."""
    from rekon.audit import record_settings
    from rekon.store import Store

    store = Store(settings.store_location, settings.timezone, settings.memory_limit)
    record_settings(store, settings, settings.reviewer)
    return store


def _ledger(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    if args.ledger_command == "list":
        from rekon.listings import LEDGERS_SQL

        listed = store.records(LEDGERS_SQL)
        if not listed:
            print("No ledgers imported yet.")
        for row in listed:
            print(
                f"{row['id']:>4}  {safe(row['name']):<30} {row['lines_imported']:>9} lines "
                f"{format_plain(row['amount_total']):>18}  {row['date_from']}..{row['date_to']}"
            )
        return 0
    from rekon import ledger

    if args.ledger_command == "delete":
        lines = ledger.delete_ledger(store, args.id, settings.operator)
        print(f"Deleted ledger {args.id} and its {lines} lines.")
        return 0
    if args.ledger_command == "correct":
        print(ledger.correct_ledger(store, args.old, args.new, settings.operator).line())
        return 0
    overrides = {}
    for item in args.map:
        field, sep, column = item.partition("=")
        if not sep:
            raise RekonError(f"--map takes FIELD=COLUMN, not {item!r}")
        overrides[field.strip()] = column.strip()
    style = (
        DecimalStyle.COMMA
        if args.decimal_comma
        else DecimalStyle.POINT
        if args.decimal_point
        else None
    )
    delimiter = {"tab": "\t", "\\t": "\t"}.get(args.delimiter or "", args.delimiter)
    options = ledger.ImportOptions(
        name=args.name,
        mapping=overrides,
        delimiter=delimiter,
        decimal_style=style,
        date_format=args.date_format,
        replace=args.replace,
        corrects=args.corrects,
    )
    if not args.file.is_file():
        raise RekonError(f"no such file: {args.file}")
    try:
        result = ledger.import_ledger(
            store, args.file, options=options, saved_mapping=args.mapping, by=settings.operator
        )
    except ledger.TooManyRejected as exc:
        # The report on stdout, as an import's set-aside lines are; stderr keeps its one line.
        for r in exc.rejected[:20]:
            print(f"  rejected line {r.line_no}: {r.column}: {r.reason} ({r.value!r})")
        raise
    if args.save_mapping:
        ledger.save_mapping(
            store,
            args.save_mapping,
            ledger.SavedMapping.of(result.mapping, result.format),
            settings.operator,
        )
    print(safe(result.line()))
    print(f"  format: {result.format.describe()}")
    for shared in result.shared:
        print(f"warning: {shared.warning()}", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for r in result.rejected[:50]:
        print(f"  rejected line {r.line_no}: {r.column}: {r.reason} ({r.value!r})")
    return 0


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from rekon.fetch_log import fetch_gaps, foreign_orders
    from rekon.matching import ReconcileParams, reconcile
    from rekon.pairing import stale_matches

    try:  # read as amounts are everywhere else: "1.000" is a thousand rupiah, not one
        tolerance = parse_amount(args.amount_tolerance)
    except MoneyError as exc:
        raise RekonError(
            f"--amount-tolerance {args.amount_tolerance!r} is not an amount of rupiah: "
            "write 2500 or 2.500 for Rp 2.500"
        ) from exc
    params = ReconcileParams(args.start, args.end, tuple(args.ledger), tolerance, args.date_window)
    store = open_store(settings)
    summary = reconcile(store, params, by=settings.operator)
    print("\n".join(summary.lines()))
    # Keys configured: their providers should be fetched; none (a sandbox URL per fetch):
    # those ever fetched, else every provider.
    for gap in fetch_gaps(store, params.start, params.end, settings.providers or None):
        print(f"warning: {gap.describe()}", file=sys.stderr)
    for foreign in foreign_orders(store, params.start, params.end):
        print(f"warning: {foreign.describe()}", file=sys.stderr)
    for stale in stale_matches(store, params.start, params.end):
        print(f"warning: {stale}", file=sys.stderr)
    return 0


def _runs(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from rekon.classes import exception_count
    from rekon.listings import RECENT_RUNS_SQL

    found = open_store(settings).records(RECENT_RUNS_SQL.format(limit=max(1, int(args.limit))))
    if not found:
        print("No reconciliation runs yet: run `rekon reconcile`.")
    for r in found:
        counts = json.loads(r["counts"] or "{}")
        ledgers = ",".join(map(str, r["ledger_ids"])) if r["ledger_ids"] else "all"
        print(
            f"{r['id']:>5}  {r['period_from']}..{r['period_to']}  "
            f"{r['finished_at']:%Y-%m-%dT%H:%MZ}  {r['run_by'] or '-'}  ledgers {ledgers}  "
            f"tolerance {format_plain(r['amount_tolerance'])}  window {r['date_window']}  "
            f"{exception_count(counts)} exceptions of {sum(counts.values())}"
        )
    return 0


def _review(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import reviews
    from rekon.classes import EXCEPTIONS
    from rekon.matching import resolve_run
    from rekon.results import ResultFilter, results_page

    store = open_store(settings)
    run_id = resolve_run(store, args.run)
    if args.review_command == "list":
        review = () if args.status == "all" else (args.status,)
        page, total = results_page(
            store, run_id, ResultFilter(results=EXCEPTIONS, review=review), limit=args.limit
        )
        print(
            f"{format_count(total)} {args.status} exceptions in run {run_id}"
            + (f" (first {format_count(page.height)})" if total > page.height else "")
        )
        for row in page.iter_rows(named=True):
            amount = (
                row["ledger_amount"] if row["ledger_amount"] is not None else row["order_amount"]
            )
            note = f"  {safe(row['review_note'])}" if row["review_note"] else ""
            print(
                f"  {safe(row['result_key']):<40} {row['result']:<20} "
                f"{format_plain(amount):>15} {row['review_status']}{note}"
            )
        return 0
    decision = {"accept": "accepted", "resolve": "resolved", "reopen": "reopened"}
    done = reviews.record(
        store,
        args.keys,
        decision[args.review_command],
        operator(args.reviewer) if args.reviewer else settings.operator,
        args.note,
        run_id,
        # One key named is that item, decided or not; several are a bulk action.
        include_decided=args.include_decided or len(args.keys) == 1,
    )
    print(done.line(decision[args.review_command]))
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import audit, closing
    from rekon.matching import resolve_run
    from rekon.reports import write_export

    fmt = args.format or ("xlsx" if args.out.suffix.lower() == ".xlsx" else "csv")
    check_out(args.out, settings.db_path, args.force)
    store = open_store(settings)
    run_id = resolve_run(store, args.run)
    signed = closing.for_run(store, run_id)
    sidecar = args.out.with_name(f"{args.out.stem}-signoff.json")
    if signed and fmt == "csv":
        check_out(sidecar, settings.db_path, args.force)
    rows = write_export(store, run_id, args.kind, args.out, fmt, settings.accounts)
    audit.export_downloaded(store, settings.operator, args.out.name, run_id, args.kind)
    print(f"Wrote {format_count(rows)} rows ({args.kind}, run {run_id}) to {args.out}")
    if signed and fmt == "csv":
        sidecar.write_text(signed.sidecar_json(), encoding="utf-8")
        print(safe(f"  {signed.line()}: the sign-off is in {sidecar}"))
    return 0


def check_out(out: Path, db: Path, force: bool) -> None:
    """A file a command may write: never the store's own, and an existing one only with
    --force."""
    refuse_store_files(out, db)
    if out.exists() and not out.is_dir() and not force:
        raise RekonError(
            f"{out} already exists: choose another name, or add --force to write over it"
        )


def refuse_store_files(out: Path, db: Path) -> None:
    """An export never writes over the database it reads, nor its write-ahead log."""
    own = [db, db.with_name(db.name + ".wal")]
    for path in own:
        same = out.resolve() == path.resolve() or (
            out.exists() and path.exists() and out.samefile(path)
        )
        if same:
            raise RekonError(
                f"{out} is Rekon's own database{' log' if path != db else ''}: writing the "
                "export there would destroy it. Choose another file name"
            )
