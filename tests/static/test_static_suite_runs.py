"""The static gate end to end, as a user runs it: pytest with the gate plugin, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from static_mutations import PROJECT, apply, copy_manifests
from static_rule_mutations import MUTATIONS

DATA = PROJECT / "tests" / "data"
# Each run starts a pytest process with the gate plugin: a few seconds apiece.
pytestmark = pytest.mark.slow


def run_suite(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VVGATE_", "GITHUB_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/static", "--target", "staging",
         "--report-dir", str(tmp_path / "reports"), "-q", "-rfs", "-p", "no:randomly", *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def failed_ids(output: str) -> set[str]:
    return set(re.findall(r"^FAILED \S+::test_\w+\[([^\]]+)\]", output, re.M))


def test_mutated_tree_outside_the_project_fails_exactly_that_rule(tmp_path: Path) -> None:
    mutation = next(m for m in MUTATIONS if m.rule == "BP-PDB")
    root = copy_manifests(tmp_path)
    apply(root, mutation)
    code, out = run_suite(tmp_path, "--manifests", str(root))
    assert code == 1, out
    assert failed_ids(out) == {
        "BP-PDB:staging/Deployment/vinylvault-staging/frontend",
        "BP-PDB:production/Deployment/vinylvault-production/frontend",
        "BP-PDB:local/Deployment/vinylvault-local/frontend",
    }, out
    sarif = json.loads((tmp_path / "reports" / "latest" / "findings.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"BP-PDB"} and len(results) == 3
    # The run says what judged Pod Security: here, where the binaries are built, the server.
    notes = json.loads((tmp_path / "reports" / "latest" / "gates.json").read_text())["run"]["notes"]
    assert any(n.startswith("Pod Security: judged by kube-apiserver v") for n in notes), notes
    assert "note: Pod Security: judged by kube-apiserver" in out


def test_single_overlay_runs_and_skips_pair_rules_with_a_reason(tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    code, out = run_suite(tmp_path, "--manifests", str(root / "overlays" / "production"))
    assert code == 0, out
    assert "needs both the staging and the production overlay" in out


def test_missing_manifests_path_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out = run_suite(tmp_path, "--manifests", str(tmp_path / "nope"))
    assert code == 2, out
    assert re.search(r"vvgate: error: --manifests \S+/nope: no such file or directory", out)


def test_app_repo_checks(tmp_path: Path) -> None:
    code, out = run_suite(tmp_path, "-k", "app_repo", "--app-repo", str(DATA / "app-repo-bad"))
    assert code == 1, out
    assert {i.split(":")[0] for i in failed_ids(out)} == {
        "APP-DOCKER-USER", "APP-DOCKER-HEALTHCHECK", "APP-DOCKER-PM-PINNED",
        "APP-DOCKER-LOCKFILE-FIRST", "APP-DOCKERIGNORE", "APP-ENV-SAMPLE",
        "APP-WORKFLOW-PROD-GATED", "APP-WORKFLOW-SHA-TAGS"}
    code, out = run_suite(tmp_path, "-k", "app_repo", "--app-repo", str(DATA / "app-repo-good"))
    assert code == 0, out


def test_app_repo_checks_are_skipped_with_a_reason_when_not_requested(tmp_path: Path) -> None:
    code, out = run_suite(tmp_path, "-k", "app_repo")
    # Only skipped checks were selected: on a staging target that is not verified (exit 3).
    assert code == 3, out
    assert "no --app-repo given" in out and "manifests NOT-RUN: not verified" in out
