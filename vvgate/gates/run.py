"""The state of one gate run, shared by the plugin's hooks and fixtures."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vvgate.access.target_schema import NO_SCHEMA, TargetSchema
from vvgate.errors import ConfigError
from vvgate.gates.catalog import GATES
from vvgate.gates.verdicts import Outcome, Tally
from vvgate.plan.claims import Claim
from vvgate.plan.states import PlanTrace
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile
from vvgate.targets.secret_store import SecretStore


@dataclass
class GateRun:
    profile: Profile
    report_dir: Path
    requested_gates: list[str]
    secrets: SecretStore
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    started_monotonic: float = field(default_factory=time.monotonic)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    error: str | None = None
    # figures fixtures report about the run itself, e.g. HTTPS round trips
    counters: dict[str, int] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    # how the non-tls checks trusted the target's HTTPS peer (vvgate/access/peer_trust.py)
    https_trust: dict[str, Any] | None = None
    result: Tally | None = None
    exit_code: int | None = None
    # checks selected per gate, to tell which gates an interrupt left unfinished
    selected: dict[str, int] = field(default_factory=dict)
    interrupted_by: str | None = None
    # one-line facts about how the run checked the target (for example its schema source)
    notes: list[str] = field(default_factory=list)
    # the target's GraphQL schema, which every request is built from
    schema: TargetSchema = NO_SCHEMA
    # the evidence of the check running now, which clients record their exchanges into
    current_evidence: Evidence | None = None
    # the deployment-plan items each collected check claims, and the checks deselected
    plan_claims: dict[str, Claim] = field(default_factory=dict)
    plan_deselected: set[str] = field(default_factory=set)
    plan: PlanTrace | None = None


RUN = pytest.StashKey[GateRun]()
EVIDENCE = pytest.StashKey[Evidence]()
# every phase's report of a check, gathered to decide its outcome
ITEM_REPORTS = pytest.StashKey[list[pytest.TestReport]]()


def report_dir_of(config: pytest.Config) -> Path | None:
    """This run's report folder, for suites that write extra files there."""
    run = config.stash.get(RUN, None)
    return run.report_dir if run is not None else None


def gate_of(item: pytest.Item) -> str:
    marks = list(item.iter_markers("gate"))
    if len(marks) != 1:
        raise ConfigError(f"{item.nodeid} has {len(marks)} gate markers; every check needs "
                          "exactly one @pytest.mark.gate(NAME)")
    args = marks[0].args
    if len(args) != 1 or args[0] not in GATES:
        raise ConfigError(f"{item.nodeid}: gate marker {args!r} names no known gate; known: "
                          f"{', '.join(GATES)}")
    return str(args[0])
