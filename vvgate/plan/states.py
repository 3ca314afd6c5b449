"""Each plan item's state in a run, from the outcomes of the checks that claim it.

- verified: a check of it passed and none failed or was inconclusive;
- failed: a check of it failed;
- inconclusive: none failed, but one could not be carried out;
- not run: no check of it was carried out (skipped, deselected, unfinished, or not in the
  run's suites), with the reasons;
- no check: a check could verify it, but none claims it;
- manual: only a person can verify it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vvgate.gates.verdicts import FAILED, INCONCLUSIVE, PASSED, SKIPPED, Outcome
from vvgate.plan.claims import Claim, short_name
from vvgate.plan.coverage_index import IndexedCheck, checks_by_item
from vvgate.plan.items import Plan, PlanItem

VERIFIED, FAILED_STATE, INCONCLUSIVE_STATE = "verified", "failed", "inconclusive"
NOT_RUN, NO_CHECK, MANUAL = "not run", "no check", "manual"
STATES = (VERIFIED, FAILED_STATE, INCONCLUSIVE_STATE, NOT_RUN, NO_CHECK, MANUAL)
MAX_REASONS = 5


@dataclass
class ItemTrace:
    item: PlanItem
    state: str
    checks: list[str] = field(default_factory=list)  # the run's checks that claim it
    reasons: list[str] = field(default_factory=list)  # why not run, or what failed

    def document(self) -> dict[str, Any]:
        return {"id": self.item.id, "text": self.item.text, "state": self.state,
                "checks": self.checks, "reasons": self.reasons,
                "deviation": self.item.deviation}


@dataclass
class PhaseTrace:
    id: str
    title: str
    items: list[ItemTrace]

    def counts(self) -> dict[str, int]:
        found = Counter(i.state for i in self.items)
        return {state: found.get(state, 0) for state in STATES}


@dataclass
class PlanTrace:
    phases: list[PhaseTrace]

    def counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for phase in self.phases:
            total.update(phase.counts())
        return {state: total.get(state, 0) for state in STATES}

    def document(self) -> dict[str, Any]:
        return {"states": list(STATES), "counts": self.counts(),
                "phases": [{"id": p.id, "title": p.title, "counts": p.counts(),
                            "items": [i.document() for i in p.items]} for p in self.phases]}


@dataclass
class RunChecks:
    """What a run knows of the checks claiming plan items."""

    claims: dict[str, Claim]  # node id -> claim, for every collected check
    deselected: set[str]
    outcomes: dict[str, Outcome]
    index: list[IndexedCheck]  # every check of the project's suites, for what the run lacks


def _limited(reasons: list[str]) -> list[str]:
    unique = list(dict.fromkeys(reasons))
    more = len(unique) - MAX_REASONS
    return unique[:MAX_REASONS] + ([f"... and {more} more"] if more > 0 else [])


def _not_in_run(item: PlanItem, indexed: list[IndexedCheck]) -> ItemTrace:
    if not indexed:
        return ItemTrace(item, NO_CHECK)
    names = sorted({short_name(c.check) for c in indexed})
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ItemTrace(item, NOT_RUN, reasons=[
        f"none of its checks is in this run ({', '.join(names[:3])}{more})"])


def _traced(item: PlanItem, nodes: list[str], run: RunChecks) -> ItemTrace:
    checks = sorted({short_name(run.claims[n].check) for n in nodes})
    by_outcome: dict[str, list[Outcome]] = {}
    reasons = []
    for node in nodes:
        outcome = run.outcomes.get(node)
        if outcome is not None:
            by_outcome.setdefault(outcome.outcome, []).append(outcome)
        elif node in run.deselected:
            reasons.append("deselected in this run")
        else:
            reasons.append("did not finish (the run was stopped)")
    for state, name in ((FAILED_STATE, FAILED), (INCONCLUSIVE_STATE, INCONCLUSIVE)):
        if by_outcome.get(name):
            failing = [f"{short_name(run.claims[o.nodeid].check)}: {o.message}"[:200]
                       for o in by_outcome[name]]
            return ItemTrace(item, state, checks, _limited(failing))
    if by_outcome.get(PASSED):
        return ItemTrace(item, VERIFIED, checks)
    reasons += [o.message for o in by_outcome.get(SKIPPED, [])]
    return ItemTrace(item, NOT_RUN, checks, _limited(reasons))


def trace(plan: Plan, run: RunChecks) -> PlanTrace:
    nodes_by_item: dict[str, list[str]] = {}
    for node, claim in run.claims.items():
        for item_id in claim.ids:
            nodes_by_item.setdefault(item_id, []).append(node)
    indexed = checks_by_item(run.index)
    phases = []
    for phase in plan.phases:
        items = []
        for item in phase.items:
            if item.manual:
                items.append(ItemTrace(item, MANUAL))
            elif item.id in nodes_by_item:
                items.append(_traced(item, nodes_by_item[item.id], run))
            else:
                items.append(_not_in_run(item, indexed.get(item.id, [])))
        phases.append(PhaseTrace(phase.id, phase.title, items))
    return PlanTrace(phases)


def phase_line(phase: PhaseTrace) -> str:
    """`phase 3 MongoDB StatefulSets: 6 verified, 1 failed, ...` (states with none left out)."""
    counts = ", ".join(f"{n} {state}" for state, n in phase.counts().items() if n)
    return f"phase {phase.id} {phase.title}: {counts}"


def plan_markdown(plan: PlanTrace) -> str:
    """The GitHub step summary's plan part: a line per phase."""
    lines = ["", "#### Deployment plan", ""]
    lines += [f"- {phase_line(p)}" for p in plan.phases]
    return "\n".join(lines) + "\n"
