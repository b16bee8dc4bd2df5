"""Reconciliation: orders against ledger lines, as set-based SQL in DuckDB.

Candidates are orders and ledger lines dated within [from − window, to + window]. Three tiers
claim pairs, each at most once per ledger line:
  1. the line's reference is an order's `order_id` or `payment_id`;
  2. the line's reference is an order's `merchant_ref` (trimmed, case-insensitive);
  3. lines with no reference at all: the same amount (within tolerance) on a paid, still
     unclaimed order within the date window, when exactly one candidate exists on each side
     among the closest in amount: an exact amount is a better candidate than one within the
     tolerance, and only equally good candidates make a line ambiguous. A line whose
     reference names no order is never matched on amount and date alone: its own reference
     contradicts the order's, so it is left for a person (missing in provider).
A line whose provider column names a provider ("Durianpay") says where it was paid: where its
reference names orders at both providers, that provider's order is the one it claims (tier 2
still prefers a paid order first), and tier 3 pairs it only with that provider's orders.
An order's first claim is its match; further claims are `duplicate_in_ledger`. A result
belongs to the period of its order's business date, or of its line's date when there is no
order, so a pair that straddles a month end is reported once, in the order's month.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from rekon.access import Actor, Role
from rekon.classes import RESULTS, SETTLEMENT_RESULTS, exception_count
from rekon.errors import RekonError
from rekon.locks import refuse_range_if_locked
from rekon.money import format_count
from rekon.periods import day_range
from rekon.providers.base import PROVIDER_TITLES
from rekon.rules import CLEARED_CLAIMS_SQL, EXCLUDED_LINES_SQL
from rekon.settlement_matching import (
    PAYMENTS_IN_REACH,
    PAYOUT_STEPS,
    PERIOD_PAYMENTS,
    RESULT_STEPS,
)
from rekon.settlement_matching import TEMP_TABLES as PAYOUT_TABLES
from rekon.settlements import LONGEST_DELAY_DAYS, SETTLE_HORIZON_DAYS
from rekon.store import Store, next_id, utc_now

# The reviewers' matches and breaks still in force (see pairing.py).
ACTIVE_SQL = """
    SELECT m.* FROM manual_matches m ANTI JOIN manual_match_removals r ON r.match_id = m.id
"""


class ReconcileError(RekonError):
    """The reconciliation could not run as asked."""


@dataclass(frozen=True)
class ReconcileParams:
    start: date
    end: date
    ledger_ids: tuple[int, ...] = ()  # empty: every imported ledger
    amount_tolerance: Decimal = Decimal("0")
    date_window: int = 3

    def check(self) -> None:
        if self.end < self.start:
            raise ReconcileError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.amount_tolerance < 0:
            raise ReconcileError("the amount tolerance cannot be negative")
        if not 0 <= self.date_window <= 31:
            raise ReconcileError("the date window must be between 0 and 31 days")


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    params: ReconcileParams
    counts: dict[str, int]
    seconds: float
    settlements: dict[str, int] = field(default_factory=dict)  # per settlement result

    @property
    def exceptions(self) -> int:
        return exception_count(self.counts)

    def lines(self) -> list[str]:
        head = (
            f"Reconciled {day_range(self.params.start, self.params.end)} as run {self.run_id} "
            f"in {self.seconds:.2f}s: {format_count(self.exceptions)} exceptions"
        )
        counts = [format_count(self.counts.get(name, 0)) for name in RESULTS]
        lines = [f"  {name:<20} {n:>9}" for name, n in zip(RESULTS, counts, strict=True)]
        if any(self.settlements.values()):
            lines.append(
                "  settlements: "
                + ", ".join(f"{k} {format_count(n)}" for k, n in self.settlements.items())
            )
        return [head, *lines]


def current_line(key: str, lines: str, alias: str = "l", join: str = "JOIN") -> str:
    """SQL that joins a line key (an expression like 'L:3:17') to the line it names now, as
    `alias` from `lines`: a line of a replaced ledger is found where its correction moved it
    (`ledger_line_moves`). With `join="LEFT JOIN"` a key whose line is gone is kept."""
    ledger = f"TRY_CAST(split_part({key}, ':', 2) AS BIGINT)"
    line = f"TRY_CAST(split_part({key}, ':', 3) AS BIGINT)"
    moved = f"{alias}_moved"
    return (
        f"LEFT JOIN ledger_line_moves {moved}"
        f" ON {moved}.ledger_id = {ledger} AND {moved}.line_no = {line}"
        f" {join} {lines} {alias} ON {alias}.ledger_id = coalesce({moved}.to_ledger, {ledger})"
        f" AND {alias}.line_no = coalesce({moved}.to_line, {line})"
    )


# Each statement below reads the temp tables the ones above it made; all run on one cursor
# inside one transaction, so a failure leaves no run behind. Inside a run an order is known by
# its rowid (`oid`) and a ledger line by its rowid (`lid`), so every join after the reference
# joins is on one integer. Tier 1 claims nearly everything; the few lines and orders it leaves
# are kept apart, so that later tiers and the write of the unmatched rows scan thousands of
# rows, not millions. A claim carries its order and line, so writing the results joins nothing.
STEPS: list[tuple[str, str]] = [
    (
        "rule manual: the reviewers' active matches whose every order and line is a candidate "
        "of this run, each row with its group",
        """
        CREATE OR REPLACE TEMP TABLE manual_orders AS
        SELECT m.id, o.oid, o.provider, o.order_id, o.amount, o.paid, o.business_date
        FROM ({active_manual}) m, unnest(m.order_keys) k(key)
        JOIN ({all_candidate_orders}) o ON k.key = 'O:' || o.provider || ':' || o.order_id
        WHERE m.kind = 'match'
        """,
    ),
    (
        "",
        """
        CREATE OR REPLACE TEMP TABLE manual_lines AS
        SELECT m.id, l.lid, l.ledger_id, l.line_no, l.entry_date, l.amount
        FROM ({active_manual}) m, unnest(m.line_keys) k(key)
        """
        + current_line("k.key", "({all_candidate_lines})")
        + """
        WHERE m.kind = 'match'
        """,
    ),
    (
        "a match applies only whole: one with a row outside this run's candidates (another "
        "period, a ledger not chosen) or gone is left out of it",
        """
        CREATE OR REPLACE TEMP TABLE manual_groups AS
        SELECT m.id, m.reason, o.n_orders, o.order_sum, o.all_paid, o.anchor,
               l.n_lines, l.line_sum
        FROM ({active_manual}) m
        JOIN (SELECT id, count(*) AS n_orders, sum(amount) AS order_sum,
                     bool_and(paid) AS all_paid, min(business_date) AS anchor
              FROM manual_orders GROUP BY id) o USING (id)
        JOIN (SELECT id, count(*) AS n_lines, sum(amount) AS line_sum
              FROM manual_lines GROUP BY id) l USING (id)
        WHERE o.n_orders = len(m.order_keys) AND l.n_lines = len(m.line_keys)
        """,
    ),
    ("", "DELETE FROM manual_orders WHERE id NOT IN (SELECT id FROM manual_groups)"),
    ("", "DELETE FROM manual_lines WHERE id NOT IN (SELECT id FROM manual_groups)"),
    (
        "the reviewers' breaks: pairs of a candidate order and line no tier may make",
        """
        CREATE OR REPLACE TEMP TABLE broken AS
        SELECT o.oid, l.lid
        FROM ({active_manual}) m
        JOIN ({all_candidate_orders}) o ON m.order_keys[1] = 'O:' || o.provider || ':' || o.order_id
        """
        + current_line("m.line_keys[1]", "({all_candidate_lines})")
        + """
        WHERE m.kind = 'break'
        """,
    ),
    (
        "tier 1: candidate lines against candidate orders on the order id, as one full join "
        "that also yields the lines and orders it left",
        """
        CREATE OR REPLACE TEMP TABLE tier1 AS
        SELECT l.lid, o.oid, 'order_id' AS rule, {pair_columns}, l.ref
        FROM ({candidate_lines}) l FULL JOIN ({candidate_orders}) o ON l.ref = o.order_id
        """,
    ),
    (
        "",
        """
        CREATE OR REPLACE TEMP TABLE claims AS
        SELECT * EXCLUDE (ref) FROM tier1
        ANTI JOIN broken USING (lid, oid)
        WHERE lid IS NOT NULL AND oid IS NOT NULL
        """,
    ),
    (
        "the lines and orders tier 1 left, and those of a pair a reviewer broke (unless "
        "another claim holds them)",
        """
        CREATE OR REPLACE TEMP TABLE free_lines AS
        SELECT lid, ledger_id, line_no, entry_date, ref, ledger_amount AS amount,
               {named} AS named
        FROM (
            SELECT * FROM tier1 WHERE oid IS NULL
            UNION ALL
            SELECT t.* FROM tier1 t SEMI JOIN broken USING (lid, oid)
            WHERE t.lid NOT IN (SELECT lid FROM claims)
        ) LEFT JOIN ({line_providers}) USING (lid)
        """,
    ),
    (
        "",
        """
        CREATE OR REPLACE TEMP TABLE free_orders AS
        SELECT oid, provider, order_id, order_amount AS amount, paid, business_date
        FROM tier1 WHERE lid IS NULL
        UNION ALL
        SELECT DISTINCT t.oid, t.provider, t.order_id, t.order_amount, t.paid, t.business_date
        FROM tier1 t SEMI JOIN broken USING (lid, oid)
        WHERE t.oid NOT IN (SELECT oid FROM claims)
        """,
    ),
    ("", "DROP TABLE tier1"),
    (
        "tier 1, second half: the lines left whose reference is a payment id (two equi-joins: "
        "an OR in one join condition is a nested loop)",
        """
        INSERT INTO claims
        SELECT l.lid, o.oid, 'payment_id', {pair_columns}
        FROM free_lines l JOIN ({candidate_orders}) o ON l.ref = o.payment_id
        ANTI JOIN broken b ON b.lid = l.lid AND b.oid = o.oid
        """,
    ),
    (
        "",
        "DELETE FROM free_lines WHERE lid IN (SELECT lid FROM claims WHERE rule = 'payment_id')",
    ),
    (
        "a reference that names several orders (an order id at both providers, or several "
        "payment ids) claims one: the provider the line names first, then order ids, then "
        "by provider",
        """
        CREATE OR REPLACE TEMP TABLE passed_over AS
        SELECT c.rowid AS claim, oid, provider, order_id, order_amount AS amount, paid,
               business_date
        FROM claims c
        SEMI JOIN (SELECT lid FROM claims GROUP BY lid HAVING count(*) > 1) USING (lid)
        LEFT JOIN ({line_providers}) p USING (lid)
        QUALIFY row_number() OVER (PARTITION BY lid
                                   ORDER BY coalesce({named} = c.provider, false) DESC,
                                            rule = 'order_id' DESC, provider) > 1
        """,
    ),
    ("", "DELETE FROM claims WHERE rowid IN (SELECT claim FROM passed_over)"),
    (
        "an order passed over, with no other claim, is free again",
        """
        INSERT INTO free_orders
        SELECT DISTINCT oid, provider, order_id, amount, paid, business_date FROM passed_over
        ANTI JOIN claims USING (oid) ANTI JOIN free_orders USING (oid)
        """,
    ),
    (
        "tier 2: the lines left whose reference is a merchant reference; where several "
        "orders share it a paid one wins, then one at the provider the line names, and a tie "
        "at the best rank is ambiguous",
        """
        CREATE OR REPLACE TEMP TABLE t2 AS
        WITH ranked AS (
            SELECT l.lid, o.oid, {pair_columns},
                   o.paid::INTEGER * 2 + coalesce(l.named = o.provider, false)::INTEGER
                       AS rank
            FROM free_lines l JOIN ({candidate_orders}) o
              ON upper(l.ref) = upper(trim(o.merchant_ref))
            ANTI JOIN broken b ON b.lid = l.lid AND b.oid = o.oid
            WHERE l.ref <> ''
        )
        SELECT *, count(*) OVER (PARTITION BY lid, rank) AS n_rank,
               max(rank) OVER (PARTITION BY lid) AS best
        FROM ranked
        """,
    ),
    (
        "",
        """
        INSERT INTO claims
        SELECT lid, oid, 'merchant_ref', provider, order_id, order_amount, paid,
               business_date, ledger_id, line_no, ledger_amount, entry_date
        FROM t2 WHERE rank = best AND n_rank = 1
        """,
    ),
    (
        "lines left ambiguous by tier 2: several equally good orders share the reference",
        """
        CREATE OR REPLACE TEMP TABLE ambiguous AS
        SELECT DISTINCT lid FROM t2 WHERE rank = best AND n_rank > 1
        """,
    ),
    (
        "what tiers 1 and 2 claimed is no longer free",
        "DELETE FROM free_lines WHERE lid IN (SELECT lid FROM claims WHERE rule = 'merchant_ref')",
    ),
    (
        "",
        """
        DELETE FROM free_orders WHERE oid IN (
            SELECT oid FROM claims WHERE rule IN ('payment_id', 'merchant_ref'))
        """,
    ),
    *PAYOUT_STEPS,
    (
        "tier 3 looks at the lines still unclaimed that carry no reference, and the paid orders "
        "still unclaimed: same amount (the gross, or the net of a known fee) within tolerance, "
        "dates within the window, and the line's provider when it names one",
        """
        CREATE OR REPLACE TEMP TABLE t3 AS
        WITH unclaimed_lines AS (
            SELECT lid, amount, entry_date, named FROM free_lines ANTI JOIN ambiguous USING (lid)
            WHERE coalesce(ref, '') = ''
        ), paid_orders AS (
            SELECT oid, provider, amount, business_date FROM free_orders WHERE paid
            UNION ALL
            SELECT f.oid, f.provider, p.net, f.business_date
            FROM free_orders f JOIN order_payouts p USING (oid)
            WHERE f.paid AND p.net <> f.amount
        )
        SELECT l.lid, o.oid, min(abs(l.amount - o.amount)) AS diff
        FROM unclaimed_lines l JOIN {pairing}
         AND (l.named IS NULL OR l.named = o.provider)
        ANTI JOIN broken b ON b.lid = l.lid AND b.oid = o.oid
        GROUP BY l.lid, o.oid
        """,
    ),
    (
        "a pair is claimed when each is the other's only closest candidate: an exact amount "
        "beats one within the tolerance, and only equally good candidates are ambiguous",
        """
        CREATE OR REPLACE TEMP TABLE t3_claims AS
        WITH closest AS (
            SELECT lid, oid, diff = min(diff) OVER (PARTITION BY lid) AS for_line,
                   diff = min(diff) OVER (PARTITION BY oid) AS for_order
            FROM t3
        ), counted AS (
            SELECT lid, oid, for_line, for_order,
                   sum(for_line::INTEGER) OVER (PARTITION BY lid) AS n_orders,
                   sum(for_order::INTEGER) OVER (PARTITION BY oid) AS n_lines
            FROM closest
        )
        SELECT lid, oid FROM counted
        WHERE for_line AND for_order AND n_orders = 1 AND n_lines = 1
        """,
    ),
    (
        "",
        """
        INSERT INTO claims
        SELECT lid, oid, 'amount_date', {pair_columns}
        FROM t3_claims JOIN free_orders o USING (oid) JOIN free_lines l USING (lid)
        """,
    ),
    (
        "",
        """
        INSERT INTO ambiguous
        SELECT DISTINCT lid FROM t3 ANTI JOIN t3_claims USING (lid)
        """,
    ),
    (
        "an order's first claim (by tier, then date) is its match; later claims are duplicates",
        """
        CREATE OR REPLACE TEMP TABLE duplicates AS
        SELECT lid FROM (
            SELECT lid, row_number() OVER (
                       PARTITION BY oid
                       ORDER BY CASE rule WHEN 'merchant_ref' THEN 2
                                          WHEN 'amount_date' THEN 3 ELSE 1 END,
                                entry_date, ledger_id, line_no) AS nth
            FROM claims
            SEMI JOIN (SELECT oid FROM claims GROUP BY oid HAVING count(*) > 1) USING (oid)
        ) WHERE nth > 1
        """,
    ),
    (
        "saved rules: lines left without an order that a rule says are not gateway sales, "
        "and pairs whose difference a rule says is a fee or rounding (the first rule wins)",
        "CREATE OR REPLACE TEMP TABLE excluded_lines AS {excluded_lines}",
    ),
    ("", "CREATE OR REPLACE TEMP TABLE cleared AS {cleared_claims}"),
    (
        "the orders a provider refunded: read once, for the refunds and the refunds not "
        "booked below",
        """
        CREATE OR REPLACE TEMP TABLE refunded_orders AS
        SELECT oid FROM {order_rows}
        WHERE status = 'refunded' AND business_date BETWEEN $lo AND $hi
        """,
    ),
    (
        "a refunded order whose sale and reversal are both booked (its claims net to zero "
        "within the tolerance) is one group, information rather than exceptions",
        """
        CREATE OR REPLACE TEMP TABLE refunds AS
        SELECT c.oid FROM claims c SEMI JOIN refunded_orders USING (oid)
        GROUP BY c.oid
        HAVING bool_or(c.ledger_amount > 0) AND bool_or(c.ledger_amount < 0)
           AND abs(sum(c.ledger_amount)) <= $tol
        """,
    ),
    (
        "every result, classified; kept when its anchor date falls in the period. A refund's "
        "further lines stand alone in its group; a refunded order booked without its "
        "reversal says so",
        """
        INSERT INTO recon_results (run_id, result, rule, provider, order_id, ledger_id,
                                   line_no, order_amount, ledger_amount, business_date,
                                   ledger_date, group_id, reason, fee, net_amount,
                                   settlement_id)
        SELECT $run, CASE WHEN f.oid IS NOT NULL THEN 'refunded'
                          WHEN d.lid IS NOT NULL THEN 'duplicate_in_ledger'
                          WHEN NOT c.paid THEN 'status_mismatch'
                          WHEN abs(c.ledger_amount - c.order_amount) <= $tol THEN 'matched'
                          WHEN abs(c.ledger_amount - op.net) <= $tol THEN 'matched'
                          WHEN cl.lid IS NOT NULL THEN 'matched'
                          ELSE 'amount_mismatch' END,
               CASE WHEN d.lid IS NULL AND cl.lid IS NOT NULL THEN cl.rule_name ELSE c.rule END,
               CASE WHEN f.oid IS NULL OR d.lid IS NULL THEN c.provider END,
               CASE WHEN f.oid IS NULL OR d.lid IS NULL THEN c.order_id END,
               c.ledger_id, c.line_no,
               CASE WHEN f.oid IS NULL OR d.lid IS NULL THEN c.order_amount END,
               c.ledger_amount, c.business_date, c.entry_date,
               CASE WHEN f.oid IS NOT NULL THEN -1 - c.oid END,
               CASE WHEN f.oid IS NOT NULL THEN 'refund'
                    WHEN r.oid IS NOT NULL AND d.lid IS NULL THEN 'refund not booked'
                    WHEN d.lid IS NULL AND cl.lid IS NOT NULL THEN cl.reason
                    WHEN d.lid IS NULL AND c.paid
                         AND abs(c.ledger_amount - c.order_amount) > $tol
                         AND abs(c.ledger_amount - op.net) <= $tol THEN 'fee' END,
               CASE WHEN d.lid IS NULL THEN op.fee END,
               CASE WHEN d.lid IS NULL THEN op.net END,
               CASE WHEN d.lid IS NULL THEN op.settlement_id END
        FROM claims c LEFT JOIN duplicates d USING (lid) LEFT JOIN refunds f USING (oid)
        LEFT JOIN cleared cl USING (lid)
        LEFT JOIN refunded_orders r USING (oid)
        LEFT JOIN order_payouts op USING (oid)
        WHERE c.business_date BETWEEN $start AND $end
        UNION ALL
        SELECT $run,
               CASE WHEN NOT o.paid THEN 'unpaid'
                    WHEN op.oid IS NOT NULL OR cv.provider IS NULL
                         OR o.business_date < cv.covered_from THEN 'missing_in_ledger'
                    WHEN o.business_date + $delay > cv.covered_to THEN 'awaiting_settlement'
                    ELSE 'settlement_late' END, NULL,
               o.provider, o.order_id, NULL, NULL, o.amount, NULL, o.business_date, NULL,
               NULL, NULL, op.fee, op.net, op.settlement_id
        FROM free_orders o ANTI JOIN t3_claims USING (oid)
        LEFT JOIN order_payouts op USING (oid) LEFT JOIN coverage cv ON cv.provider = o.provider
        WHERE o.business_date BETWEEN $start AND $end
        UNION ALL
        SELECT $run, CASE WHEN a.lid IS NOT NULL THEN 'ambiguous'
                          WHEN e.lid IS NOT NULL THEN 'excluded'
                          ELSE 'missing_in_provider' END,
               CASE WHEN a.lid IS NULL THEN e.rule_name END, NULL, NULL, l.ledger_id,
               l.line_no, NULL, l.amount, NULL, l.entry_date, NULL, NULL, NULL, NULL, NULL
        FROM free_lines l ANTI JOIN t3_claims USING (lid) LEFT JOIN ambiguous a USING (lid)
        LEFT JOIN excluded_lines e USING (lid)
        WHERE l.entry_date BETWEEN $start AND $end
        """,
    ),
    (
        "the manual groups: a pair is one row; a group is a row per order and per line, tied "
        "by the group, classed by its sums (an order not paid makes it a status mismatch), "
        "and kept in the period of its first order",
        """
        INSERT INTO recon_results (run_id, result, rule, provider, order_id, ledger_id,
                                   line_no, order_amount, ledger_amount, business_date,
                                   ledger_date, group_id, reason)
        WITH classed AS (
            SELECT id, reason, n_orders, n_lines, anchor,
                   CASE WHEN NOT all_paid THEN 'status_mismatch'
                        WHEN abs(line_sum - order_sum) <= $tol THEN 'matched'
                        ELSE 'amount_mismatch' END AS result
            FROM manual_groups WHERE anchor BETWEEN $start AND $end
        )
        SELECT $run, g.result, 'manual', o.provider, o.order_id, l.ledger_id, l.line_no,
               o.amount, l.amount, o.business_date, l.entry_date, g.id, g.reason
        FROM classed g JOIN manual_orders o USING (id) JOIN manual_lines l USING (id)
        WHERE g.n_orders = 1 AND g.n_lines = 1
        UNION ALL
        SELECT $run, g.result, 'manual', o.provider, o.order_id, NULL, NULL, o.amount, NULL,
               o.business_date, NULL, g.id, g.reason
        FROM classed g JOIN manual_orders o USING (id) WHERE g.n_orders + g.n_lines > 2
        UNION ALL
        SELECT $run, g.result, 'manual', NULL, NULL, l.ledger_id, l.line_no, NULL, l.amount,
               NULL, l.entry_date, g.id, g.reason
        FROM classed g JOIN manual_lines l USING (id) WHERE g.n_orders + g.n_lines > 2
        """,
    ),
    *RESULT_STEPS,
]
# The candidates: orders and ledger lines dated within the period and its window; the tiers
# see those no manual match holds.
ALL_CANDIDATE_ORDERS = """
    SELECT oid, provider, order_id, payment_id, merchant_ref, amount,
           status = 'paid' AS paid, business_date
    FROM {order_rows} WHERE business_date BETWEEN $lo AND $hi"""
ALL_CANDIDATE_LINES = """
    SELECT lid, ledger_id, line_no, entry_date, trim(reference) AS ref, amount
    FROM {line_rows}
    WHERE entry_date BETWEEN $lo AND $hi
      AND (len($ledgers) = 0 OR list_contains($ledgers, ledger_id))"""
CANDIDATE_ORDERS = ALL_CANDIDATE_ORDERS + " AND oid NOT IN (SELECT oid FROM manual_orders)"
CANDIDATE_LINES = ALL_CANDIDATE_LINES + " AND lid NOT IN (SELECT lid FROM manual_lines)"
# The provider a ledger line names, when its provider column names one Rekon knows
# ("Durianpay", "durian pay"); anything else names none. Looked up by row id for the few
# lines that need it (those tier 1 left, or whose reference names several orders), never
# carried through tier 1's full join.
LINE_PROVIDERS = "SELECT lid, provider AS line_provider FROM {line_rows} WHERE provider <> ''"
# How a run knows an order and a line by one integer: DuckDB's rowid in the file. PostgreSQL's
# tables have no rowid DuckDB can read, so there the period's orders are numbered into a temp
# table first (NUMBER_ORDERS), and a line is known by its ledger and line number.
FILE_ROWS = {
    "{order_rows}": "(SELECT rowid AS oid, * FROM orders)",
    "{line_rows}": "(SELECT rowid AS lid, * FROM ledger_lines)",
}
SHARED_ROWS = {"{order_rows}": "order_rows", "{line_rows}": "line_rows"}
# Read once from PostgreSQL into the run's own temp tables, rather than once per tier: only
# the period and its window, which is all a run reads of either.
NUMBER_ORDERS = """
    CREATE OR REPLACE TEMP TABLE order_rows AS
    SELECT row_number() OVER () AS oid, provider, order_id, payment_id, merchant_ref, amount,
           status, business_date
    FROM orders WHERE business_date BETWEEN $lo AND $hi"""
NUMBER_LINES = """
    CREATE OR REPLACE TEMP TABLE line_rows AS
    SELECT ledger_id * 4294967296 + line_no AS lid, *
    FROM ledger_lines WHERE entry_date BETWEEN $lo AND $deposits_to"""
NAMED_PROVIDER = (
    "CASE WHEN replace(lower(line_provider), ' ', '') IN ("
    + ", ".join(f"'{name}'" for name in PROVIDER_TITLES)
    + ") THEN replace(lower(line_provider), ' ', '') END"
)
# What a claim carries of its order and line.
PAIR_COLUMNS = """o.provider, o.order_id, o.amount AS order_amount, o.paid, o.business_date,
                  l.ledger_id, l.line_no, l.amount AS ledger_amount, l.entry_date"""
TEMP_TABLES = ("claims", "free_lines", "free_orders", "passed_over", "t2", "ambiguous", "t3",
               "t3_claims", "duplicates", "manual_orders", "manual_lines", "manual_groups",
               "broken", "refunded_orders", "refunds", "excluded_lines", "cleared",
               "order_rows", "line_rows", *PAYOUT_TABLES)  # fmt: skip


def render(template: str, tolerance: Decimal, shared: bool = False) -> str:
    """A step's SQL with its shared fragments in place; `shared`: for a PostgreSQL store."""
    sql = (
        template.replace("{all_candidate_orders}", ALL_CANDIDATE_ORDERS)
        .replace("{all_candidate_lines}", ALL_CANDIDATE_LINES)
        .replace("{active_manual}", ACTIVE_SQL)
        .replace("{excluded_lines}", EXCLUDED_LINES_SQL)
        .replace("{cleared_claims}", CLEARED_CLAIMS_SQL)
        .replace("{candidate_orders}", CANDIDATE_ORDERS)
        .replace("{candidate_lines}", CANDIDATE_LINES)
        .replace("{pair_columns}", PAIR_COLUMNS)
        .replace("{pairing}", tier3_pairing(tolerance))
        .replace("{line_providers}", LINE_PROVIDERS)
        .replace("{named}", NAMED_PROVIDER)
        .replace("{payments}", "period_payments" if shared else f"({PAYMENTS_IN_REACH})")
    )
    for fragment, rows in (SHARED_ROWS if shared else FILE_ROWS).items():
        sql = sql.replace(fragment, rows)
    return sql


def tier3_pairing(tolerance: Decimal) -> str:
    """Tier 3's join of free lines to free orders: same amount, dates within the window."""
    if tolerance == 0:
        # One hash join on (amount, date): each order stands on every day of its window.
        # Joining on the amount alone would pair every line with every order of a common
        # amount (round amounts are common) and filter the dates afterwards.
        return """(SELECT oid, provider, amount, business_date + d::INTEGER AS on_date
                   FROM paid_orders, range(-$window, $window + 1) AS w(d)) o
                  ON l.amount = o.amount AND l.entry_date = o.on_date"""
    # A tolerance needs a range join on the amount, which DuckDB runs far slower.
    return """paid_orders o
              ON l.amount BETWEEN o.amount - $tol AND o.amount + $tol
             AND l.entry_date BETWEEN o.business_date - $window AND o.business_date + $window"""


def reconcile(store: Store, params: ReconcileParams, by: Actor) -> RunSummary:
    """Run one reconciliation and store it with every result; returns counts per class.
    Raises ReconcileError, PeriodLocked (the period overlaps a signed-off one) or AccessDenied."""
    by.require(Role.REVIEWER, "run a reconciliation")
    params.check()
    began = time.perf_counter()
    ledgers = list(params.ledger_ids)
    known = {int(i) for i in store.query("SELECT id FROM ledgers")["id"]}
    if not known:
        # Against no ledger every paid order would read as missing from the books.
        raise ReconcileError(
            "no ledger has been imported yet: import the period's ledger first "
            "(the Ledger page, or `rekon ledger import FILE`)"
        )
    if missing := sorted(set(ledgers) - known):
        raise ReconcileError(f"no ledger with id {', '.join(map(str, missing))}")
    window = timedelta(days=params.date_window)
    values = {
        "lo": params.start - window,
        "hi": params.end + window,
        "start": params.start,
        "end": params.end,
        "ledgers": ledgers,
        "tol": params.amount_tolerance,
        "window": params.date_window,
        # Payouts: read from the day before the window to a day past the horizon after it;
        # deposits dated up to the horizon after the window.
        "payouts_from": params.start - window - timedelta(days=1),
        "payouts_to": params.end + window + timedelta(days=SETTLE_HORIZON_DAYS + 2),
        "deposits_to": params.end + window + timedelta(days=SETTLE_HORIZON_DAYS),
        "delay": LONGEST_DELAY_DAYS,
    }
    with store.write() as cur:
        refuse_range_if_locked(cur, params.start, params.end, "running a reconciliation")
        run_id = next_id(cur, "recon_run_id")
        cur.execute(
            "INSERT INTO recon_runs (id, period_from, period_to, ledger_ids, amount_tolerance,"
            " date_window, started_at, run_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                params.start,
                params.end,
                ledgers,
                params.amount_tolerance,
                params.date_window,
                utc_now(),
                by.name,
            ],
        )
        shared_only = [("", NUMBER_ORDERS), ("", NUMBER_LINES), ("", PERIOD_PAYMENTS)]
        steps = (shared_only if store.shared else []) + STEPS
        for _, template in steps:
            sql = render(template, params.amount_tolerance, store.shared)
            used = {k: v for k, v in (values | {"run": run_id}).items() if f"${k}" in sql}
            cur.execute(sql, used)
        found = dict(
            cur.execute(
                "SELECT result, count(*) FROM recon_results WHERE run_id = ? GROUP BY result",
                [run_id],
            ).fetchall()
        )
        counts = {name: int(found.get(name, 0)) for name in RESULTS}
        judged = dict(
            cur.execute(
                "SELECT result, count(*) FROM settlement_results WHERE run_id = ? GROUP BY result",
                [run_id],
            ).fetchall()
        )
        payouts = {name: int(judged.get(name, 0)) for name in SETTLEMENT_RESULTS}
        cur.execute(
            "UPDATE recon_runs SET finished_at = ?, counts = ? WHERE id = ?",
            [utc_now(), json.dumps(counts), run_id],
        )
        store.audit(cur, by.name, "run", f"run:{run_id}", json.dumps(
            {"from": params.start.isoformat(), "to": params.end.isoformat(),
             "ledgers": ledgers, "counts": counts, "settlements": payouts}))  # fmt: skip
        for table in TEMP_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    return RunSummary(run_id, params, counts, time.perf_counter() - began, payouts)


def latest_run(store: Store) -> int | None:
    value = store.scalar("SELECT max(id) FROM recon_runs WHERE finished_at IS NOT NULL")
    return None if value is None else int(value)


def resolve_run(store: Store, run: str | int | None) -> int:
    """A run id from 'latest', a number, or None; raises ReconcileError if there is none."""
    if run in (None, "latest"):
        found = latest_run(store)
        if found is None:
            raise ReconcileError("there is no reconciliation run yet: run `rekon reconcile`")
        return found
    try:
        run_id = int(run)
    except ValueError as exc:
        raise ReconcileError(f"{run!r} is not a run id or 'latest'") from exc
    if store.scalar("SELECT count(*) FROM recon_runs WHERE id = ?", [run_id]) == 0:
        raise ReconcileError(f"there is no reconciliation run {run_id}")
    return run_id


def run_params(store: Store, run_id: int) -> ReconcileParams:
    row = store.query(
        "SELECT period_from, period_to, ledger_ids, amount_tolerance, date_window"
        " FROM recon_runs WHERE id = ?",
        [run_id],
    ).row(0)
    return ReconcileParams(row[0], row[1], tuple(row[2] or ()), Decimal(row[3]), int(row[4]))
