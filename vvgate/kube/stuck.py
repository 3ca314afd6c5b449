"""States a workload will not leave by waiting: a crash-looping container, a Secret or image
that is not there, a claim no provisioner will ever bind. The readiness wait stops on them at
once with the reason, instead of running out its kind's time.

Pure verdicts over pod, claim and event dicts, plus `diagnose`, which fetches them.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError

from vvgate.kube.objects import Kube

# Waiting reasons of a container that the kubelet will not fix by retrying. A crash loop
# counts once it has restarted this often: one restart can be a slow dependency.
FINAL_WAITING = frozenset({"CreateContainerConfigError", "InvalidImageName",
                           "ImagePullBackOff", "ErrImagePull"})
CRASH_RESTARTS = 3
# ProvisioningFailed messages that no retry changes.
FINAL_PROVISIONING = ("not found", "not supported")


def stuck_pod(pod: dict[str, Any]) -> str | None:
    name = pod["metadata"]["name"]
    statuses = (pod.get("status") or {}).get("container_statuses") or (
        pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        restarts = int(status.get("restart_count", status.get("restartCount", 0)) or 0)
        if reason in FINAL_WAITING or (reason == "CrashLoopBackOff"
                                       and restarts >= CRASH_RESTARTS):
            return (f"pod {name}: container {status.get('name')} {reason} ({restarts} "
                    f"restarts): {str(waiting.get('message') or '')[:160]}")
    return None


def stuck_claim(claim: dict[str, Any], classes: set[str], events: list[dict[str, Any]],
                ) -> str | None:
    name = claim["metadata"]["name"]
    if ((claim.get("status") or {}).get("phase") or "Pending") != "Pending":
        return None
    spec = claim.get("spec") or {}
    wanted = spec.get("storage_class_name", spec.get("storageClassName"))
    if wanted and wanted not in classes:
        return f"claim {name}: StorageClass {wanted!r} does not exist"
    for event in events:
        involved = event.get("involved_object") or event.get("involvedObject") or {}
        message = str(event.get("message") or "")
        if (involved.get("name") == name and event.get("reason") == "ProvisioningFailed"
                and any(m in message for m in FINAL_PROVISIONING)):
            return f"claim {name}: ProvisioningFailed: {message[:160]}"
    return None


def _selector(obj: dict[str, Any]) -> str | None:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("match_labels") or (
        (obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) if labels else None


def _claims_of(sts: dict[str, Any]) -> list[str]:
    spec = sts.get("spec") or {}
    templates = spec.get("volume_claim_templates") or spec.get("volumeClaimTemplates") or []
    name = sts["metadata"]["name"]
    return [f"{t['metadata']['name']}-{name}-0" for t in templates]


def diagnose(kube: Kube, obj: dict[str, Any]) -> str | None:
    """Why a Deployment or StatefulSet cannot become ready, when it is stuck for good; None
    when it may yet be, or when the API will not say (the wait then runs its course)."""
    try:
        return _diagnose(kube, obj)
    except (DynamicApiError, ApiException):
        return None


def _diagnose(kube: Kube, obj: dict[str, Any]) -> str | None:
    namespace = obj["metadata"].get("namespace")
    selector = _selector(obj)
    if selector:
        for pod in kube.list("v1", "Pod", namespace, label_selector=selector):
            problem = stuck_pod(pod)
            if problem:
                return problem
    if obj["kind"] != "StatefulSet":
        return None
    claims = [c for c in (kube.get("v1", "PersistentVolumeClaim", n, namespace)
                          for n in _claims_of(obj)) if c]
    if not claims:
        return None
    classes = {c["metadata"]["name"] for c in kube.list("storage.k8s.io/v1", "StorageClass")}
    events = kube.list("v1", "Event", namespace)
    for claim in claims:
        problem = stuck_claim(claim, classes, events)
        if problem:
            return problem
    return None
