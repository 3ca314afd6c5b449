"""The suite fits the contract, not the reference: a correct deployment that differs from it
where the contract leaves room passes, and a faulty one is still caught.

Dialects (reference/dialects.py) are such differences. With each one alone and with all of
them at once, every gate passes (the tls gate runs once, with all of them: no dialect touches
the ingress). With all of them on, each auth, graphql, tenancy and ownership fault still
fails exactly its gate, and a load run still passes. A run whose given schema is not the one
served says "inconclusive" for the requests that fail validation, never "refused" and never
"not refused".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PROJECT
from live_target import LIVE, LocalTarget, modules_of
from reference.dialects import DIALECTS
from reference.faults import FAULTS

ALL = "all"
CASES = [*DIALECTS, ALL]
# Every live gate but tls, whose probes no dialect changes (the all-dialects case runs it).
LIVE_GATES = ("database", "auth", "graphql", "tenancy", "ownership", "headers", "health")
SCHEMA_GATES = ("auth", "graphql", "tenancy", "ownership")  # whose requests dialects change
CAUGHT = [n for n, f in FAULTS.items() if f.gate in SCHEMA_GATES]
ACCESS = ("auth", "ownership")
NO_CLUSTER = {"storage": "not-run", "rollout": "not-run"}


@pytest.mark.parametrize("dialect", CASES)
def test_a_correct_deployment_in_any_dialect_passes_every_gate(local_target: LocalTarget,
                                                               dialect: str) -> None:
    local_target.restart("--dialect", dialect)
    run = local_target.gate() if dialect == ALL else local_target.gate(*LIVE_GATES)
    verdicts = {g["name"]: g["verdict"] for g in run.gates()["gates"]}
    wrong = {g: v for g, v in verdicts.items() if v != "pass" and NO_CLUSTER.get(g) != v}
    assert not wrong and run.code == 0, (dialect, wrong, run.problems())
    assert set(verdicts) >= set(LIVE_GATES) | ({"tls"} if dialect == ALL else set())
    assert "every request is built from it" in run.stdout


def _with_every_dialect_the_fault_fails_exactly_its_gate(local_target: LocalTarget,
                                                         fault: str) -> None:
    local_target.restart("--dialect", ALL, "--fault", fault)
    run = local_target.gate(*SCHEMA_GATES)
    doc = run.gates()
    failed = [g["name"] for g in doc["gates"] if g["verdict"] == "fail"]
    assert failed == [FAULTS[fault].gate], (fault, run.problems())
    assert doc["unverified_gates"] == [], (fault, run.problems())


def _family(faults: list[str]) -> type:
    """A class of cases: a unit of the parallel selftest run (xdist's loadscope), with a
    target of its own."""
    class Family:
        @pytest.mark.parametrize("fault", faults)
        def test_with_every_dialect_each_fault_still_fails_exactly_its_gate(
                self, local_target: LocalTarget, fault: str) -> None:
            _with_every_dialect_the_fault_fails_exactly_its_gate(local_target, fault)
    return Family


TestAccessFaults = _family([f for f in CAUGHT if FAULTS[f].gate in ACCESS])
TestDataFaults = _family([f for f in CAUGHT if FAULTS[f].gate not in ACCESS])


def test_with_every_dialect_the_load_journeys_pass(local_target: LocalTarget,
                                                   tmp_path: Path) -> None:
    local_target.restart("--dialect", ALL)
    profile = local_target.profile()
    # Signed-in journeys only, for 20 s: about 100 journeys, so the one-in-ten create-and-delete
    # task runs (the profile's 10 s mix is about 25 signed-in journeys: too few to be sure).
    # The anonymous health SLO goes with them, or it would be unmeasured.
    load = profile["load"]
    assert isinstance(load, dict)
    load.update(weights={"anonymous": 0, "signed_in": 1}, duration_s=20)
    load["endpoints"].pop("health")
    # What this case shows is that every journey's request succeeds in every dialect; its
    # latency, on a machine the parallel selftests share, is the load gate's own selftests'
    # concern, so the latency bounds are loose here and the failure ratios stay.
    for slo in [load["total"], *load["endpoints"].values()]:
        slo.update(p95_ms=60_000, p99_ms=60_000)
    run = local_target.gate_with_profile(profile, tmp_path, "--gate", "load",
                                         *modules_of(("load",)), "--", "-m", "slow",
                                         "-p", "no:randomly")
    gate = run.gate("load")
    assert gate["verdict"] == "pass", run.problems()
    endpoints = gate["data"]["endpoints"]
    for step in ("setup.record.create", "record.create", "record.read", "record.delete",
                 "records.list"):
        assert step in endpoints, (step, sorted(endpoints))
        assert endpoints[step]["requests"] > 0 and endpoints[step]["failures"] == 0, (
            step, endpoints[step])


def test_without_a_schema_the_contracts_minimal_shapes_still_pass(local_target: LocalTarget,
                                                                  tmp_path: Path) -> None:
    local_target.restart()
    profile = local_target.profile()
    del profile["graphql"]
    run = local_target.gate_with_profile(profile, tmp_path, "--gate", "auth",
                                         "--gate", "tenancy", LIVE, "--", "-m", "not slow")
    assert run.code == 0, run.problems()
    assert "GraphQL schema: none" in run.stdout
    assert run.gates()["run"]["notes"][0].startswith("GraphQL schema: none")


def test_requests_the_served_schema_rejects_are_inconclusive(local_target: LocalTarget,
                                                             tmp_path: Path) -> None:
    local_target.restart("--dialect", "renamed-input-types,extra-required-inputs")
    profile = local_target.profile()
    stale = tmp_path / "stale.graphql"
    stale.write_text((PROJECT / "reference" / "schema.graphql").read_text())
    profile["graphql"] = {"schema": [str(stale)]}  # the schema of another release
    run = local_target.gate_with_profile(profile, tmp_path, "--gate", "auth", LIVE, "--",
                                         "-m", "not slow", "-k", "anonymous_caller_is_refused")
    auth = run.gate("auth")
    assert run.code == 3 and auth["verdict"] == "inconclusive", run.problems()
    assert auth["failures"] == []
    unsure = {x["test"].split("[")[-1].rstrip("]"): x["reason"] for x in auth["inconclusive"]}
    assert {"createRecord", "updateRecord", "createTenant"} <= set(unsure), unsure
    assert all("rejected before execution" in r and "proves nothing" in r
               for r in unsure.values()), unsure
    assert auth["counts"]["passed"] > 10  # the rest were built right and refused
