"""Three outcomes per check, and gate verdicts that never call "nothing ran" a pass.

A defect observed fails; a check that could not be carried out is inconclusive and blocks,
saying "not verified" and why; a gate whose checks all skipped is not-run, which blocks on
staging and production; a run stopped by a signal says so and marks what did not finish.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import Workspace

INCONCLUSIVE = """
import pytest
from vvgate.gates.inconclusive import inconclusive
pytestmark = [pytest.mark.gate("auth")]
def test_probe(evidence):
    evidence.text("the request", "POST /graphql -> 400")
    inconclusive("the request was rejected before execution")
def test_other(): pass
"""
SKIPPING = """
import pytest
pytestmark = [pytest.mark.gate("rollout")]
def test_a(): pytest.skip("this target has no cluster")
def test_b(): pytest.skip("this target has no cluster")
"""
PASSING = """
import pytest
pytestmark = [pytest.mark.gate("{gate}")]
def test_ok(): pass
"""


def test_an_inconclusive_check_blocks_as_not_verified(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_auth.py", INCONCLUSIVE)
    run = ws.run()
    assert run.code == 3, run.output
    doc = run.gates()
    assert doc["verdict"] == "inconclusive" and doc["exit_code"] == 3
    assert doc["failing_gates"] == [] and doc["unverified_gates"] == ["auth"]
    gate = run.gate("auth")
    assert gate["verdict"] == "inconclusive" and gate["blocks"]
    assert gate["counts"]["inconclusive"] == 1 and gate["counts"]["passed"] == 1
    assert gate["not_verified"] == "the request was rejected before execution"
    assert gate["failures"] == []
    assert "auth INCONCLUSIVE: not verified: the request was rejected" in run.stdout
    assert "gate verdict: INCONCLUSIVE (exit 3)" in run.stdout
    # its evidence is in the report, as a failure's would be
    page = (run.run_dir / "report.html").read_text()
    assert "POST /graphql -&amp;gt; 400" in page and "the request" in page
    # JUnit readers see a check that did not run, not a defect
    case = next(c for c in ET.parse(run.run_dir / "junit.xml").iter("testcase")
                if c.get("name") == "test_probe")
    skipped = case.find("skipped")
    assert skipped is not None and case.find("failure") is None
    assert "Inconclusive: the request was rejected" in (skipped.get("message") or "")


def test_a_defect_outranks_an_inconclusive_check(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_auth.py", INCONCLUSIVE)
    ws.write_test("test_headers.py", """
        import pytest
        pytestmark = [pytest.mark.gate("headers")]
        def test_hsts(): assert False, "no Strict-Transport-Security"
    """)
    run = ws.run()
    assert run.code == 1
    assert run.gates()["failing_gates"] == ["headers"]
    assert run.gates()["unverified_gates"] == ["auth"]


def test_an_exception_that_is_no_assertion_is_inconclusive(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_auth.py", """
        import pytest
        pytestmark = [pytest.mark.gate("auth")]
        def test_probe(): {}["missing"]
    """)
    run = ws.run()
    assert run.code == 3
    reason = run.gate("auth")["inconclusive"][0]["reason"]
    assert reason == "the check could not be carried out: KeyError: 'missing'"


def test_a_gate_whose_checks_all_skipped_is_not_run_and_blocks_on_staging(
        ws: Workspace) -> None:
    ws.write_profile(kind="staging")
    ws.write_test("test_rollout.py", SKIPPING)
    ws.write_test("test_manifests.py", PASSING.format(gate="manifests"))
    run = ws.run()
    assert run.code == 3, run.output
    gate = run.gate("rollout")
    assert gate["verdict"] == "not-run" and gate["blocks"]
    assert gate["not_verified"] == ("every check skipped: this target has no cluster "
                                    "(and 1 more)")
    assert run.gate("manifests")["verdict"] == "pass"


def test_not_run_is_shown_but_does_not_block_on_the_local_target(ws: Workspace) -> None:
    ws.write_profile(kind="local")
    ws.write_test("test_rollout.py", SKIPPING)
    ws.write_test("test_manifests.py", PASSING.format(gate="manifests"))
    run = ws.run()
    assert run.code == 0, run.output
    assert run.gate("rollout")["verdict"] == "not-run" and not run.gate("rollout")["blocks"]
    assert "NOT-RUN (not blocking)" in run.stdout


def test_a_profile_can_make_a_not_run_gate_advisory_or_waive_it(ws: Workspace) -> None:
    ws.write_test("test_rollout.py", SKIPPING)
    ws.write_profile(gates={"rollout": "advisory"})
    assert ws.run().code == 0
    ws.write_profile(waivers=[{"gate": "rollout", "reason": "no cluster access from this runner",
                               "expires": "2099-01-01"}])
    run = ws.run()
    assert run.code == 0, run.output
    assert run.gate("rollout")["verdict"] == "waived"


def test_a_run_stopped_by_sigterm_says_interrupted_and_marks_what_did_not_finish(
        ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_a_manifests.py", PASSING.format(gate="manifests"))
    ws.write_test("test_b_tls.py", """
        import os, signal
        import pytest
        pytestmark = [pytest.mark.gate("tls")]
        def test_first(): pass
        def test_stopped(): os.kill(os.getpid(), signal.SIGTERM)
        def test_never(): pass
    """)
    ws.write_test("test_c_headers.py", PASSING.format(gate="headers"))
    run = ws.run()
    assert run.code == 130, run.output
    doc = run.gates()
    assert doc["verdict"] == "interrupted" and doc["interrupted"] is True
    assert doc["run"]["interrupted_by"] == "SIGTERM"
    verdicts = {g["name"]: g["verdict"] for g in doc["gates"]}
    assert verdicts == {"manifests": "pass", "tls": "interrupted", "headers": "interrupted"}
    assert run.gate("tls")["counts"]["unfinished"] == 2
    assert run.gate("headers")["not_verified"] == (
        "the run was interrupted before 1 check(s) finished")
    assert "gate verdict: INTERRUPTED (exit 130, interrupted by SIGTERM)" in run.stdout
