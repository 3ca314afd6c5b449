"""Manifest rules as data: every rule has an id, a title, a fix hint and a check (the plan
items each verifies are in vvgate/rules/plan_claims.py)."""

from __future__ import annotations

from vvgate.rules.manifest import (
    best_practice,
    hardening,
    network_flows,
    overlay_rules,
    plan_rules,
    pod_security,
    schema_rules,
)
from vvgate.rules.model import ObjectRule, PairRule, TreeRule

Rule = ObjectRule | TreeRule | PairRule

ALL_RULES: tuple[Rule, ...] = (
    *schema_rules.RULES,
    *best_practice.RULES,
    pod_security.RULE,
    *hardening.RULES,
    *network_flows.RULES,
    *plan_rules.RULES,
    *overlay_rules.RULES,
)
RULES_BY_ID = {r.info.id: r for r in ALL_RULES}
assert len(RULES_BY_ID) == len(ALL_RULES), "rule ids must be unique"
