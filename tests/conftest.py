"""Helpers for selftests that run the gate suite as a separate process.

Suite runs happen in subprocesses so that each gets a fresh pytest with the
gate plugin active, exactly as a user's `pytest` or `vvgate run` would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
VVGATE = [sys.executable, "-m", "vvgate"]


@dataclass
class SuiteRun:
    code: int
    stdout: str
    stderr: str
    reports: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def run_dir(self) -> Path:
        return (self.reports / "latest").resolve()

    def gates(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "gates.json").read_text())

    def gate(self, name: str) -> dict[str, Any]:
        return next(g for g in self.gates()["gates"] if g["name"] == name)

    def problems(self) -> list[str]:
        """Each failing or inconclusive check in a line, for an assertion's message."""
        return [f"{g['name']} {g['verdict']}: {x.get('message') or x.get('reason')}"[:240]
                for g in self.gates()["gates"] for x in [*g["failures"], *g["inconclusive"]]]


class Workspace:
    """A throwaway suite tree and profile, run through `vvgate run`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.suite = root / "suite"
        self.suite.mkdir()
        self.reports = root / "reports"
        self.profile_path = root / "profile.yaml"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("VVGATE_", "GITHUB_"))}
        self.env["VVGATE_STATE_DIR"] = str(root / "state")
        # Something that accepts TCP on loopback, so the preflight finds the host up.
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"

    def write_profile(self, **overrides: Any) -> Path:
        data: dict[str, Any] = {
            "name": "demo",
            "kind": "staging",
            "host": "demo.example.test",
            "base_url": "https://demo.example.test",
            "address_override": self.address,
        }
        data.update(overrides)
        self.profile_path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self.profile_path

    def write_test(self, name: str, source: str) -> Path:
        path = self.suite / name
        path.write_text(textwrap.dedent(source))
        return path

    def vvgate(self, *args: str, env: dict[str, str] | None = None) -> SuiteRun:
        proc = subprocess.run(
            [*VVGATE, *args], cwd=self.root, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=300,
        )
        return SuiteRun(proc.returncode, proc.stdout, proc.stderr, self.reports)

    def run(self, *extra: str, pytest_args: tuple[str, ...] = (),
            env: dict[str, str] | None = None) -> SuiteRun:
        return self.vvgate("run", "--target", str(self.profile_path), "--report-dir",
                           str(self.reports), *extra, str(self.suite), "--", *pytest_args,
                           env=env)


def local_env(state: Path) -> dict[str, str]:
    """The environment that points `vvgate` at a local target kept in `state`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("VVGATE_")},
            "VVGATE_STATE_DIR": str(state)}


@contextmanager
def running_local_target(state: Path) -> Iterator[dict[str, str]]:
    """A local target of the selftest's own (never a developer's), stopped and purged after."""
    env = local_env(state)
    subprocess.run([*VVGATE, "local", "up"], env=env, check=True, capture_output=True,
                   timeout=180)
    try:
        yield env
    finally:
        subprocess.run([*VVGATE, "local", "down", "--purge"], env=env, capture_output=True,
                       timeout=120)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path)
    yield workspace
    workspace.listener.close()


@pytest.fixture(scope="module")
def local_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A module's own local target (live_target.LocalTarget), purged after its last case."""
    from live_target import LocalTarget  # it builds on this module's helpers

    local = LocalTarget(tmp_path_factory.mktemp("state"), tmp_path_factory.mktemp("reports"))
    try:
        yield local
    finally:
        local.local("down", "--purge")
