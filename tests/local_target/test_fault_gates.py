"""Each fault, alone, fails exactly the gate the fault table names when the staging suite runs.

About two minutes (one restart and one suite run per fault), so opt-in:
VVGATE_SELFTEST_FAULT_GATES=1 .venv/bin/pytest tests/local_target/test_fault_gates.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reference.faults import FAULTS

from .helpers import Cli, run_suite

pytestmark = pytest.mark.skipif(os.environ.get("VVGATE_SELFTEST_FAULT_GATES") != "1",
                                reason="slow; set VVGATE_SELFTEST_FAULT_GATES=1")


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_fails_only_its_gate(cli: Cli, tmp_path: Path, name: str) -> None:
    cli.up("--fault", name)
    code, verdicts, output = run_suite(cli, tmp_path)
    fault = FAULTS[name]
    if fault.gate not in verdicts:
        pytest.skip(f"the staging suite has no {fault.gate} checks yet")
    failing = {gate for gate, verdict in verdicts.items() if verdict != "PASS"}
    assert failing == {fault.gate}, output[-3000:]
    assert code != 0
