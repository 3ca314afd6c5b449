"""Each fault, alone, fails exactly the gate the fault table names when the staging suite runs.

Several minutes (a restart and a full suite run, load gate included, per fault), so opt-in:
VVGATE_SELFTEST_FAULT_GATES=1 .venv/bin/pytest tests/local_target/test_fault_gates.py
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from reference.faults import FAULTS

from .helpers import Cli, pid_alive, run_suite

pytestmark = pytest.mark.skipif(os.environ.get("VVGATE_SELFTEST_FAULT_GATES") != "1",
                                reason="slow; set VVGATE_SELFTEST_FAULT_GATES=1")


def _fresh_bff(cli: Cli) -> None:
    """Stop the BFF so the next `up` restarts it: a new process starts with empty 15-minute
    rate-limit windows, as a fresh pod would, so earlier suite runs cannot cause 429s."""
    pid = cli.pids().get("bff")
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_fails_only_its_gate(cli: Cli, tmp_path: Path, name: str) -> None:
    _fresh_bff(cli)
    cli.up("--fault", name)
    code, verdicts, output = run_suite(cli, tmp_path)
    fault = FAULTS[name]
    if fault.gate not in verdicts:
        pytest.skip(f"the staging suite has no {fault.gate} checks yet")
    failing = {gate for gate, verdict in verdicts.items() if verdict != "PASS"}
    assert failing == {fault.gate}, output[-3000:]
    assert code != 0
