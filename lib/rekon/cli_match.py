"""`rekon match add|break|list|remove`: manual matches and breaks from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rekon.cli_recon import Handler, day_arg, open_store
from rekon.config import Settings
from rekon.terminal import safe


def add_parsers(
    sub: Any,
    db: Callable[[argparse.ArgumentParser], None],
    period: Callable[[argparse.ArgumentParser], None],
) -> dict[str, Handler]:
    """The `match` command's parsers; returns its handler for `rekon.cli` to dispatch."""
    from rekon.classes import REASONS

    match = sub.add_parser("match", help="pair leftovers by hand, or break a wrong pair")
    msub = match.add_subparsers(dest="match_command", required=True)
    add = msub.add_parser("add", help="pair orders with lines: 1↔1, N orders↔1 line, 1↔N lines")
    add.add_argument(
        "--order",
        action="append",
        required=True,
        metavar="KEY",
        help="an order's key, O:provider:order_id (repeat for several)",
    )
    add.add_argument(
        "--line",
        action="append",
        required=True,
        metavar="KEY",
        help="a ledger line's key, L:ledger:line (repeat for several)",
    )
    add.add_argument(
        "--reason", choices=REASONS, help="why the sums differ (required when they do)"
    )
    add.add_argument("--note", help="what a reader should know (required with --reason other)")
    db(add)
    brk = msub.add_parser("break", help="say a line is not an order: no run pairs them again")
    brk.add_argument("--order", required=True, metavar="KEY")
    brk.add_argument("--line", required=True, metavar="KEY")
    brk.add_argument("--note", required=True, help="why the line is not the order")
    db(brk)
    lst = msub.add_parser("list", help="manual matches and breaks, one a line, the id first")
    lst.add_argument("--from", dest="start", type=day_arg, metavar="YYYY-MM-DD")
    lst.add_argument("--to", dest="end", type=day_arg, metavar="YYYY-MM-DD")
    lst.add_argument(
        "--stale",
        action="store_true",
        help="only those that can no longer apply (a ledger deleted, a key gone)",
    )
    db(lst)
    rem = msub.add_parser("remove", help="take a match or break back (recorded, not deleted)")
    rem.add_argument("id", type=int, help="its id, from `rekon match list`")
    rem.add_argument("--note", required=True, help="why")
    db(rem)
    sug = sub.add_parser("suggest", help="suggested matches for a run's leftovers, best first")
    sug.add_argument("--run", default="latest", help="run id or latest (default)")
    sug.add_argument("--min-score", type=int, default=0, metavar="N", help="0–100 (default 0)")
    sug.add_argument("--limit", type=int, default=50, metavar="N", help="at most (default 50)")
    sug.add_argument(
        "--accept-at-or-above", type=int, metavar="N",
        help="accept every suggestion scoring N or more where every field agrees "
        "(never on amount alone); the rest are listed",
    )  # fmt: skip
    db(sug)

    rule = sub.add_parser("rule", help="saved rules that clear recurring leftovers")
    rsub = rule.add_subparsers(dest="rule_command", required=True)
    radd = rsub.add_parser("add", help="save a rule (or try it on the latest run: --dry-run)")
    radd.add_argument("name")
    when = radd.add_mutually_exclusive_group(required=True)
    when.add_argument("--when-description", metavar="PATTERN")
    when.add_argument("--when-reference", metavar="PATTERN")
    radd.add_argument("--regex", action="store_true", help="the pattern is a regular expression")
    radd.add_argument("--provider", choices=["xepeng", "durianpay"])
    radd.add_argument("--min-amount", metavar="X", help="rupiah, as amounts are written")
    radd.add_argument("--max-amount", metavar="Y")
    radd.add_argument("--then", required=True, choices=["excluded", "fee", "rounding"])
    radd.add_argument(
        "--dry-run",
        action="store_true",
        help="show what it would change in the latest run, and save nothing",
    )
    db(radd)
    rlist = rsub.add_parser("list", help="the rules in order, with what each did last run")
    db(rlist)
    rrem = rsub.add_parser("remove", help="stop applying a rule (recorded)")
    rrem.add_argument("name")
    db(rrem)
    return {"match": _match, "suggest": _suggest, "rule": _rule}


def _rule(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import rules
    from rekon.matching import resolve_run
    from rekon.money import format_count, parse_amount

    store = open_store(settings)
    if args.rule_command == "list":
        found = rules.list_rules(store)
        if found.is_empty():
            print("No saved rules.")
        for r in found.iter_rows(named=True):
            rule = rules.Rule(r["name"], r["field"], r["pattern"], r["regex"], r["action"],
                              r["provider"], r["min_amount"], r["max_amount"])  # fmt: skip
            print(safe(f"{r['position']:>3}  {rule.describe()}  ({r['last_run']} in the last run)"))
        return 0
    if args.rule_command == "remove":
        rules.remove_rule(store, args.name, settings.operator)
        print(safe(f"Removed rule {args.name}; later runs no longer apply it."))
        return 0
    field = "description" if args.when_description is not None else "reference"
    rule = rules.Rule(
        args.name, field, args.when_description or args.when_reference, args.regex, args.then,
        args.provider,
        parse_amount(args.min_amount) if args.min_amount else None,
        parse_amount(args.max_amount) if args.max_amount else None,
    )  # fmt: skip
    if args.dry_run:
        run_id = resolve_run(store, "latest")
        changes = rules.dry_run(store, rule, run_id)
        print(
            safe(
                f"Dry run of {rule.describe()} on run {run_id}: "
                f"{format_count(changes.height)} result(s) would change; nothing saved."
            )
        )
        for row in changes.head(20).iter_rows(named=True):
            print(safe(f"  {row['result_key']}  {row['now']} → {row['after']}"))
        return 0
    rules.add_rule(store, rule, settings.operator)
    print(safe(f"Saved {rule.describe()}. The next run applies it."))
    return 0


def _suggest(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import suggestions
    from rekon.matching import resolve_run

    store = open_store(settings)
    run_id = resolve_run(store, args.run)
    found = suggestions.suggest(store, run_id, args.min_score, args.limit)
    if args.accept_at_or_above is not None:
        made, left = suggestions.accept_at_or_above(
            store, found, args.accept_at_or_above, settings.operator
        )
        print(
            f"Accepted {len(made)} suggestion(s) as manual matches; {left} at that score "
            "wait for a person (not every field agrees)."
        )
        taken = {k for m in made for k in (*m.orders, *m.lines)}
        found = [s for s in found if not taken & {*s.orders, *s.lines}]
    if not found:
        print(f"No suggestions for run {run_id}.")
    for suggestion in found:
        print(safe(suggestion.line()))
    return 0


def _match(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import pairing

    store = open_store(settings)
    if args.match_command == "add":
        made = pairing.add_match(
            store, args.order, args.line, settings.operator, args.reason, args.note,
            tolerance=pairing.run_tolerance(store, args.order),
        )  # fmt: skip
        print(safe(f"Matched by hand as {made.id}: {made.line().strip()}"))
    elif args.match_command == "break":
        made = pairing.add_break(store, args.order, args.line, settings.operator, args.note)
        print(safe(f"Broken apart as {made.id}: later runs never pair them."))
    elif args.match_command == "remove":
        gone = pairing.remove(store, args.id, settings.operator, args.note)
        print(safe(f"Removed manual match {gone.id}; its history stays."))
    else:
        if (args.start is None) != (args.end is None):
            raise pairing.PairingError("give both --from and --to, or neither")
        found = pairing.list_matches(store, args.start, args.end, stale=args.stale)
        if not found:
            print("No stale manual matches." if args.stale else "No manual matches yet.")
        for made in found:
            print(safe(made.line()))
    return 0
