"""The per-kind readiness verdicts, on hand-made objects (no cluster needed)."""

from __future__ import annotations

from typing import Any

from vvgate.kube import readiness


def _obj(kind: str, spec: dict[str, Any], status: dict[str, Any],
         generation: int = 1) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "x", "generation": generation},
            "spec": spec, "status": {"observedGeneration": 1, **status}}


def test_deployment_needs_complete_rollout_and_available() -> None:
    ok = _obj("Deployment", {"replicas": 2}, {
        "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
        "conditions": [{"type": "Available", "status": "True"}]})
    assert readiness.deployment(ok).ready
    old_pods_left = {**ok, "status": {**ok["status"], "replicas": 3}}
    assert not readiness.deployment(old_pods_left).ready
    unobserved = _obj("Deployment", {"replicas": 2}, ok["status"], generation=2)
    assert not readiness.deployment(unobserved).ready


def test_deployment_past_its_deadline_is_final() -> None:
    stuck = _obj("Deployment", {"replicas": 1}, {"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]})
    verdict = readiness.deployment(stuck)
    assert not verdict.ready and verdict.final


def test_statefulset_needs_all_replicas_ready() -> None:
    sts = _obj("StatefulSet", {"replicas": 3}, {"readyReplicas": 2, "updatedReplicas": 3})
    assert not readiness.statefulset(sts).ready
    sts["status"]["readyReplicas"] = 3
    assert readiness.statefulset(sts).ready


def test_pvc_bound_and_job_complete() -> None:
    assert readiness.pvc({"status": {"phase": "Bound"}}).ready
    assert not readiness.pvc({"status": {"phase": "Pending"}}).ready
    assert readiness.pvc({"status": {"phase": "Lost"}}).final
    done = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    failed = {"status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    assert readiness.job(done).ready
    assert readiness.job(failed).final
