"""`rekon`: every step of month-end without the browser (docs/architecture.md, the CLI)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rekon.cli_recon import day_arg
from rekon.config import Settings, load_settings
from rekon.errors import RekonError
from rekon.names import PROVIDER_TITLES
from rekon.terminal import safe

if TYPE_CHECKING:  # the HTTP clients load only in the commands that fetch
    from rekon.providers.base import Progress

Handler = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rekon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="serve both provider APIs locally with seeded data")
    sb.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sb.add_argument("--port", type=int, default=8700, help="port (default 8700)")
    sb.add_argument("--seed", type=int, default=None, help="data set seed (default: the sample's)")
    sb.add_argument("--orders-per-month", type=int, default=5000, help="per provider")
    sb.add_argument("--months", default=None, help="comma-separated YYYY-MM list")
    sb.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    sb.add_argument("--error-rate", type=float, default=0.0, help="share of list pages → 500")
    sb.add_argument("--rate-limit-every", type=int, default=0, help="every Nth request → 429")
    sb.add_argument("--retry-after", type=float, default=1.0, help="seconds, on those 429s")
    sb.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on an address other machines reach (exposes the unauthenticated "
        "/_sandbox controls and the test keys)",
    )

    fe = sub.add_parser("fetch", help="fetch orders from the providers into the database")
    fe.add_argument(
        "--provider", choices=[*PROVIDER_TITLES, "all"], default="all", help="default: all"
    )
    _period(fe)
    fe.add_argument(
        "--what", default="orders", metavar="orders,settlements",
        help="orders (default), settlements, or both: the payouts settled in the range and the "
        "7 days after it (Durianpay; Xepeng has no settlement API)",
    )  # fmt: skip
    fe.add_argument("--concurrency", type=int, default=8, help="pages in flight (1: sequential)")
    fe.add_argument("--sandbox-url", help="use a running `rekon sandbox` and its test keys")
    _db(fe)

    from rekon import cli_close, cli_db, cli_match, cli_recon, cli_settle

    COMMANDS.update(cli_recon.add_parsers(sub, _db, _period))
    COMMANDS.update(cli_match.add_parsers(sub, _db, _period))
    COMMANDS.update(cli_close.add_parsers(sub, _db, _period))
    COMMANDS.update(cli_db.add_parsers(sub, _db))
    COMMANDS.update(cli_settle.add_parsers(sub, _db))
    return parser


def _period(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", dest="start", type=day_arg, required=True, metavar="YYYY-MM-DD",
        help="first business date (in REKON_TIMEZONE)",
    )  # fmt: skip
    p.add_argument(
        "--to", dest="end", type=day_arg, required=True, metavar="YYYY-MM-DD",
        help="last business date, included",
    )  # fmt: skip


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        help="DuckDB file or postgresql:// address (default $REKON_DB or data/rekon.duckdb)",
    )


def _fail(message: str) -> int:
    print(f"rekon: {safe(message)}", file=sys.stderr)
    return 1


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # A scheduler stopping `rekon` sends SIGTERM: unwind like Ctrl-C, so that a fetch records
    # that it was interrupted and its transaction rolls back, instead of vanishing mid-way.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(db_path=getattr(args, "db", None))
        return COMMANDS[args.command](args, settings)
    except RekonError as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        # The reader stopped early (`rekon review list | head`): not a failure worth a message.
        # Point stdout at nothing so the interpreter's last flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command a closed pipe ended
    except (ValueError, OSError) as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written")
    except Exception as exc:
        # A database error Rekon did not foresee: one line, with anything shaped like a
        # credential (a password in an address) masked, rather than a traceback.
        if type(exc).__module__.lstrip("_").split(".")[0] != "duckdb":
            raise
        from rekon.redaction import redact

        return _fail(redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))


@command("sandbox")
def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from rekon.sandbox.app import Faults
    from rekon.sandbox.data import DURIANPAY_TEST_KEY, XEPENG_TEST_KEY, DataConfig
    from rekon.sandbox.server import ensure_free, make_state, serve_forever

    if not _loopback(args.host):
        if not args.allow_remote:
            return _fail(
                f"--host {args.host} lets other machines reach the sandbox, including its "
                "unauthenticated /_sandbox controls (faults, order changes) and its published "
                "test keys: keep 127.0.0.1, or add --allow-remote if that is what you want"
            )
        print(
            f"warning: the sandbox listens on {args.host}: anyone who reaches it can change "
            "its orders and faults through /_sandbox",
            file=sys.stderr,
        )
    ensure_free(args.host, args.port)
    config: dict[str, Any] = {"orders_per_month": args.orders_per_month}
    if args.seed is not None:
        config["seed"] = args.seed
    if args.months:
        config["months"] = tuple(m.strip() for m in args.months.split(","))
    faults = Faults(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        rate_limit_every=args.rate_limit_every,
        retry_after=args.retry_after,
    )
    state = make_state(DataConfig(**config), faults)
    url = f"http://{args.host}:{args.port}"
    print(
        f"Rekon sandbox on {url} ({len(state.xepeng)} Xepeng, {len(state.durianpay)} "
        "Durianpay orders). Point Rekon at it with:"
    )
    print(f"  export XEPENG_BASE_URL={url} XEPENG_API_KEY={XEPENG_TEST_KEY}")
    print(f"  export DURIANPAY_BASE_URL={url} DURIANPAY_SERVER_KEY={DURIANPAY_TEST_KEY}")
    sys.stdout.flush()
    serve_forever(state, args.host, args.port)
    return 0


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProgressLine:
    """A one-line progress bar on a terminal; silent when stderr is not one."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and p.pages_done != p.pages_total):
            return
        self.last = now
        frac = p.fraction
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac)) if frac is not None else "…"
        total = f"/{p.pages_total}" if p.pages_total else ""
        sys.stderr.write(
            f"\r{p.provider:<10} [{bar}] pages {p.pages_done}{total}, orders {p.orders_done}   "
        )
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


@command("fetch")
def _fetch(args: argparse.Namespace, settings: Settings) -> int:
    from rekon.cli_recon import open_store
    from rekon.fetching import ClientOptions, fetch_orders, make_clients, parse_what
    from rekon.sandbox.data import sandbox_settings

    try:
        what = parse_what(args.what)
    except ValueError as exc:
        return _fail(f"--what {exc}")

    if args.sandbox_url:
        settings = sandbox_settings(settings, args.sandbox_url)
    if settings.sandbox:
        return _fail(
            "no provider is configured: set XEPENG_API_KEY / DURIANPAY_SERVER_KEY "
            "(see README), or pass --sandbox-url http://127.0.0.1:8700 for `rekon sandbox`"
        )
    clients = make_clients(settings, args.provider, ClientOptions(concurrency=args.concurrency))
    store = open_store(settings)
    bar = ProgressLine()
    try:
        summary = fetch_orders(
            store, clients, args.start, args.end, bar, by=settings.operator, what=what
        )
    finally:
        bar.done()
        for client in clients.values():
            client.close()
        store.close()
    print(summary.line())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
