"""Turns test outcomes into gate verdicts, applying severities and waivers."""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from enum import StrEnum

from vvgate.gates.catalog import GATES
from vvgate.targets.profile import Profile, Severity, Waiver


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WAIVED = "waived"
    EMPTY = "empty"  # requested with --gate, but no test of it ran


@dataclass
class Outcome:
    nodeid: str
    gate: str
    outcome: str  # passed | failed | error | skipped
    duration_s: float
    message: str = ""
    waived_by: Waiver | None = None


@dataclass
class GateResult:
    name: str
    severity: Severity
    outcomes: list[Outcome] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    expired_waivers: list[Waiver] = field(default_factory=list)
    requested: bool = False

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome and o.waived_by is None)

    @property
    def waived(self) -> int:
        return sum(1 for o in self.outcomes if o.waived_by is not None)

    @property
    def duration_s(self) -> float:
        return sum(o.duration_s for o in self.outcomes)

    @property
    def verdict(self) -> Verdict:
        if self.expired_waivers or self.count("failed") or self.count("error"):
            return Verdict.FAIL
        if self.waived:
            return Verdict.WAIVED
        if not self.outcomes:
            return Verdict.EMPTY
        return Verdict.PASS

    @property
    def blocks(self) -> bool:
        """Whether this gate stops the release."""
        if self.severity is Severity.ADVISORY:
            return False
        return self.verdict is Verdict.FAIL or (self.verdict is Verdict.EMPTY and self.requested)

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome in {"failed", "error"} and not o.waived_by]


def _matches(waiver: Waiver, outcome: Outcome) -> bool:
    if waiver.gate is not None:
        return waiver.gate == outcome.gate
    assert waiver.test is not None
    return waiver.test == outcome.nodeid or fnmatch.fnmatchcase(outcome.nodeid, waiver.test)


@dataclass
class Tally:
    gates: list[GateResult]
    # Expired test waivers whose test did not run here still fail the run.
    orphan_expired: list[Waiver]

    @property
    def exit_code(self) -> int:
        return 1 if self.orphan_expired or any(r.blocks for r in self.gates) else 0


def tally(
    profile: Profile,
    outcomes: list[Outcome],
    requested: list[str],
    today: dt.date,
) -> Tally:
    """Gate results in registry order: every gate that ran, was requested or has a waiver."""
    results = {name: GateResult(name, profile.severity(name)) for name in GATES}
    for name in requested:
        results[name].requested = True
    active = [w for w in profile.waivers if not w.expired(today)]
    orphans: list[Waiver] = []
    for waiver in profile.waivers:
        if waiver.expired(today):
            gate = waiver.gate or _gate_of_test(waiver, outcomes)
            if gate is None:
                orphans.append(waiver)
            else:
                results[gate].expired_waivers.append(waiver)
    for outcome in outcomes:
        if outcome.outcome in {"failed", "error"}:
            outcome.waived_by = next((w for w in active if _matches(w, outcome)), None)
        results[outcome.gate].outcomes.append(outcome)
        for waiver in active:
            if _matches(waiver, outcome) and waiver not in results[outcome.gate].waivers:
                results[outcome.gate].waivers.append(waiver)
    shown = [r for r in results.values() if r.outcomes or r.requested or r.expired_waivers]
    return Tally(shown, orphans)


def _gate_of_test(waiver: Waiver, outcomes: list[Outcome]) -> str | None:
    for outcome in outcomes:
        if _matches(waiver, outcome):
            return outcome.gate
    return None
