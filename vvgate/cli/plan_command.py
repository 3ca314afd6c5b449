"""`vvgate plan`: which checks would verify which deployment-plan items, without running any.

It reads the committed coverage index (vvgate/plan/coverage_index.json); with --target, only
the checks a run against that target would carry out count (its kind's suites, destructive
ones only where allowed).
"""

from __future__ import annotations

import argparse
from typing import Any

from vvgate.plan import coverage_index
from vvgate.plan.claims import short_name
from vvgate.plan.coverage_index import IndexedCheck
from vvgate.plan.items import PlanItem, load_plan
from vvgate.targets.profile import load_profile

CHECKED, NO_CHECK, MANUAL, NOT_HERE = "checked", "no check", "manual", "not on this target"


def add_parser(sub: Any) -> None:
    plan = sub.add_parser("plan", help="which checks verify which deployment-plan items "
                                       "(runs nothing)")
    plan.add_argument("--target", help="count only the checks a run against this target "
                                       "carries out")
    plan.add_argument("--missing", action="store_true",
                      help="list only the items a gate could verify but no check does")
    plan.add_argument("--write-index", action="store_true",
                      help="collect the suites and rewrite the committed coverage index")


def _runs_here(check: IndexedCheck, suites: set[str], destructive: bool) -> bool:
    return check.suite in suites and (destructive or not check.destructive)


def _state(item: PlanItem, checks: list[IndexedCheck], here: list[IndexedCheck]) -> str:
    if item.manual:
        return MANUAL
    if not checks:
        return NO_CHECK
    return CHECKED if here else NOT_HERE


def cmd_plan(args: argparse.Namespace) -> int:
    if args.write_index:
        checks = coverage_index.collect()
        coverage_index.write(checks)
        print(f"vvgate: plan: {len(checks)} checks indexed in {coverage_index.INDEX_FILE}")
        return 0
    suites, destructive, scope = {"static", "staging", "production"}, True, "any target"
    if args.target:
        profile = load_profile(args.target)
        suites = {"static", "staging"} | ({"production"} if profile.production else set())
        destructive = profile.allow_destructive and not profile.production
        scope = f"target {profile.name!r} ({profile.kind.value})"
    by_item = coverage_index.checks_by_item(coverage_index.read())
    print(f"deployment plan coverage for {scope}")
    totals: dict[str, int] = {}
    for phase in load_plan().phases:
        lines = []
        for item in phase.items:
            checks = by_item.get(item.id, [])
            here = [c for c in checks if _runs_here(c, suites, destructive)]
            state = _state(item, checks, here)
            totals[state] = totals.get(state, 0) + 1
            if args.missing and state != NO_CHECK:
                continue
            names = _names(sorted(short_name(c.check) for c in here))
            lines.append(f"  {item.id:<6} {state:<18} {item.text}")
            if names:
                lines.append(f"         by: {names}")
            if item.deviation and not args.missing:
                lines.append(f"         deviation: {' '.join(item.deviation.split())}")
        if lines:
            print(f"phase {phase.id} {phase.title}")
            print("\n".join(lines))
    print("total: " + ", ".join(f"{n} {state}" for state, n in sorted(totals.items())))
    return 0


def _names(names: list[str], shown: int = 6) -> str:
    more = f", and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
