"""Which target a run uses, and what it says when the default local target is not running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT, VVGATE, Workspace


def _pytest(
    args: list[str], env: dict[str, str], cwd: Path = PROJECT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_no_target_means_local_and_says_how_to_start_it(ws: Workspace) -> None:
    proc = _pytest(["suites/staging", "-m", "smoke"], ws.env)
    assert proc.returncode == 2
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "vvgate: error: the local target is not running" in lines[0]
    assert lines[0].endswith("start it with: vvgate local up")
    assert not (Path(ws.env["VVGATE_STATE_DIR"])).exists()


def test_target_can_come_from_the_environment(ws: Workspace) -> None:
    ws.write_profile(name="fromenv")
    ws.write_test("test_m.py", "import pytest\npytestmark=[pytest.mark.gate('manifests')]\n"
                               "def test_ok(): pass\n")
    env = {**ws.env, "VVGATE_TARGET": str(ws.profile_path)}
    proc = _pytest(["-p", "vvgate.gates.plugin", "-c", str(PROJECT / "pyproject.toml"),
                    "--report-dir", str(ws.reports), str(ws.suite)], env, cwd=ws.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "vvgate target: fromenv (staging) https://demo.example.test" in proc.stdout


def test_generated_profiles_resolve_by_name(ws: Workspace) -> None:
    generated = Path(ws.env["VVGATE_STATE_DIR"]) / "local" / "target.yaml"
    generated.parent.mkdir(parents=True)
    generated.write_text("name: local\nkind: local\nhost: vinylvault.local.test\n"
                         "base_url: https://vinylvault.local.test\n")
    proc = subprocess.run([*VVGATE, "targets"], env=ws.env, capture_output=True, text=True,
                          cwd=ws.root)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert set(rows) == {"local", "staging", "production"}
    assert rows["local"].split()[1:3] == ["local", "vinylvault.local.test"]


def test_targets_flags_an_invalid_profile_and_exits_2(ws: Workspace) -> None:
    broken = Path(ws.env["VVGATE_STATE_DIR"]) / "local" / "target.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("name: local\nkind: localish\n")
    proc = subprocess.run([*VVGATE, "targets"], env=ws.env, capture_output=True, text=True,
                          cwd=ws.root)
    assert proc.returncode == 2
    local = next(line for line in proc.stdout.splitlines() if line.startswith("local "))
    assert "INVALID:" in local and "target.yaml:2: kind" in local


def test_static_suite_needs_no_running_target(ws: Workspace) -> None:
    # The whole suite: a fresh checkout's `pytest suites/static` must pass on the project's
    # own manifests, so the stand-in profile may not hold the overlays to its placeholders.
    proc = _pytest(["suites/static", "--report-dir", str(ws.reports), "-q"], ws.env)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr
    gates = json.loads((ws.reports / "latest" / "gates.json").read_text())
    assert gates["target"]["name"] == "offline"
    assert [g["name"] for g in gates["gates"]] == ["manifests"]
