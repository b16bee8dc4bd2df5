"""`rekon fees set|list` and `rekon settlements import|list`: the rate card and the payouts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rekon.cli_recon import Handler, day_arg, open_store
from rekon.config import Settings
from rekon.money import format_count
from rekon.terminal import safe


def add_parsers(sub: Any, db: Callable[[argparse.ArgumentParser], None]) -> dict[str, Handler]:
    fees = sub.add_parser("fees", help="the rate card settlements' fees are checked against")
    fsub = fees.add_subparsers(dest="fees_command", required=True)
    fset = fsub.add_parser(
        "set", help="put a provider's rate (for one payment method, or * for any) on the card"
    )
    fset.add_argument("provider", choices=["xepeng", "durianpay"])
    fset.add_argument("--method", default="*", help="payment method id (BCA, QRIS, …); * for any")
    fset.add_argument("--percent", metavar="P", help="percent of the payment, e.g. 0.7")
    fset.add_argument("--fixed", metavar="F", help="fixed rupiah per payment, e.g. 4000")
    fset.add_argument("--vat", metavar="V", help="VAT on the fee in percent (default PPN 11)")
    db(fset)
    flist = fsub.add_parser("list", help="the rate card in force")
    db(flist)

    sett = sub.add_parser("settlements", help="payouts: import a settlement report, list them")
    ssub = sett.add_subparsers(dest="settlements_command", required=True)
    imp = ssub.add_parser(
        "import", help="a provider's settlement report CSV (Xepeng has no settlement API)"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--provider", choices=["xepeng", "durianpay"], default="xepeng")
    imp.add_argument("--name", help="how to call it (default: the file name)")
    imp.add_argument(
        "--map", action="append", default=[], metavar="FIELD=COLUMN",
        help="which column holds a field (settlement_id, payment_id, order_id, gross, fee, net, "
        "settled_at): when the header does not say",
    )  # fmt: skip
    imp.add_argument("--delimiter", help="the column separator, when sniffing guesses wrong")
    style = imp.add_mutually_exclusive_group()
    style.add_argument("--decimal-comma", action="store_true", help="1.234,56")
    style.add_argument("--decimal-point", action="store_true", help="1,234.56")
    imp.add_argument("--date-format", metavar="FMT", help="e.g. %%d/%%m/%%Y")
    db(imp)
    lst = ssub.add_parser("list", help="settlements settled in a range, newest first")
    lst.add_argument("--from", dest="start", type=day_arg, required=True, metavar="YYYY-MM-DD")
    lst.add_argument("--to", dest="end", type=day_arg, required=True, metavar="YYYY-MM-DD")
    db(lst)
    return {"fees": _fees, "settlements": _settlements}


def _fees(args: argparse.Namespace, settings: Settings) -> int:
    from rekon import fee_rates

    store = open_store(settings)
    try:
        if args.fees_command == "set":
            rate = fee_rates.set_rate(
                store, args.provider, args.method, percent=args.percent, fixed=args.fixed,
                vat=args.vat, by=settings.operator,
            )  # fmt: skip
            print(f"Rate card: {rate.describe()}")
            return 0
        card = fee_rates.current(store)
    finally:
        store.close()
    if card.is_empty():
        print("The rate card is empty: `rekon fees set PROVIDER --method M --percent P …`")
        return 0
    print(f"{'provider':<10} {'method':<10} {'percent':>8} {'fixed':>10} {'vat':>6}  set by")
    for row in card.iter_rows(named=True):
        print(
            f"{row['provider']:<10} {safe(row['method']):<10} {row['percent'].normalize():>8f} "
            f"{row['fixed'].normalize():>10f} {row['vat'].normalize():>6f}  "
            f"{safe(row['set_by'])} {row['set_at']:%Y-%m-%d %H:%M} UTC"
        )
    return 0


def _settlements(args: argparse.Namespace, settings: Settings) -> int:
    from rekon.settlement_reports import ReportOptions, import_report
    from rekon.settlements import settlement_list

    store = open_store(settings)
    try:
        if args.settlements_command == "list":
            rows = settlement_list(store, args.start, args.end)
            for row in rows.iter_rows(named=True):
                print(
                    f"{row['provider']:<10} {safe(row['settlement_id']):<24} "
                    f"{row['settled_date']} {row['payments']:>6} payments  net {row['net']}"
                    f"  fee {row['fee']}"
                )
            print(f"{format_count(rows.height)} settlements")
            return 0
        style = "comma" if args.decimal_comma else "point" if args.decimal_point else None
        options = ReportOptions(
            provider=args.provider,
            mapping=dict(m.split("=", 1) for m in args.map if "=" in m),
            delimiter=args.delimiter,
            decimal=style,
            date_format=args.date_format,
        )
        report = import_report(store, args.file, options, name=args.name, by=settings.operator)
    finally:
        store.close()
    print(report.line())
    return 0
