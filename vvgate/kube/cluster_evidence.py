"""What a failing cluster check leaves in its report entry, captured before cleanup:
the namespace's events, object conditions, PVC/PV state and pod logs (previous too).

Secrets are never captured (not even their keys' values): only their names.
"""

from __future__ import annotations

from typing import Any

from vvgate.kube.objects import Kube, ref
from vvgate.report.evidence import Evidence

LOG_TAIL_LINES = 200
MAX_PODS_WITH_LOGS = 10


def _state(obj: dict[str, Any]) -> dict[str, Any]:
    """The parts of an object that explain its state; never a Secret's data."""
    meta = obj.get("metadata") or {}
    return {
        "ref": ref(obj),
        "labels": meta.get("labels"),
        "generation": meta.get("generation"),
        "spec": None if obj.get("kind") == "Secret" else obj.get("spec"),
        "status": obj.get("status"),
    }


def events(kube: Kube, namespace: str) -> str:
    items = kube.list("v1", "Event", namespace)
    items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    lines = []
    for e in items:
        obj = e.get("involvedObject") or {}
        lines.append(f"{e.get('lastTimestamp') or e.get('eventTime')} {e.get('type')} "
                     f"{obj.get('kind')}/{obj.get('name')} {e.get('reason')}: {e.get('message')}")
    return "\n".join(lines) or "(no events)"


def pod_logs(kube: Kube, namespace: str, pod: dict[str, Any]) -> str:
    core = kube.core()
    name = pod["metadata"]["name"]
    out = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        for previous in (False, True):
            label = f"{name}/{container['name']}{' (previous)' if previous else ''}"
            try:
                text = core.read_namespaced_pod_log(
                    name, namespace, container=container["name"], previous=previous,
                    tail_lines=LOG_TAIL_LINES, _request_timeout=10)
            except Exception as exc:  # a simulated or crashed pod may have none; say so
                text = f"(no log: {type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
            out.append(f"== {label} ==\n{text}")
    return "\n".join(out)


def collect(kube: Kube, namespace: str | None, objects: list[dict[str, Any]],
            evidence: Evidence) -> None:
    """Attach everything; a failure to collect one piece is itself recorded, never raised."""
    try:
        states = []
        for obj in objects:
            meta = obj["metadata"]
            live = kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            states.append(_state(live) if live else {"ref": ref(obj), "missing": True})
        evidence.json("objects", states)
        if namespace is None:
            return
        evidence.text("events", events(kube, namespace))
        pvcs = kube.list("v1", "PersistentVolumeClaim", namespace)
        volumes = {pvc["spec"].get("volumeName") for pvc in pvcs}
        pvs = [pv for pv in kube.list("v1", "PersistentVolume")
               if pv["metadata"]["name"] in volumes
               or ((pv["spec"].get("claimRef") or {}).get("namespace") == namespace)]
        evidence.json("pvc-pv", {"pvcs": [_state(p) for p in pvcs],
                                 "pvs": [_state(p) for p in pvs]})
        pods = kube.list("v1", "Pod", namespace)
        evidence.json("pods", [_state(p) for p in pods])
        evidence.text("pod-logs", "\n".join(pod_logs(kube, namespace, p)
                                            for p in pods[:MAX_PODS_WITH_LOGS]))
    except Exception as exc:  # evidence must never hide the failure it documents
        evidence.text("evidence-error", f"collecting cluster evidence failed: "
                                        f"{type(exc).__name__}: {exc}")
