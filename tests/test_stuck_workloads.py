"""Stuck for good, or not ready yet: the states that end the readiness wait at once
(vvgate/kube/stuck.py). The cluster selftests show the wait stopping on them
(tests/cluster/test_broken_manifests.py)."""

from __future__ import annotations

from typing import Any

import pytest

from vvgate.kube.stuck import stuck_claim, stuck_pod


def _pod(reason: str | None, restarts: int = 0) -> dict[str, Any]:
    state = {"waiting": {"reason": reason, "message": "m"}} if reason else {"running": {}}
    return {"metadata": {"name": "bff-1"},
            "status": {"containerStatuses": [{"name": "bff", "restartCount": restarts,
                                              "state": state}]}}


@pytest.mark.parametrize(("reason", "restarts", "stuck"), [
    (None, 0, False),
    ("ContainerCreating", 0, False),
    ("CrashLoopBackOff", 1, False),  # one restart may be a dependency still starting
    ("CrashLoopBackOff", 3, True),
    ("CreateContainerConfigError", 0, True),  # a Secret or ConfigMap that is not there
    ("ImagePullBackOff", 0, True),
])
def test_which_container_states_are_final(reason: str | None, restarts: int,
                                          stuck: bool) -> None:
    problem = stuck_pod(_pod(reason, restarts))
    assert (problem is not None) is stuck
    if problem:
        assert "bff-1" in problem and str(reason) in problem


def _claim(phase: str = "Pending", cls: str | None = "nfs-client") -> dict[str, Any]:
    return {"metadata": {"name": "data-mongodb-bff-0"}, "status": {"phase": phase},
            "spec": {"storageClassName": cls}}


def _event(reason: str, message: str) -> dict[str, Any]:
    return {"involvedObject": {"name": "data-mongodb-bff-0"}, "reason": reason,
            "message": message}


def test_a_claim_no_provisioner_will_bind_is_final() -> None:
    classes = {"nfs-client"}
    missing = stuck_claim(_claim(cls="nfs-missing"), classes, [])
    assert missing is not None and "'nfs-missing' does not exist" in missing
    selector = _event("ProvisioningFailed", "claim Selector is not supported")
    assert stuck_claim(_claim(), classes, [selector]) is not None
    # waiting for the provisioner, or a failure it may retry, is not final
    assert stuck_claim(_claim(), classes, []) is None
    assert stuck_claim(_claim(), classes, [_event("ProvisioningFailed", "timeout")]) is None
    assert stuck_claim(_claim("Bound"), classes, [selector]) is None
