"""Every check belongs to exactly one known gate; --gate selects; verdicts follow severity."""

from __future__ import annotations

from conftest import Workspace
from vvgate.gates.catalog import GATES

PASSING = """
import pytest
pytestmark = [pytest.mark.gate("{gate}")]
def test_ok(): pass
"""
FAILING = """
import pytest
pytestmark = [pytest.mark.gate("{gate}")]
def test_broken(): assert 1 == 2, "{gate} check found a defect"
"""


def test_a_check_without_a_gate_is_an_error(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_nogate.py", "def test_orphan(): pass\n")
    run = ws.run()
    assert run.code == 2
    assert "test_nogate.py::test_orphan has 0 gate markers" in run.output
    assert "Traceback" not in run.output


def test_a_check_with_two_gates_is_an_error(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_two.py", """
        import pytest
        pytestmark = [pytest.mark.gate("tls")]
        @pytest.mark.gate("headers")
        def test_both(): pass
    """)
    run = ws.run()
    assert run.code == 2
    assert "test_two.py::test_both has 2 gate markers" in run.output


def test_a_gate_marker_naming_no_gate_is_an_error(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_typo.py", PASSING.format(gate="tsl"))
    run = ws.run()
    assert run.code == 2
    assert "names no known gate" in run.output


def test_an_unregistered_marker_is_an_error(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_marker.py", """
        import pytest
        pytestmark = [pytest.mark.gate("tls"), pytest.mark.smokey]
        def test_x(): pass
    """)
    run = ws.run()
    assert run.code == 2
    assert "'smokey' not found in `markers` configuration option" in run.output


def test_gate_option_selects_only_that_gate(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_manifests.py", PASSING.format(gate="manifests"))
    ws.write_test("test_auth.py", FAILING.format(gate="auth"))
    run = ws.run("--gate", "manifests")
    assert run.code == 0, run.output
    assert [g["name"] for g in run.gates()["gates"]] == ["manifests"]


def test_an_unknown_gate_option_is_a_usage_error(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_manifests.py", PASSING.format(gate="manifests"))
    run = ws.run("--gate", "tsl")
    assert run.code == 2
    assert run.stderr.strip().splitlines() == [
        f"vvgate: error: unknown gate 'tsl'; known gates: {', '.join(GATES)}"
    ]


def test_a_requested_gate_with_no_checks_is_not_run_and_blocks(ws: Workspace) -> None:
    ws.write_profile(kind="local")
    ws.write_test("test_manifests.py", PASSING.format(gate="manifests"))
    run = ws.run("--gate", "manifests", "--gate", "rollout")
    assert run.code == 3, run.output
    assert run.gate("rollout")["verdict"] == "not-run"
    assert run.gate("rollout")["not_verified"] == "no check of this gate was selected"
    doc = run.gates()
    assert doc["failing_gates"] == [] and doc["unverified_gates"] == ["rollout"]
    assert doc["verdict"] == "inconclusive"


def test_blocking_failure_fails_the_run_and_names_the_gate(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_manifests.py", PASSING.format(gate="manifests"))
    ws.write_test("test_headers.py", FAILING.format(gate="headers"))
    run = ws.run()
    assert run.code == 1
    doc = run.gates()
    assert doc["verdict"] == "fail" and doc["exit_code"] == 1
    assert doc["failing_gates"] == ["headers"]
    assert run.gate("manifests")["verdict"] == "pass"
    failure = run.gate("headers")["failures"][0]
    assert failure["test"].endswith("test_headers.py::test_broken")
    assert "headers check found a defect" in failure["message"]


def test_advisory_failure_is_reported_but_does_not_block(ws: Workspace) -> None:
    ws.write_profile(gates={"headers": "advisory"})
    ws.write_test("test_headers.py", FAILING.format(gate="headers"))
    run = ws.run()
    assert run.code == 0, run.output
    gate = run.gate("headers")
    assert gate["verdict"] == "fail" and gate["severity"] == "advisory"
    assert not gate["blocks"]
    assert "FAIL (advisory)" in run.stdout


def test_a_set_up_that_breaks_is_inconclusive_not_a_defect(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_setup.py", """
        import pytest
        pytestmark = [pytest.mark.gate("tls")]
        @pytest.fixture
        def broken(): raise RuntimeError("fixture could not reach the thing")
        def test_x(broken): pass
        def test_y(): pass
    """)
    run = ws.run()
    assert run.code == 3, run.output
    gate = run.gate("tls")
    assert gate["verdict"] == "inconclusive" and gate["blocks"]
    assert gate["counts"]["inconclusive"] == 1 and gate["counts"]["failed"] == 0
    assert gate["inconclusive"][0]["reason"] == (
        "the check could not be carried out in set-up: RuntimeError: fixture could not reach "
        "the thing")
    assert "not verified" in run.stdout and "INCONCLUSIVE" in run.stdout


def test_skips_are_counted_with_their_reason(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_skip.py", """
        import pytest
        pytestmark = [pytest.mark.gate("tls")]
        def test_rs(): pytest.skip("single-node local target has no replica set")
        def test_ok(): pass
    """)
    run = ws.run()
    assert run.code == 0, run.output
    gate = run.gate("tls")
    assert gate["counts"]["skipped"] == 1 and gate["counts"]["passed"] == 1
    assert gate["skips"][0]["reason"].endswith("single-node local target has no replica set")
