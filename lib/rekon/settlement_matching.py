"""The reconciliation's payout steps: orders find their settlement, ledger lines that are a
settlement's deposit take its orders as one group, and each settlement is judged on its own.

Run inside `matching.reconcile`'s transaction, between its tiers (see STEPS there): after the
reference tiers have claimed what names an order, before amounts and dates pair the rest. A
deposit is found by its reference naming the settlement, or by its amount equal to the
settlement's net amount dated within the window of its settlement date — the latter only where
one line and one settlement are each other's only candidate. The payments read are those settled
from the day before the run's window to `SETTLE_HORIZON_DAYS` (and a day) after it.
"""

from __future__ import annotations

from rekon.fee_rates import CURRENT_RATES_SQL, EXPECTED_FEE_SQL

# A settlement group's id: below every refund's (−1 − an order's row number), never a manual
# match's (positive).
SETTLEMENT_GROUP_BASE = -(10**15)

# The payments of payouts settled within the run's reach, each known by an integer (`pid`):
# read in place from the file (its rowid), and copied once from PostgreSQL (PERIOD_PAYMENTS),
# numbered, like the orders and lines.
_IN_REACH = """
    FROM settlement_payments
    WHERE settled_at >= CAST($payouts_from AS TIMESTAMP)
      AND settled_at < CAST($payouts_to AS TIMESTAMP)"""
_PAYMENT_COLUMNS = (
    "provider, settlement_id, payment_id, order_id, gross, fee, net, method, settled_at"
)
PAYMENTS_IN_REACH = f"SELECT rowid AS pid, {_PAYMENT_COLUMNS} {_IN_REACH}"
PERIOD_PAYMENTS = (
    "CREATE OR REPLACE TEMP TABLE period_payments AS"
    f" SELECT row_number() OVER () AS pid, {_PAYMENT_COLUMNS} {_IN_REACH}"
)

PAYOUT_STEPS: list[tuple[str, str]] = [
    (
        "each candidate order's payment in a payout, by payment id: one at most, as a payment "
        "is stored in its latest payout only (see settlements.land)",
        """
        CREATE OR REPLACE TEMP TABLE order_payouts AS
        SELECT o.oid, o.business_date, p.pid, p.provider, p.settlement_id, p.fee, p.net
        FROM ({all_candidate_orders}) o JOIN {payments} p
          ON p.provider = o.provider AND p.payment_id = o.payment_id
        """,
    ),
    (
        "else by order id: the few payments no payment id placed, against the orders still "
        "without one (the latest payout where an order id names several)",
        """
        CREATE OR REPLACE TEMP TABLE unplaced AS
        SELECT * FROM {payments} ANTI JOIN order_payouts USING (pid)
        """,
    ),
    (
        "",
        """
        INSERT INTO order_payouts
        SELECT o.oid, o.business_date, p.pid, p.provider, p.settlement_id, p.fee, p.net
        FROM unplaced p JOIN ({all_candidate_orders}) o
          ON p.provider = o.provider AND p.order_id = o.order_id
        ANTI JOIN order_payouts q ON q.oid = o.oid
        QUALIFY row_number() OVER (PARTITION BY o.oid
                                   ORDER BY p.settled_at DESC, p.settlement_id) = 1
        """,
    ),
    (
        "the settlements holding a candidate order, each in the period of its first order",
        """
        CREATE OR REPLACE TEMP TABLE run_settlements AS
        SELECT s.provider, s.settlement_id, s.settled_at, s.settled_date, s.gross, s.fee,
               s.net, a.anchor
        FROM settlements s
        JOIN (SELECT provider, settlement_id, min(business_date) AS anchor
              FROM order_payouts GROUP BY ALL) a USING (provider, settlement_id)
        """,
    ),
    (
        "lines that may be a deposit: those the reference tiers left, and those dated after "
        "the window up to the horizon (a month's last payouts land in the next)",
        """
        CREATE OR REPLACE TEMP TABLE deposit_lines AS
        SELECT lid, ledger_id, line_no, entry_date, ref, amount
        FROM free_lines ANTI JOIN ambiguous USING (lid)
        UNION ALL
        SELECT lid, ledger_id, line_no, entry_date, trim(reference), amount FROM {line_rows}
        WHERE entry_date > $hi AND entry_date <= $deposits_to
          AND (len($ledgers) = 0 OR list_contains($ledgers, ledger_id))
        """,
    ),
    (
        "deposits: a line naming a settlement (its first such line), else a line and a "
        "settlement each other's only candidate on the net amount within the window",
        f"""
        CREATE OR REPLACE TEMP TABLE deposits AS
        WITH by_ref AS (
            SELECT l.lid, l.ledger_id, l.line_no, l.entry_date, l.amount, s.provider,
                   s.settlement_id
            FROM deposit_lines l JOIN run_settlements s ON upper(l.ref) = upper(s.settlement_id)
            QUALIFY row_number() OVER (PARTITION BY s.provider, s.settlement_id
                                       ORDER BY l.entry_date, l.ledger_id, l.line_no) = 1
        ), open_settlements AS (
            SELECT * FROM run_settlements ANTI JOIN by_ref USING (provider, settlement_id)
        ), by_amount AS (
            SELECT l.lid, l.ledger_id, l.line_no, l.entry_date, l.amount, s.provider,
                   s.settlement_id,
                   count(*) OVER (PARTITION BY l.lid) AS n_settlements,
                   count(*) OVER (PARTITION BY s.provider, s.settlement_id) AS n_lines
            FROM deposit_lines l JOIN open_settlements s ON l.amount = s.net
             AND l.entry_date BETWEEN s.settled_date - $window AND s.settled_date + $window
            WHERE l.lid NOT IN (SELECT lid FROM by_ref)
        )
        SELECT *, {SETTLEMENT_GROUP_BASE} - row_number() OVER (ORDER BY provider, settlement_id)
                  AS group_id
        FROM (SELECT * FROM by_ref
              UNION ALL
              SELECT * EXCLUDE (n_settlements, n_lines) FROM by_amount
              WHERE n_settlements = 1 AND n_lines = 1)
        """,
    ),
    (
        "a deposited settlement's orders that no reference claimed are its group",
        """
        CREATE OR REPLACE TEMP TABLE settled_orders AS
        SELECT f.oid, f.provider, f.order_id, f.amount, f.paid, f.business_date, d.group_id,
               p.settlement_id, p.fee, p.net
        FROM (SELECT DISTINCT * FROM free_orders) f JOIN order_payouts p USING (oid)
        JOIN deposits d ON d.provider = p.provider AND d.settlement_id = p.settlement_id
        """,
    ),
    ("", "DELETE FROM free_orders WHERE oid IN (SELECT oid FROM settled_orders)"),
    ("", "DELETE FROM free_lines WHERE lid IN (SELECT lid FROM deposits)"),
    (
        "how far each provider's payouts are known: an order without one is overdue only "
        "where its due date is covered",
        """
        CREATE OR REPLACE TEMP TABLE coverage AS
        SELECT provider, min(covered_from) AS covered_from, max(covered_to) AS covered_to
        FROM settlement_sources GROUP BY provider
        """,
    ),
]


def _expected(rate: str) -> str:
    return EXPECTED_FEE_SQL.format(gross="p.gross", rate=rate)


# After the results: the settlement groups, then a row per settlement of the period.
RESULT_STEPS: list[tuple[str, str]] = [
    (
        "the settlement groups: a row per order, in its own period as every order is, and one "
        "for the deposit in the settlement's; the fee as the reason the sums differ",
        """
        INSERT INTO recon_results (run_id, result, rule, provider, order_id, ledger_id,
                                   line_no, order_amount, ledger_amount, business_date,
                                   ledger_date, group_id, reason, fee, net_amount,
                                   settlement_id)
        SELECT $run, CASE WHEN s.paid THEN 'matched' ELSE 'status_mismatch' END, 'settlement',
               s.provider, s.order_id, NULL, NULL, s.amount, NULL, s.business_date, NULL,
               s.group_id, CASE WHEN r.fee <> 0 THEN 'fee' END, s.fee, s.net, s.settlement_id
        FROM settled_orders s JOIN run_settlements r USING (provider, settlement_id)
        WHERE s.business_date BETWEEN $start AND $end
        UNION ALL
        SELECT $run, 'matched', 'settlement', NULL, NULL, d.ledger_id, d.line_no, NULL,
               d.amount, r.anchor, d.entry_date, d.group_id,
               CASE WHEN r.fee <> 0 THEN 'fee' END, r.fee, r.net, d.settlement_id
        FROM deposits d JOIN run_settlements r USING (provider, settlement_id)
        WHERE r.anchor BETWEEN $start AND $end
        """,
    ),
    (
        "each settlement of the period: settled (its deposit found), missing from the books, "
        "or charged above the rate card by more than a rupiah on a payment (which wins)",
        f"""
        INSERT INTO settlement_results (run_id, provider, settlement_id, settled_at, gross, fee,
            net, orders, result, ledger_id, line_no, expected_fee, overcharged,
            overcharged_payments, anchor_date)
        WITH card AS ({CURRENT_RATES_SQL}),
        paid AS (
            SELECT p.* FROM {{payments}} p SEMI JOIN run_settlements r
                USING (provider, settlement_id)
        ),
        -- the rate of each method paid: its own, else its provider's *; one small table
        rate AS (
            SELECT DISTINCT ON (p.provider, p.method) p.provider, p.method, c.percent,
                   c.fixed, c.vat
            FROM (SELECT DISTINCT provider, method FROM paid) p
            JOIN card c ON c.provider = p.provider AND (c.method = p.method OR c.method = '*')
            ORDER BY p.provider, p.method, c.method = '*'
        ),
        checked AS (
            SELECT p.provider, p.settlement_id, coalesce(p.payment_id, p.order_id) AS payment,
                   p.fee, {_expected("r")} AS expected
            FROM paid p LEFT JOIN rate r
              ON r.provider = p.provider AND r.method IS NOT DISTINCT FROM p.method
        ), per AS (
            SELECT provider, settlement_id, count(*) AS orders,
                   CASE WHEN count(expected) = count(*) THEN sum(expected) END AS expected_fee,
                   sum(fee - expected) FILTER (WHERE fee - expected > 1) AS overcharged,
                   list(payment ORDER BY payment) FILTER (WHERE fee - expected > 1)
                       AS overcharged_payments
            FROM checked GROUP BY ALL
        )
        SELECT $run, r.provider, r.settlement_id, r.settled_at, r.gross, r.fee, r.net,
               p.orders,
               CASE WHEN p.overcharged IS NOT NULL THEN 'fee_mismatch'
                    WHEN d.lid IS NOT NULL THEN 'settled'
                    ELSE 'settlement_missing_in_ledger' END,
               d.ledger_id, d.line_no, p.expected_fee, p.overcharged, p.overcharged_payments,
               r.anchor
        FROM run_settlements r JOIN per p USING (provider, settlement_id)
        LEFT JOIN deposits d USING (provider, settlement_id)
        WHERE r.anchor BETWEEN $start AND $end
        """,
    ),
]
TEMP_TABLES = ("period_payments", "order_payouts", "unplaced", "run_settlements", "deposit_lines",
               "deposits", "settled_orders", "coverage")  # fmt: skip
