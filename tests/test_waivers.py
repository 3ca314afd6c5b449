"""Waivers turn a known failure into a visible, time-limited exception; expired ones fail."""

from __future__ import annotations

import datetime as dt

from conftest import Workspace

FAILING = """
import pytest
pytestmark = [pytest.mark.gate("tls")]
def test_cert(): assert False, "certificate expires in 5 days"
def test_protocols(): pass
"""
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()
PAST = (dt.date.today() - dt.timedelta(days=1)).isoformat()


def test_active_gate_waiver_lets_the_run_pass_and_is_shown(ws: Workspace) -> None:
    ws.write_profile(waivers=[{"gate": "tls", "reason": "renewal pending at the registrar",
                               "expires": FUTURE}])
    ws.write_test("test_tls.py", FAILING)
    run = ws.run()
    assert run.code == 0, run.output
    gate = run.gate("tls")
    assert gate["verdict"] == "waived"
    assert gate["counts"] == {"passed": 1, "failed": 0, "inconclusive": 0, "skipped": 0,
                              "waived": 1, "unfinished": 0}
    assert gate["waivers"][0]["reason"] == "renewal pending at the registrar"
    assert gate["waivers"][0]["expired"] is False
    assert "WAIVED" in run.stdout and f"gate tls until {FUTURE}" in run.stdout


def test_active_test_waiver_matches_a_pattern(ws: Workspace) -> None:
    ws.write_profile(waivers=[{"test": "*test_tls.py::test_cert", "reason": "known issue #12",
                               "expires": FUTURE}])
    ws.write_test("test_tls.py", FAILING)
    run = ws.run()
    assert run.code == 0, run.output
    assert run.gate("tls")["verdict"] == "waived"


def test_test_waiver_does_not_cover_other_failures(ws: Workspace) -> None:
    ws.write_profile(waivers=[{"test": "*::test_cert", "reason": "known issue #12",
                               "expires": FUTURE}])
    ws.write_test("test_tls.py", FAILING.replace("def test_protocols(): pass",
                                                 "def test_protocols(): assert False, 'TLS 1.0'"))
    run = ws.run()
    assert run.code == 1
    gate = run.gate("tls")
    assert gate["verdict"] == "fail"
    assert [f["test"].split("::")[1] for f in gate["failures"]] == ["test_protocols"]
    assert gate["counts"]["waived"] == 1


def test_expired_waiver_counts_as_a_failure(ws: Workspace) -> None:
    ws.write_profile(waivers=[{"gate": "tls", "reason": "renewal pending at the registrar",
                               "expires": PAST}])
    ws.write_test("test_tls.py", FAILING)
    run = ws.run()
    assert run.code == 1
    gate = run.gate("tls")
    assert gate["verdict"] == "fail"
    assert gate["waivers"] == [{"subject": "gate tls", "gate": "tls", "test": None,
                                "reason": "renewal pending at the registrar", "expires": PAST,
                                "expired": True}]
    assert f"EXPIRED {PAST}" in run.stdout


def test_expired_waiver_fails_even_when_its_gate_passes(ws: Workspace) -> None:
    ws.write_profile(waivers=[{"gate": "tls", "reason": "renewal pending at the registrar",
                               "expires": PAST}])
    ws.write_test("test_tls.py", FAILING.replace('assert False, "certificate expires in 5 days"',
                                                 "pass"))
    run = ws.run()
    assert run.code == 1
    assert run.gates()["failing_gates"] == ["tls"]


def test_expired_waiver_for_a_test_that_did_not_run_still_fails(ws: Workspace) -> None:
    ws.write_profile(waivers=[{"test": "suites/staging/test_gone.py::test_x",
                               "reason": "removed check, stale waiver", "expires": PAST}])
    ws.write_test("test_tls.py", FAILING.replace('assert False, "certificate expires in 5 days"',
                                                 "pass"))
    run = ws.run()
    assert run.code == 1
    stale = run.gates()["expired_waivers_not_run"][0]
    assert stale["test"] == "suites/staging/test_gone.py::test_x"
