"""Turns check outcomes into gate verdicts, applying severities and waivers.

A check ends in one of three outcomes besides a skip: it passed, it failed (a defect was
observed), or it was inconclusive (it could not be carried out, so it proves nothing either
way). A gate's verdict follows from its checks':

- `fail`: a check failed, or a waiver of the gate has expired;
- `interrupted`: the run stopped before every check of the gate had finished;
- `inconclusive`: no check failed, but one could not be carried out;
- `not-run`: no check of the gate was carried out (every one skipped, or none selected);
- `waived`: every failure or inconclusive check is covered by an active waiver;
- `pass`: at least one check passed and none failed or was inconclusive.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from vvgate.gates.catalog import GATES, Severity
from vvgate.targets.profile import Kind, Profile, Waiver


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_RUN = "not-run"
    WAIVED = "waived"
    INTERRUPTED = "interrupted"


class ExitCode(IntEnum):
    """What a gate run's exit status says; documented in the README."""

    PASS = 0  # every blocking gate passed (or is waived)
    FAIL = 1  # a blocking gate failed: a defect was observed
    CONFIG_ERROR = 2  # bad input or an unreachable target: nothing was checked
    NOT_VERIFIED = 3  # no defect seen, but a blocking gate is inconclusive or not-run
    INTERRUPTED = 130  # stopped by a signal before every gate had finished


# Outcomes a check can end in; "inconclusive" is set by the gate plugin.
PASSED, FAILED, INCONCLUSIVE, SKIPPED = "passed", "failed", "inconclusive", "skipped"
WAIVABLE = frozenset({FAILED, INCONCLUSIVE})


@dataclass
class Outcome:
    nodeid: str
    gate: str
    outcome: str  # passed | failed | inconclusive | skipped
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
    # checks of this gate that were selected but never finished (the run was interrupted)
    unfinished: int = 0
    # whether a gate whose checks all skipped blocks the release (staging, production)
    not_run_blocks: bool = True
    # an active waiver of the whole gate
    gate_waiver: Waiver | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome and o.waived_by is None)

    @property
    def waived(self) -> int:
        return sum(1 for o in self.outcomes if o.waived_by is not None)

    @property
    def carried_out(self) -> int:
        """Checks that got as far as a result: passed, failed or waived."""
        return self.count(PASSED) + self.count(FAILED) + self.waived

    @property
    def duration_s(self) -> float:
        return sum(o.duration_s for o in self.outcomes)

    @property
    def verdict(self) -> Verdict:
        if self.expired_waivers or self.count(FAILED):
            return Verdict.FAIL
        if self.unfinished:
            return Verdict.INTERRUPTED
        if self.count(INCONCLUSIVE):
            return Verdict.INCONCLUSIVE
        if not self.carried_out:
            return Verdict.WAIVED if self.gate_waiver is not None else Verdict.NOT_RUN
        if self.waived:
            return Verdict.WAIVED
        return Verdict.PASS

    @property
    def blocks(self) -> bool:
        """Whether this gate stops the release."""
        if self.severity is Severity.ADVISORY:
            return False
        verdict = self.verdict
        if verdict is Verdict.NOT_RUN:
            return self.requested or self.not_run_blocks
        return verdict in {Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.INTERRUPTED}

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == FAILED and not o.waived_by]

    def inconclusive(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == INCONCLUSIVE and not o.waived_by]

    def why_not_verified(self) -> str | None:
        """One line on why a gate that did not pass or fail says nothing about the target."""
        verdict = self.verdict
        if verdict is Verdict.INTERRUPTED:
            return f"the run was interrupted before {self.unfinished} check(s) finished"
        if verdict is Verdict.INCONCLUSIVE:
            first = self.inconclusive()[0]
            more = len(self.inconclusive()) - 1
            return first.message + (f" (and {more} more)" if more else "")
        if verdict is Verdict.NOT_RUN:
            skips = [o.message for o in self.outcomes if o.outcome == SKIPPED]
            if not skips:
                return "no check of this gate was selected"
            return f"every check skipped: {skips[0]}" + (
                f" (and {len(skips) - 1} more)" if len(skips) > 1 else "")
        return None


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
    interrupted: bool = False

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        blocking = [r for r in self.gates if r.blocks]
        if self.orphan_expired or any(r.verdict is Verdict.FAIL for r in blocking):
            return ExitCode.FAIL
        return ExitCode.NOT_VERIFIED if blocking else ExitCode.PASS

    @property
    def verdict(self) -> str:
        """The run's verdict: pass, fail, inconclusive (not verified) or interrupted."""
        return {ExitCode.PASS: "pass", ExitCode.FAIL: "fail",
                ExitCode.NOT_VERIFIED: "inconclusive",
                ExitCode.INTERRUPTED: "interrupted"}[self.exit_code]


def tally(
    profile: Profile,
    outcomes: list[Outcome],
    requested: list[str],
    today: dt.date,
    selected: dict[str, int] | None = None,
    interrupted: bool = False,
) -> Tally:
    """Gate results in registry order: every gate that had checks selected, was requested or
    has a waiver. `selected` counts the checks of each gate the run set out to do."""
    not_run_blocks = profile.kind is not Kind.LOCAL
    results = {name: GateResult(name, profile.severity(name, GATES[name].severity),
                                not_run_blocks=not_run_blocks)
               for name in GATES}
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
        elif waiver.gate is not None:
            results[waiver.gate].gate_waiver = waiver
    for outcome in outcomes:
        if outcome.outcome in WAIVABLE:
            outcome.waived_by = next((w for w in active if _matches(w, outcome)), None)
        results[outcome.gate].outcomes.append(outcome)
        for waiver in active:
            if _matches(waiver, outcome) and waiver not in results[outcome.gate].waivers:
                results[outcome.gate].waivers.append(waiver)
    for name, count in (selected or {}).items():
        if interrupted:
            results[name].unfinished = max(0, count - len(results[name].outcomes))
    shown = [r for r in results.values()
             if r.outcomes or r.requested or r.expired_waivers or r.unfinished
             or (selected or {}).get(r.name)]
    return Tally(shown, orphans, interrupted)


def _gate_of_test(waiver: Waiver, outcomes: list[Outcome]) -> str | None:
    for outcome in outcomes:
        if _matches(waiver, outcome):
            return outcome.gate
    return None
