"""Suggested matches for a run's leftovers, each with a score (0–100) and the evidence behind
it, field by field. A suggestion changes nothing until a reviewer accepts it (it then becomes
a manual match) or declines it (it is never suggested again).

Three shapes are proposed:
- a pair: a leftover line and a leftover paid order within the run's date window whose
  amounts are equal, within the tolerance, or within 1 % (a fee; in a crowd of orders of
  about that amount, only with an order whose reference ends in the line's number);
- a daily deposit: a line whose amount equals the sum of one provider's leftover paid orders
  of one business day, booked within the window after it;
- a handful: two of one provider's leftover orders within the window that add up to a line
  nothing else explains (a bounded search, see _HANDFUL_SQL).
Scores add up what agrees (see SCORE_SQL); a line that names another provider is never paired.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rekon import pairing
from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.matching import run_params
from rekon.names import PROVIDER_TITLES
from rekon.store import Store, utc_now

# An order no line booked: missing, or without its payout (awaited or late).
LEFTOVER_ORDERS = ("missing_in_ledger", "settlement_late", "awaiting_settlement")
LEFTOVER_LINES = ("missing_in_provider", "ambiguous")
# Bulk acceptance needs every field to agree: the amount exact, the reference at least this
# alike, the dates within the window. Never the amount alone.
AGREEING_REFERENCE = 0.95


class SuggestionError(RekonError):
    """A suggestion could not be accepted or declined as asked."""


@dataclass(frozen=True)
class Suggestion:
    score: int
    orders: tuple[str, ...]
    lines: tuple[str, ...]
    evidence: str
    difference: Decimal
    agrees: bool  # every field agrees: a bulk accept may take it

    def line(self) -> str:
        """One line for `rekon suggest`: the score, the keys, the evidence in words."""
        return (
            f"{self.score:>3}  {', '.join(self.orders)} ↔ {', '.join(self.lines)}  {self.evidence}"
        )


# The run's leftovers, with what the evidence compares. A line's reference and an order's
# merchant reference (else its id) are compared as upper-case letters and digits only.
_LEFTOVERS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE s_orders AS
    SELECT 'O:' || r.provider || ':' || r.order_id AS key, r.provider, o.amount,
           r.business_date AS day,
           regexp_replace(upper(coalesce(o.merchant_ref, o.order_id)), '[^A-Z0-9]', '', 'g')
               AS ref,
           lower(coalesce(o.customer_name, '')) AS name
    FROM recon_results r JOIN orders o USING (provider, order_id)
    WHERE r.run_id = $run AND r.result IN {LEFTOVER_ORDERS};
    CREATE OR REPLACE TEMP TABLE s_lines AS
    SELECT 'L:' || r.ledger_id || ':' || r.line_no AS key, l.amount, l.entry_date AS day,
           regexp_replace(upper(coalesce(l.reference, '')), '[^A-Z0-9]', '', 'g') AS ref,
           lower(coalesce(l.description, '')) AS description,
           CASE WHEN replace(lower(coalesce(l.provider, '')), ' ', '') IN
                     ({", ".join(f"'{p}'" for p in PROVIDER_TITLES)})
                THEN replace(lower(l.provider), ' ', '') END AS named
    FROM recon_results r JOIN ledger_lines l USING (ledger_id, line_no)
    WHERE r.run_id = $run AND r.result IN {LEFTOVER_LINES};
"""
# What the pairing joins on, for the leftovers with an amount: integer ids (an order's in key
# order, for ties), the amount's bucket the tolerance wide and 1.1 % wide (so a 1 % gap spans
# one), and the number the reference ends in.
_BUCKETS_SQL = """
    CREATE OR REPLACE TEMP TABLE s_order_buckets AS
    SELECT row_number() OVER (ORDER BY key) AS oid, key, day, provider,
           floor(amount / $width)::BIGINT AS ab, floor(ln(amount) / ln(1.011))::BIGINT AS rb,
           nullif(regexp_extract(ref, '([0-9]+)$', 1), '') AS tail
    FROM s_orders WHERE amount > 0;
    CREATE OR REPLACE TEMP TABLE s_line_buckets AS
    SELECT row_number() OVER (ORDER BY key) AS lid, key, day, named,
           floor(amount / $width)::BIGINT AS ab, floor(ln(amount) / ln(1.011))::BIGINT AS rb,
           nullif(regexp_extract(ref, '([0-9]+)$', 1), '') AS tail
    FROM s_lines WHERE amount > 0;
"""
# Pairs. Within the tolerance: a hash join on (day, amount bucket) — each leftover line stands
# on every day of its window and looks in its bucket and both neighbours — so a line meets
# only orders of about its amount, never every order of its day. Within 1 % (a fee): the same
# on 1 %-wide buckets, except for a line in a crowd (more than CROWD orders within 1 % and
# the window, as in a busy month where thousands of orders share a handful of prices): there,
# amount and date say nothing, so it meets only orders whose reference ends in the same
# number. Exact bands are checked afterwards. Only lines are widened, and only as integers.
# Points: amount 40 exact / 30 within the tolerance / 15 within 1 %; date 20 on the day, 3
# fewer a day apart; reference up to 25 by similarity (nothing when the line has none); the
# customer's name in the description up to 10; 5 when the line names the order's provider.
# Each line keeps its best three, ties to the first order by key, by a grouped top-3 rather
# than a window, so memory stays bounded by the lines.
CROWD = 200
_PAIRS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE s_pairs AS
    WITH line_days AS (
        SELECT l.lid, l.day + d::INTEGER AS on_day, l.ab + b AS ab, l.rb + b AS rb
        FROM s_line_buckets l, range(-$window, $window + 1) w(d), range(-1, 2) k(b)
    ), crowded AS (
        SELECT l.lid FROM line_days l
        JOIN (SELECT day, rb, count(*) AS n FROM s_order_buckets GROUP BY ALL) c
          ON c.day = l.on_day AND c.rb = l.rb
        GROUP BY l.lid HAVING sum(c.n) > {CROWD}
    ), met AS (
        SELECT l.lid, o.oid, 0 AS tier FROM line_days l
        JOIN s_order_buckets o ON o.day = l.on_day AND o.ab = l.ab
        UNION ALL  -- beyond the tolerance, within 1 %
        SELECT l.lid, o.oid, 1 FROM line_days l ANTI JOIN crowded c ON c.lid = l.lid
        JOIN s_order_buckets o ON o.day = l.on_day AND o.rb = l.rb
        UNION ALL
        SELECT l.lid, o.oid, 1 FROM s_line_buckets l SEMI JOIN crowded c ON c.lid = l.lid
        JOIN s_order_buckets o ON o.tail = l.tail
        WHERE abs(date_diff('day', o.day, l.day)) <= $window
    ), pairs AS (
        SELECT lb.key AS line_key, m.oid, ob.key AS order_key, l.amount - o.amount AS difference,
               abs(date_diff('day', o.day, l.day)) AS days,
               CASE WHEN l.ref = '' THEN NULL
                    ELSE jaro_winkler_similarity(l.ref, o.ref) END AS ref_alike,
               CASE WHEN o.name = '' OR l.description = '' THEN NULL
                    ELSE jaro_winkler_similarity(o.name, l.description) END AS name_alike,
               coalesce(l.named = o.provider, false) AS provider_named, o.provider
        FROM met m
        JOIN s_line_buckets lb ON lb.lid = m.lid JOIN s_lines l ON l.key = lb.key
        JOIN s_order_buckets ob ON ob.oid = m.oid JOIN s_orders o ON o.key = ob.key
        WHERE (l.named IS NULL OR l.named = o.provider)
          AND CASE WHEN m.tier = 0 THEN abs(l.amount - o.amount) <= $tol
                   ELSE abs(l.amount - o.amount) > $tol
                        AND abs(l.amount - o.amount) <= abs(o.amount) / 100 END
    ), scored AS (
        SELECT *, least(100,
                   CASE WHEN difference = 0 THEN 40 WHEN abs(difference) <= $tol THEN 30
                        ELSE 15 END
                   + greatest(0, 20 - 3 * days)
                   + coalesce(round(25 * ref_alike), 0)
                   + coalesce(round(10 * name_alike), 0)
                   + CASE WHEN provider_named THEN 5 ELSE 0 END)::INTEGER AS score
        FROM pairs
    ), best AS (
        SELECT line_key,
               max_by({{'order_keys': [order_key], 'difference': difference, 'days': days,
                       'ref_alike': ref_alike, 'name_alike': name_alike,
                       'provider_named': provider_named, 'provider': provider,
                       'score': score}},
                      score::BIGINT * 4294967296 - oid, 3) AS top
        FROM scored GROUP BY line_key
    )
    SELECT 'pair' AS kind, line_key, p.order_keys, p.difference, p.days, p.ref_alike,
           p.name_alike, p.provider_named, p.provider, 1 AS n, p.score
    FROM (SELECT line_key, unnest(top) AS p FROM best)
"""
# Daily deposits: the sum of one provider's leftover paid orders of one day, equal to a line
# booked that day or within the window after it.
_DEPOSITS_SQL = """
    INSERT INTO s_pairs
    WITH days AS (
        SELECT provider, day, sum(amount) AS amount, list(key ORDER BY key) AS keys,
               count(*) AS n
        FROM s_orders GROUP BY provider, day HAVING count(*) > 1
    )
    SELECT 'deposit', l.key, d.keys, 0, date_diff('day', d.day, l.day), NULL, NULL,
           coalesce(l.named = d.provider, false), d.provider, d.n,
           least(100, 35 + greatest(0, 20 - 3 * date_diff('day', d.day, l.day))
                 + CASE WHEN l.named = d.provider THEN 5 ELSE 0 END)::INTEGER
    FROM s_lines l JOIN days d ON l.amount = d.amount
     AND l.day BETWEEN d.day AND d.day + $window::INTEGER
     AND (l.named IS NULL OR l.named = d.provider)
"""
# A handful: two leftover orders of one provider within the line's window whose amounts add
# up to it, for lines nothing else explains. Bounded: at most LONELY_LINES such lines, and one
# hash join on the amount the second order must have (never a search over every subset); the
# orders of one provider, day and amount offer their first few as the second — in a month
# where hundreds of orders share a price, the first pairs by key are as good a suggestion as
# any. Only the lonely lines are widened over their window, never the month's orders.
LONELY_LINES = 500
SECONDS_PER_AMOUNT = 4
_HANDFUL_SQL = f"""
    INSERT INTO s_pairs
    WITH lonely AS (
        SELECT * FROM s_lines
        WHERE amount > 0 AND key NOT IN (SELECT line_key FROM s_pairs)
        ORDER BY key LIMIT {LONELY_LINES}
    ), lonely_days AS (
        SELECT l.key, l.amount, l.day, l.named, l.day + d::INTEGER AS on_day
        FROM lonely l, range(-$window, $window + 1) w(d)
    ), seconds AS (
        SELECT provider, day, amount, list(key ORDER BY key)[:{SECONDS_PER_AMOUNT}] AS keys
        FROM s_orders WHERE amount > 0 GROUP BY ALL
    ), firsts AS (
        SELECT l.key AS line_key, l.amount - a.amount AS rest, a.key AS a_key, a.provider,
               l.day, l.named, abs(date_diff('day', a.day, l.day)) AS a_days
        FROM lonely_days l JOIN s_orders a ON a.day = l.on_day AND a.amount < l.amount
        WHERE a.amount > 0 AND (l.named IS NULL OR l.named = a.provider)
    ), found AS (
        SELECT f.*, s.day AS b_day, unnest(s.keys) AS b_key
        FROM firsts f JOIN seconds s ON s.provider = f.provider AND s.amount = f.rest
        WHERE abs(date_diff('day', s.day, f.day)) <= $window
    ), best AS (
        SELECT line_key, named,
               min_by({{'a': a_key, 'b': b_key, 'provider': provider,
                       'days': greatest(a_days, abs(date_diff('day', b_day, day)))}},
                      [a_key, b_key], 3) AS top
        FROM found WHERE b_key > a_key GROUP BY ALL
    )
    SELECT 'handful', line_key, [p.a, p.b], 0, p.days, NULL, NULL,
           coalesce(named = p.provider, false), p.provider, 2,
           least(100, 30 + greatest(0, 20 - 3 * p.days)
                 + CASE WHEN named = p.provider THEN 5 ELSE 0 END)::INTEGER
    FROM (SELECT *, unnest(top) AS p FROM best)
"""
# The best of them, never one a reviewer declined.
_BEST_SQL = """
    SELECT p.* FROM s_pairs p
    ANTI JOIN suggestion_declines x
      ON x.order_keys = list_sort(p.order_keys) AND x.line_keys = [p.line_key]
    WHERE p.score >= $min_score
    ORDER BY p.score DESC, p.line_key, p.order_keys
    LIMIT $limit
"""


def suggest(store: Store, run_id: int, min_score: int = 0, limit: int = 100) -> list[Suggestion]:
    """The run's suggestions, best first (each line's best three pairs, and its daily
    deposits), none declined before. Only the rows kept reach Python."""
    params = run_params(store, run_id)
    values = {
        "run": run_id,
        "tol": params.amount_tolerance,
        "width": max(params.amount_tolerance, Decimal(1)),
        "window": params.date_window,
        "min_score": min_score,
        "limit": max(0, limit),
    }
    with store.write() as cur:  # temp tables of this connection; nothing stored
        steps = (*_LEFTOVERS_SQL.split(";"), *_BUCKETS_SQL.split(";"), _PAIRS_SQL, _DEPOSITS_SQL,
                 _HANDFUL_SQL)  # fmt: skip
        for statement in steps:
            if statement.strip():
                cur.execute(statement, _used(statement, values))
        best = cur.sql(_BEST_SQL, params=_used(_BEST_SQL, values)).pl()
        for table in ("s_orders", "s_lines", "s_order_buckets", "s_line_buckets", "s_pairs"):
            cur.execute(f"DROP TABLE {table}")
    return [
        _pair(r, params.amount_tolerance) if r["kind"] == "pair" else _deposit(r)
        for r in best.iter_rows(named=True)
    ]


def _used(sql: str, values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if f"${k}" in sql}


def _pair(r: dict[str, object], tolerance: Decimal) -> Suggestion:
    difference = Decimal(str(r["difference"]))
    amount = (
        "amount equal"
        if difference == 0
        else f"amount {'within the tolerance' if abs(difference) <= tolerance else 'within 1 %'}"
        f" ({difference:+f})"
    )
    days = int(r["days"])  # type: ignore[call-overload]
    words = [amount, "same day" if days == 0 else f"{days} day{'s' * (days > 1)} apart"]
    ref_alike = r["ref_alike"]
    if ref_alike is None:
        words.append("line has no reference")
    else:
        words.append(f"reference {round(100 * float(ref_alike))} % alike")  # type: ignore[arg-type]
    if r["name_alike"] is not None and float(r["name_alike"]) >= 0.8:  # type: ignore[arg-type]
        words.append(f"customer name {round(100 * float(r['name_alike']))} % alike")  # type: ignore[arg-type]
    if r["provider_named"]:
        words.append(f"{PROVIDER_TITLES.get(str(r['provider']), r['provider'])} as the line says")
    agrees = (
        difference == 0 and ref_alike is not None and float(ref_alike) >= AGREEING_REFERENCE  # type: ignore[arg-type]
    )
    return Suggestion(
        int(r["score"]),  # type: ignore[call-overload]
        tuple(r["order_keys"]),  # type: ignore[arg-type]
        (str(r["line_key"]),),
        " · ".join(words),
        difference,
        agrees,
    )


def _deposit(r: dict[str, object]) -> Suggestion:
    days = int(r["days"])  # type: ignore[call-overload]
    provider = PROVIDER_TITLES.get(str(r["provider"]), str(r["provider"]))
    if r["kind"] == "handful":
        words = [
            f"amount equal to the sum of {r['n']} {provider} orders",
            "same day" if days == 0 else f"up to {days} day{'s' * (days > 1)} apart",
        ]
    else:
        words = [
            f"amount equal to the sum of {r['n']} {provider} orders of one day",
            "booked the same day" if days == 0 else f"booked {days} day{'s' * (days > 1)} after",
        ]
    if r["provider_named"]:
        words.append(f"{provider} as the line says")
    return Suggestion(
        int(r["score"]),  # type: ignore[call-overload]
        tuple(r["order_keys"]),  # type: ignore[arg-type]
        (str(r["line_key"]),),
        " · ".join(words),
        Decimal(0),
        False,  # a group is a person's call
    )


def accept(
    store: Store,
    suggestion: Suggestion,
    by: Actor,
    reason: str | None = None,
    note: str | None = None,
    tolerance: Decimal = Decimal(0),
) -> pairing.ManualMatch:
    """Make the suggestion a manual match (a reason is needed where its sums differ)."""
    made = pairing.add_match(
        store, suggestion.orders, suggestion.lines, by, reason,
        note or f"suggestion accepted ({suggestion.evidence})", tolerance,
    )  # fmt: skip
    detail = json.dumps({"score": suggestion.score, "evidence": suggestion.evidence})
    with store.write() as cur:
        store.audit(cur, by.name, "suggestion.accept", f"match:{made.id}", detail)
    return made


def accept_at_or_above(
    store: Store, suggestions: Sequence[Suggestion], score: int, by: Actor
) -> tuple[list[pairing.ManualMatch], int]:
    """Accept every suggestion at or above `score` where every field agrees (never on amount
    alone); returns the matches made and how many at that score were left for a person."""
    made, left = [], 0
    taken: set[str] = set()
    for s in suggestions:
        if s.score < score:
            continue
        if not s.agrees or taken & {*s.orders, *s.lines}:
            left += 1
            continue
        made.append(accept(store, s, by))
        taken |= {*s.orders, *s.lines}
    return made, left


def decline(store: Store, suggestion: Suggestion, by: Actor, note: str | None = None) -> None:
    """Never suggest this pair (or group) again."""
    by.require(Role.REVIEWER, "decline a suggestion")
    with store.write() as cur:
        pairing.refuse_keys_if_locked(
            cur, pairing.Keys(suggestion.orders, suggestion.lines), "declining a suggestion"
        )
        cur.execute(
            "INSERT INTO suggestion_declines VALUES (?, ?, ?, ?, ?)",
            [sorted(suggestion.orders), list(suggestion.lines), by.name, utc_now(), note],
        )
        store.audit(cur, by.name, "suggestion.decline",
                    f"{','.join(suggestion.orders)}|{','.join(suggestion.lines)}",
                    json.dumps({"evidence": suggestion.evidence, "note": note}))  # fmt: skip
