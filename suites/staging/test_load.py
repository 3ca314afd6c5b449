"""The load gate: bounded Locust journeys against the target, judged by the profile's SLOs.

Locust runs once per module as a subprocess (vvgate/load/run.py); each SLO'd endpoint and
the total is one check. `vvgate load` sets the run shape through VVGATE_LOAD_* variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vvgate.access.peer_trust import PeerTrust
from vvgate.errors import ConfigError
from vvgate.gates.inconclusive import inconclusive
from vvgate.gates.run import RUN, GateRun
from vvgate.load import plan as load_plan
from vvgate.load import report as load_report
from vvgate.load import run as load_run
from vvgate.load.steps import TOTAL
from vvgate.load.thresholds import EndpointVerdict, evaluate, read_baseline
from vvgate.report.evidence import Evidence
from vvgate.report.summary import write_gate_data
from vvgate.targets.profile import Profile

# destructive: a run spends the target's per-client rate-limit window and writes records, so
# it never runs against production or a profile with allow_destructive: false.
pytestmark = [pytest.mark.gate("load"), pytest.mark.slow, pytest.mark.destructive,
              pytest.mark.plan("8.7")]

USERS_ENV = "VVGATE_LOAD_USERS"
DURATION_ENV = "VVGATE_LOAD_DURATION"
FORCE_ENV = "VVGATE_LOAD_FORCE"
BASELINE_ENV = "VVGATE_LOAD_BASELINE"
LOCUST_HTML = "load/locust.html"


@dataclass
class LoadOutcome:
    run: load_run.LoadRun
    verdicts: dict[str, EndpointVerdict]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "endpoint" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash.get(RUN, None)
    load = run.profile.load if run is not None else None
    names = [*sorted(load.endpoints), TOTAL] if load is not None else [TOTAL]
    metafunc.parametrize("endpoint", names)


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return load_plan.parse_duration(value) if name == DURATION_ENV else int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None


@pytest.fixture(scope="module")
def load_outcome(profile: Profile, gate_run: GateRun,
                 request: pytest.FixtureRequest) -> LoadOutcome:
    if profile.load is None:
        pytest.skip(f"target {profile.name!r} has no 'load' section")
    try:
        shape = load_plan.shape(profile.load, _int_env(USERS_ENV), _int_env(DURATION_ENV),
                                force=os.environ.get(FORCE_ENV) == "1")
        baseline_file = os.environ.get(BASELINE_ENV)
        baseline = read_baseline(Path(baseline_file)) if baseline_file else None
        load_run.locust_binary()
    except ConfigError as exc:
        # A refused shape is a usage error of the whole run, not a failed check (exit 2).
        gate_run.error = exc.one_line()
        pytest.exit(f"vvgate: error: {gate_run.error}", returncode=ConfigError.exit_code)
    # Signed-in journeys need synthetic users; without them only the anonymous ones run.
    world = (request.getfixturevalue("world")
             if profile.allow_synthetic_users and profile.mongodb is not None else None)
    trust: PeerTrust = request.getfixturevalue("peer_trust")
    try:
        run = load_run.run(profile, shape, gate_run.report_dir / "load", world,
                           pin_sha256=trust.pinned,
                           schema=request.getfixturevalue("target_schema"))
    except (load_run.LoadRunError, ConfigError) as exc:
        inconclusive(f"the load run could not be carried out: {exc}")
    verdicts = evaluate(run.stats, profile.load, baseline)
    write_gate_data(gate_run.report_dir, "load",
                    load_report.gate_data(run, verdicts, LOCUST_HTML))
    return LoadOutcome(run, verdicts)


def _errors(outcome: LoadOutcome, name: str | None = None) -> str:
    errors = outcome.run.stats.extras.get("errors", [])
    return "\n".join(f"{e['count']} x {e['name']}: {e['error']}" for e in errors
                     if name in (None, TOTAL) or e["name"] == name) or "(none)"


def test_load_run_completed_without_abort(load_outcome: LoadOutcome, extras: list[Any],
                                          evidence: Evidence) -> None:
    """Embeds the table, the chart and Locust's report; fails when the run aborted early."""
    from pytest_html import extras as html_extras

    run = load_outcome.run
    extras.append(html_extras.html(load_report.table_html(run, load_outcome.verdicts)))
    timeline = run.stats.extras.get("timeline", [])
    if timeline:
        extras.append(html_extras.png(load_report.chart_base64(timeline),
                                      name="load: latency and throughput"))
    extras.append(html_extras.url(LOCUST_HTML, name="Locust report"))
    evidence.text("Locust errors", _errors(load_outcome))
    if run.aborted:
        pytest.fail(f"the load run stopped early to spare the target: {run.stop_reason} "
                    f"(at {run.stats.duration_s:.1f} s of {run.shape.duration_s} s)",
                    pytrace=False)
    if run.stats.total.requests == 0:
        inconclusive("the load run sent no requests")


def test_endpoint_meets_its_slo(load_outcome: LoadOutcome, endpoint: str,
                                evidence: Evidence) -> None:
    verdict = load_outcome.verdicts[endpoint]
    evidence.text(f"Locust errors for {endpoint}", _errors(load_outcome, endpoint))
    evidence.json("checks", [c.as_dict() for c in verdict.checks])
    if verdict.unmeasured:
        # An SLO nothing was measured against is not met and not missed.
        inconclusive(f"load SLO of {endpoint} not judged: {verdict.unmeasured}")
    failed = verdict.failed()
    if failed:
        pytest.fail(f"load SLO missed by {endpoint}: "
                    + "; ".join(c.describe().partition(": ")[2] for c in failed), pytrace=False)
