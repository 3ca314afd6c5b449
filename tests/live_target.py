"""A local target of a selftest's own, driven as `vvgate local` and `vvgate run` would be.

The fault and dialect matrices share it: each case starts the target with its switches,
with a fresh BFF (its in-memory rate-limit windows, of which a full run spends a share,
start empty, as on a new pod), then runs the live suite against it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from conftest import PROJECT, VVGATE, SuiteRun, local_env

LIVE = str(PROJECT / "suites" / "staging")
# The load gate runs Locust for a while; the load gate's selftests cover it.
NOT_SLOW = "not slow"


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a reaper that may be slow to come."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def modules_of(gates: tuple[str, ...]) -> list[str]:
    """The live modules holding checks of `gates` (all of them for none): collecting only
    those spares each run the imports of the others (sslyze, Locust's planner, ...)."""
    if not gates:
        return [LIVE]
    marks = tuple(f'pytest.mark.gate("{g}")' for g in gates)
    return [str(p) for p in sorted(Path(LIVE).glob("test_*.py"))
            if any(m in p.read_text() for m in marks)]


class LocalTarget:
    def __init__(self, state: Path, reports: Path) -> None:
        self.state = state
        self.env = local_env(state)
        self.reports = reports

    def local(self, *args: str) -> None:
        proc = subprocess.run([*VVGATE, "local", *args], env=self.env, capture_output=True,
                              text=True, timeout=180)
        assert proc.returncode == 0, f"vvgate local {' '.join(args)}: {proc.stderr.strip()}"

    def fresh_bff(self) -> None:
        record = self.state / "local" / "run" / "bff.json"
        if not record.exists():
            return
        pid = int(json.loads(record.read_text())["pid"])
        with contextlib.suppress(ProcessLookupError):
            # SIGKILL: a graceful stop only waits out the ingress's idle connections, and
            # nothing of the BFF's needs to survive (its sessions live in MongoDB).
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)

    def gate(self, *gates: str, markexpr: str = NOT_SLOW) -> SuiteRun:
        """The live suite (only `gates`, when given) against this target."""
        selected = [arg for gate in gates for arg in ("--gate", gate)]
        proc = subprocess.run(
            [*VVGATE, "run", "--target", "local", "--report-dir", str(self.reports), *selected,
             *modules_of(gates), "--", "-m", markexpr, "-p", "no:randomly"],
            env=self.env, capture_output=True, text=True, timeout=600, cwd=PROJECT)
        return SuiteRun(proc.returncode, proc.stdout, proc.stderr, self.reports)

    def profile(self) -> dict[str, Any]:
        """The profile `vvgate local up` generated, for a case to change and run with."""
        profile: dict[str, Any] = yaml.safe_load(
            (self.state / "local" / "target.yaml").read_text())
        return profile

    def gate_with_profile(self, profile: dict[str, Any], tmp_path: Path, *args: str,
                          ) -> SuiteRun:
        """`vvgate run` with a changed profile (written under tmp_path) and these arguments."""
        path = tmp_path / "profile.yaml"
        path.write_text(yaml.safe_dump(profile))
        proc = subprocess.run(
            [*VVGATE, "run", "--target", str(path), "--report-dir", str(self.reports), *args],
            env=self.env, capture_output=True, text=True, timeout=600, cwd=PROJECT)
        return SuiteRun(proc.returncode, proc.stdout, proc.stderr, self.reports)

    def restart(self, *up_args: str) -> None:
        """The target with exactly these switches, and a BFF with empty rate-limit windows."""
        self.fresh_bff()
        self.local("up", *up_args)
