"""The suite's main proof: against the local target, every gate passes with no fault, and
each fault switch makes exactly the gate it breaks fail, and no other.

Before each case the BFF is stopped, so `up --fault` starts a fresh one: its
in-memory rate-limit windows, of which a full run spends a share, start empty,
as on a new pod. Everything else restarts only where the fault set changed.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_target import LocalTarget, modules_of
from reference.faults import FAULTS
from vvgate.gates.catalog import GATES, Severity
from vvgate.targets.secret_store import read_env_file

# The load gate runs Locust for a while; its own selftests cover its faults.
FAULT_CASES = [name for name, fault in FAULTS.items() if fault.gate != "load"]
# Their leaf fails verification, so the other gates pin to the one the tls scan recorded.
PINNED = {"wrong-host-cert", "untrusted-cert", "weak-leaf-key", "sha1-leaf"}


def _of(*gates: str) -> list[str]:
    return [name for name in FAULT_CASES if FAULTS[name].gate in gates]


def _exactly_the_broken_gate_fails(local_target: LocalTarget, fault: str | None) -> None:
    local_target.restart(*(["--fault", fault] if fault else []))
    run = local_target.gate()
    doc = run.gates()
    verdicts = {g["name"]: g["verdict"] for g in doc["gates"]}
    failures = [f"{f['test']}: {f['message'][:160]}" for g in doc["gates"]
                for f in g["failures"]]
    expected = [] if fault is None else [FAULTS[fault].gate, *FAULTS[fault].also_fails]
    failed = [g for g, v in verdicts.items() if v == "fail"]
    assert failed == expected, (
        f"fault {fault}: expected failing gates {expected}, got {failed} "
        f"({verdicts}); failures: {failures[:6]}")
    # An advisory gate (a contract SHOULD) fails without blocking the release.
    blocking = [g for g in expected if GATES[g].severity is Severity.BLOCKING]
    assert doc["failing_gates"] == blocking, doc["failing_gates"]
    assert run.code == (1 if blocking else 0), run.stderr[-500:]
    trust = doc["run"]["https_trust"]
    assert trust["mode"] == ("pinned" if fault in PINNED else "verified"), trust
    if fault in PINNED:
        assert f"pinned to scanned leaf sha256 {trust['leaf_sha256']}" in run.stdout
        assert "because verification failed: " in (run.run_dir / "report.html").read_text()
    if fault is None:
        assert set(verdicts) >= {"auth", "database", "graphql", "headers", "health", "tenancy",
                                 "tls"}
        # This target has no Kubernetes API: its cluster gates are not-run, never a pass.
        assert {g: v for g, v in verdicts.items() if v != "pass"} == {
            "storage": "not-run", "rollout": "not-run"}, verdicts
        return
    # The failure carries its evidence, and no secret of the target reaches a report.
    page = (run.run_dir / "report.html").read_text()
    assert "--- response ---" in page or "certificate" in page, "no evidence in report.html"
    secrets = read_env_file(local_target.state / "local" / "secrets.env")
    for name in ("report.html", "junit.xml", "gates.json"):
        text = (run.run_dir / name).read_text()
        leaked = [key for key, value in secrets.items() if len(value) >= 8 and value in text]
        assert not leaked, f"{name} contains the values of {leaked}"


def _family(cases: list[str | None]) -> type:
    """A class of fault cases: the unit the parallel selftest run (xdist's loadscope) hands
    to one worker, with a local target of its own."""
    class Family:
        @pytest.mark.parametrize("fault", cases, ids=lambda c: c or "no-fault")
        def test_exactly_the_broken_gate_fails(self, local_target: LocalTarget,
                                               fault: str | None) -> None:
            _exactly_the_broken_gate_fails(local_target, fault)
    return Family


TestRequestGates = _family(_of("auth", "ownership"))
TestSchemaGates = _family(_of("graphql", "tenancy"))
TestResponseGates = _family(_of("headers"))
TestTransportGates = _family([None, *_of("tls", "tls-suites", "database", "health")])


def test_every_fault_has_a_case() -> None:
    families = (TestRequestGates, TestSchemaGates, TestResponseGates, TestTransportGates)
    covered = [mark.args[1] for cls in families
               for mark in cls.test_exactly_the_broken_gate_fails.pytestmark]
    cases = [c for values in covered for c in values if c is not None]
    assert sorted(cases) == sorted(FAULT_CASES), set(FAULT_CASES) ^ set(cases)


def test_a_profile_makes_an_advisory_gate_block(local_target: LocalTarget,
                                                tmp_path: Path) -> None:
    local_target.restart("--fault", "member-edits-any")
    profile = local_target.profile()
    profile["gates"] = {"ownership": "blocking"}
    run = local_target.gate_with_profile(profile, tmp_path, "--gate", "ownership",
                                         *modules_of(("ownership",)))
    assert run.code == 1 and run.gates()["failing_gates"] == ["ownership"], run.stdout[-800:]
    assert run.gate("ownership")["severity"] == "blocking"


def test_an_unrefused_read_shows_what_real_ids_hand_out(local_target: LocalTarget) -> None:
    # The probe's made-up id finds nothing ("user": null); the message repeats the call with a
    # synthetic user's real id, so the report shows that an email address leaks.
    local_target.restart("--fault", "anonymous-user-read")
    run = local_target.gate("auth", markexpr="not slow")
    [failure] = run.gate("auth")["failures"]
    assert "test_anonymous_caller_is_refused[user]" in failure["test"]
    assert "real ids it answered" in failure["message"] and "@invalid.test" in failure["message"]


def _spend_rate_limit(profile: dict[str, Any], path: str, cap: int = 200) -> int:
    """GETs `path` until the target answers 429 (at most `cap` times): the window another run
    or a user spent. Returns the number of requests it took."""
    context = ssl.create_default_context(cafile=profile["ca_bundle"])
    host = profile["host"]
    with httpx.Client(verify=context) as client:
        for sent in range(1, cap + 1):
            response = client.get(f"https://{profile['address_override']}{path}",
                                  headers={"Host": host}, extensions={"sni_hostname": host})
            if response.status_code == 429:
                return sent
    raise AssertionError(f"{path} never answered 429 in {cap} requests")


def test_a_spent_rate_limit_window_is_inconclusive_never_a_defect(
        local_target: LocalTarget) -> None:
    local_target.restart()
    _spend_rate_limit(local_target.profile(), "/auth/github")
    run = local_target.gate("auth")
    auth = run.gate("auth")
    assert auth["failures"] == [] and auth["verdict"] == "inconclusive", run.problems()
    unsure = {x["test"]: x["reason"] for x in auth["inconclusive"]}
    # logout asserts its status: without the window it would call the 429 a defect
    [logout] = [r for t, r in unsure.items() if "test_logout_ends_the_session" in t]
    assert "POST /auth/logout with 429 (rate limit)" in logout, logout
    assert run.code == 3
