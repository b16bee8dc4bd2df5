"""Saved rules that clear recurring leftovers without a person, in the order they were saved.

A rule looks at a ledger line's description or reference (contains the pattern, or matches it
as a regular expression), optionally within an amount range and for the provider the line
names, and then either
- `excluded`: the line is not a gateway sale (cash, transfers between own accounts). Applied
  to lines no tier claimed: they are reported as the information class `excluded`, with the
  rule's name, instead of `missing_in_provider`;
- `fee` or `rounding`: the difference of a pair whose amounts disagree is that, to book. Applied
  to `amount_mismatch` pairs (the range is then the difference's size): they are reported as
  `matched` with the rule's name and the reason, and the adjustments export books the
  difference.
The first rule that fits a result is the one that applies. A rule can be tried on a run before
it is saved (`dry_run`); removing one is recorded, not deleted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from rekon.access import Actor, Role
from rekon.errors import RekonError
from rekon.names import PROVIDER_TITLES
from rekon.store import Store, next_id, utc_now

ACTIONS = ("excluded", "fee", "rounding")
FIELDS = ("description", "reference")


class RuleError(RekonError):
    """A rule that cannot be saved as asked."""


@dataclass(frozen=True)
class Rule:
    name: str
    field: str  # description | reference
    pattern: str
    regex: bool
    action: str  # excluded | fee | rounding
    provider: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    def check(self) -> None:
        if not self.name.strip():
            raise RuleError("a rule needs a name")
        if self.field not in FIELDS:
            raise RuleError(f"a rule looks at the description or the reference, not {self.field!r}")
        if self.action not in ACTIONS:
            raise RuleError(f"unknown action {self.action!r}: use {', '.join(ACTIONS)}")
        if not self.pattern.strip():
            raise RuleError("a rule needs a pattern to look for")
        if self.regex:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise RuleError(f"{self.pattern!r} is not a regular expression: {exc}") from exc
        if self.provider is not None and self.provider not in PROVIDER_TITLES:
            raise RuleError(f"unknown provider {self.provider!r}: use xepeng or durianpay")
        low, high = self.min_amount, self.max_amount
        if low is not None and high is not None and low > high:
            raise RuleError("the smallest amount is above the largest")

    def describe(self) -> str:
        how = "matches" if self.regex else "contains"
        parts = [f"{self.field} {how} {self.pattern!r}"]
        if self.provider:
            parts.append(f"at {PROVIDER_TITLES[self.provider]}")
        if self.min_amount is not None or self.max_amount is not None:
            parts.append(f"amount {self.min_amount or 0}–{self.max_amount or '∞'}")
        return f"{self.name}: when the line's {' '.join(parts)}, then {self.action}"


# The active rules, in their order.
ACTIVE_RULES_SQL = """
    SELECT r.* FROM match_rules r ANTI JOIN match_rule_removals x ON x.rule_id = r.id
"""


def _fits(text: str, amount: str, line_provider: str) -> str:
    """SQL: does a rule `r` fit `text` (a line's field: contains it in any case, or matches
    it as a regular expression), `amount`, and the provider the line names?"""
    return f"""(
        CASE WHEN r.regex THEN regexp_matches({text}, r.pattern)
             ELSE contains(lower({text}), lower(r.pattern)) END
        AND (r.min_amount IS NULL OR {amount} >= r.min_amount)
        AND (r.max_amount IS NULL OR {amount} <= r.max_amount)
        AND (r.provider IS NULL
             OR replace(lower(coalesce({line_provider}, '')), ' ', '') = r.provider))"""


def _text(field_sql: str) -> str:
    return (
        f"CASE WHEN r.field = 'description' THEN coalesce({field_sql}description, '')"
        f" ELSE coalesce({field_sql}reference, '') END"
    )


# For the matching run (see matching.py): which free lines a rule excludes, and which
# amount-mismatch claims a rule clears as a fee or rounding. The first fitting rule wins.
EXCLUDED_LINES_SQL = f"""
    SELECT lid, name AS rule_name FROM (
        SELECT f.lid, r.name, r.position
        FROM free_lines f JOIN {{line_rows}} l ON l.lid = f.lid, ({ACTIVE_RULES_SQL}) r
        WHERE r.action = 'excluded' AND {_fits(_text("l."), "l.amount", "l.provider")}
        QUALIFY row_number() OVER (PARTITION BY f.lid ORDER BY r.position) = 1
    )
"""
CLEARED_CLAIMS_SQL = f"""
    SELECT lid, name AS rule_name, action AS reason FROM (
        SELECT c.lid, r.name, r.action, r.position
        FROM claims c JOIN {{line_rows}} l ON l.lid = c.lid, ({ACTIVE_RULES_SQL}) r
        WHERE c.paid AND c.ledger_amount <> c.order_amount AND r.action IN ('fee', 'rounding')
          AND abs(c.ledger_amount - c.order_amount) > $tol
          AND {_fits(_text("l."), "abs(c.ledger_amount - c.order_amount)", "l.provider")}
        QUALIFY row_number() OVER (PARTITION BY c.lid ORDER BY r.position) = 1
    )
"""


def add_rule(store: Store, rule: Rule, by: Actor) -> int:
    """Save a rule at the end of the order; returns its id. Raises RuleError."""
    by.require(Role.REVIEWER, "save a matching rule")
    rule.check()
    with store.write() as cur:
        taken = cur.execute(
            f"SELECT count(*) FROM ({ACTIVE_RULES_SQL}) WHERE name = ?", [rule.name]
        ).fetchone()
        if taken and taken[0]:
            raise RuleError(f"there is a rule named {rule.name!r} already: remove it first")
        rule_id = next_id(cur, "match_rule_id")
        cur.execute(
            """
            INSERT INTO match_rules (id, name, position, field, pattern, regex, provider,
                                     min_amount, max_amount, action, made_by, made_at)
            SELECT ?, ?, coalesce(max(position), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?
            FROM match_rules
            """,
            [rule_id, rule.name, rule.field, rule.pattern, rule.regex, rule.provider,
             rule.min_amount, rule.max_amount, rule.action, by.name, utc_now()],
        )  # fmt: skip
        store.audit(cur, by.name, "rule.add", f"rule:{rule.name}", json.dumps(rule.describe()))
    return rule_id


def remove_rule(store: Store, name: str, by: Actor) -> None:
    """Stop applying a rule; its record and history stay."""
    by.require(Role.REVIEWER, "remove a matching rule")
    with store.write() as cur:
        found = cur.execute(
            f"SELECT id FROM ({ACTIVE_RULES_SQL}) WHERE name = ?", [name]
        ).fetchall()
        if not found:
            raise RuleError(f"there is no rule named {name!r}: see `rekon rule list`")
        cur.execute(
            "INSERT INTO match_rule_removals VALUES (?, ?, ?)", [found[0][0], by.name, utc_now()]
        )
        store.audit(cur, by.name, "rule.remove", f"rule:{name}", "{}")


def list_rules(store: Store) -> pl.DataFrame:
    """The active rules in order, each with how many results it touched in the latest run."""
    return store.query(
        f"""
        WITH last AS (SELECT max(id) AS id FROM recon_runs WHERE finished_at IS NOT NULL)
        SELECT r.position, r.name, r.field, r.pattern, r.regex, r.provider, r.min_amount,
               r.max_amount, r.action,
               (SELECT count(*) FROM recon_results x, last
                WHERE x.run_id = last.id AND x.rule = r.name) AS last_run
        FROM ({ACTIVE_RULES_SQL}) r ORDER BY r.position
        """
    )


def dry_run(store: Store, rule: Rule, run_id: int) -> pl.DataFrame:
    """What the rule would change in a run, before it is saved: the results it would take,
    with their class now and after."""
    rule.check()
    values = {
        "run": run_id,
        "field": rule.field,
        "pattern": rule.pattern,
        "regex": rule.regex,
        "provider": rule.provider,
        "lo": rule.min_amount,
        "hi": rule.max_amount,
    }
    text = "CASE WHEN $field = 'description' THEN coalesce(l.description, '') " \
           "ELSE coalesce(l.reference, '') END"  # fmt: skip
    fits = f"""
        CASE WHEN $regex THEN regexp_matches({text}, $pattern)
             ELSE contains(lower({text}), lower($pattern)) END
        AND ($provider IS NULL OR replace(lower(coalesce(l.provider, '')), ' ', '') = $provider)
    """
    if rule.action == "excluded":
        sql = f"""
            SELECT x.result_key, x.result::VARCHAR AS now, 'excluded' AS after, l.amount,
                   l.reference, l.description
            FROM recon_results x JOIN ledger_lines l USING (ledger_id, line_no)
            WHERE x.run_id = $run AND x.result = 'missing_in_provider' AND {fits}
              AND ($lo IS NULL OR l.amount >= $lo) AND ($hi IS NULL OR l.amount <= $hi)
            ORDER BY x.result_key
        """
    else:
        sql = f"""
            SELECT x.result_key, x.result::VARCHAR AS now, 'matched' AS after, x.difference,
                   l.reference, l.description
            FROM recon_results x JOIN ledger_lines l USING (ledger_id, line_no)
            WHERE x.run_id = $run AND x.result = 'amount_mismatch' AND x.rule <> 'manual'
              AND {fits}
              AND ($lo IS NULL OR abs(x.difference) >= $lo)
              AND ($hi IS NULL OR abs(x.difference) <= $hi)
            ORDER BY x.result_key
        """
    return store.query(sql, values)
