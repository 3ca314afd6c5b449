"""Broken manifests fail the right gate, with the cluster's evidence in the report.

Each case copies the manifests, breaks one thing with a Kustomize patch on the local
overlay, and runs the cluster gates against the local cluster with --manifests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.cluster.test_local_cluster import gates, run_suite
from tests.local_target.helpers import PROJECT, Cli

# Long enough for the healthy objects on a loaded two-core machine (25 s was not, beside the
# fault matrix). Only a case that may yet become ready (never-ready) waits it out; the wait
# stops at once on a state waiting cannot fix, and says which (vvgate/kube/stuck.py).
READY_TIMEOUT_S = 60
STS_PATCH = "StatefulSet", "mongodb-bff"
CASES = {
    # A class nobody provisions: the claims stay Pending, the StatefulSet never Ready.
    "wrong-storage-class": ("database", STS_PATCH, [
        {"op": "replace", "path": "/spec/volumeClaimTemplates/0/spec/storageClassName",
         "value": "nfs-missing"}], "StorageClass 'nfs-missing' does not exist"),
    # A selector on a dynamically provisioned claim cannot be satisfied.
    "unsatisfiable-pvc": ("database", STS_PATCH, [
        {"op": "add", "path": "/spec/volumeClaimTemplates/0/spec/selector",
         "value": {"matchLabels": {"vvgate.io/volume": "none"}}}], "ProvisioningFailed"),
    # kwok's vvgate-crashloop stage: Running, never Ready, restarting.
    "crashloop": ("rollout", ("Deployment", "bff"), [
        {"op": "add", "path": "/spec/template/metadata/labels/vvgate.io~1simulate",
         "value": "crashloop"}], "CrashLoopBackOff"),
    # No stage matches: scheduled, never started.
    "never-ready": ("rollout", ("Deployment", "frontend"), [
        {"op": "add", "path": "/spec/template/metadata/labels/vvgate.io~1simulate",
         "value": "never-ready"}], "not ready after"),
    # A Secret the backend reads that nothing creates.
    "missing-secret": ("rollout", ("Deployment", "backend"), [
        {"op": "add", "path": "/spec/template/spec/containers/0/envFrom",
         "value": [{"secretRef": {"name": "vvgate-nonexistent-secret"}}]}],
     "vvgate-nonexistent-secret"),
}


def broken_copy(tmp: Path, kind: str, name: str, ops: list[dict[str, object]]) -> Path:
    root = tmp / "manifests"
    shutil.copytree(PROJECT / "manifests", root,
                    ignore=shutil.ignore_patterns("secrets"))
    overlay = root / "overlays" / "local"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization.setdefault("patches", []).append(
        {"target": {"kind": kind, "name": name}, "patch": yaml.safe_dump(ops)})
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return root


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_manifests_fail_their_gate(cluster_cli: Cli, tmp_path: Path, case: str) -> None:
    gate, (kind, name), ops, why = CASES[case]
    root = broken_copy(tmp_path, kind, name, ops)
    proc = run_suite(cluster_cli, tmp_path / "reports", "--manifests", str(root),
                     ready_timeout_s=READY_TIMEOUT_S)
    summary = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    output = "\n".join(summary) + "\n" + proc.stdout[-1500:] + proc.stderr[-1000:]
    assert proc.returncode == 1, output
    assert why in proc.stdout + proc.stderr, (why, output)
    verdicts = gates(tmp_path / "reports")
    assert verdicts[gate] == "fail", (verdicts, output)
    others = {g: v for g, v in verdicts.items() if g != gate and v != "pass"}
    assert not others, (others, output)
    junit = (tmp_path / "reports" / "latest" / "junit.xml").read_text()
    assert "== objects ==" in junit or "objects" in junit
    html = (tmp_path / "reports" / "latest" / "report.html").read_text()
    assert "events" in html and "pvc-pv" in html, "cluster evidence missing from the report"
