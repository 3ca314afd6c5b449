"""What report.html's sections are rendered from: the run, its verdicts, and for each failing or
inconclusive check its evidence and what it verifies.

The suites cite the contract in their module docstrings ("(contract §3, §6)") and mark the plan
phase (`phase0` … `phase9`); both are read from the collected item, so a new check needs no
entry here.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from vvgate.gates.catalog import PHASES
from vvgate.gates.run import EVIDENCE, RUN, GateRun
from vvgate.gates.verdicts import Tally
from vvgate.report.evidence import EvidenceItem
from vvgate.report.redaction import redact
from vvgate.report.summary import gate_data_of, run_verdict

_CONTRACT = re.compile(r"§\s*(\d+(?:\.\d+)*)")
_SEED_PLAN = re.compile(r"seed plan (\d+(?:\.\d+)*(?:,\s*\d+(?:\.\d+)*)*)")


def esc(text: object) -> str:
    """Text for the page: redacted before escaping, so an escaped secret cannot slip past."""
    return html.escape(redact(str(text)))


@dataclass(frozen=True)
class CheckFacts:
    nodeid: str
    evidence: list[EvidenceItem] = field(default_factory=list)
    contract: tuple[str, ...] = ()  # "§3", "§6"
    phases: tuple[str, ...] = ()  # "1", "3"
    plan_items: tuple[str, ...] = ()  # "8.6", from a `plan` marker where the check has one
    seed_plan: tuple[str, ...] = ()  # "0.2, 0.3", as a module docstring cites it

    @property
    def verifies(self) -> str:
        parts = []
        if self.contract:
            parts.append("contract " + ", ".join(self.contract))
        plan = ([f"phase {', '.join(self.phases)}"] if self.phases else []) + \
            ([f"items {', '.join(self.plan_items)}"] if self.plan_items else [])
        if plan:
            parts.append("deployment plan " + ", ".join(plan))
        parts.extend(f"seed plan {s}" for s in self.seed_plan)
        return "; ".join(parts)


def _first_paragraph(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0]


def _citations(item: pytest.Item) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # The check's own docstring is more precise than its module's when it cites anything.
    for owner in (getattr(item, "function", None), getattr(item, "module", None)):
        text = _first_paragraph(getattr(owner, "__doc__", None))
        contract = tuple(dict.fromkeys(f"§{n}" for n in _CONTRACT.findall(text)))
        seed = tuple(_SEED_PLAN.findall(text))
        if contract or seed:
            return contract, seed
    return (), ()


def facts_of(item: pytest.Item) -> CheckFacts:
    contract, seed = _citations(item)
    phases = tuple(sorted({m.name.removeprefix("phase") for m in item.iter_markers()
                           if m.name in PHASES}))
    # the check's own `plan` marker overrides its module's, as for selection
    plan = item.get_closest_marker("plan")
    items = tuple(str(a) for a in plan.args) if plan is not None else ()
    evidence = item.stash.get(EVIDENCE, None)
    return CheckFacts(item.nodeid, list(evidence.items) if evidence is not None else [],
                      contract, phases, items, seed)


@dataclass(frozen=True)
class ReportView:
    run: GateRun
    result: Tally
    exit_code: int
    facts: dict[str, CheckFacts]

    @property
    def verdict(self) -> str:
        """The run's verdict as gates.json has it: pass, fail, inconclusive, interrupted."""
        return run_verdict(self.result, self.run.error)

    def gate_data(self, gate: str) -> Any:
        return gate_data_of(str(self.run.report_dir), gate)

    @classmethod
    def of(cls, session: pytest.Session) -> ReportView | None:
        run = session.config.stash.get(RUN, None)
        if run is None or run.result is None or run.exit_code is None:
            return None
        shown = {o.nodeid for r in run.result.gates for o in [*r.failures(), *r.inconclusive()]}
        facts = {item.nodeid: facts_of(item) for item in session.items if item.nodeid in shown}
        return cls(run, run.result, run.exit_code, facts)
