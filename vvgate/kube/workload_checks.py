"""Small readers over live workload objects for the database and rollout gates."""

from __future__ import annotations

from typing import Any

from vvgate.kube.objects import Kube


def pods_of(kube: Kube, workload: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods a Deployment/StatefulSet selects (matchLabels only, which the manifests use)."""
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return kube.list("v1", "Pod", workload["metadata"]["namespace"], label_selector=selector)


def restarts(pod: dict[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses)


def ready_endpoints(kube: Kube, service: dict[str, Any]) -> list[dict[str, Any]]:
    """Ready endpoints of a Service, from its EndpointSlices."""
    meta = service["metadata"]
    slices = kube.list("discovery.k8s.io/v1", "EndpointSlice", meta["namespace"],
                       label_selector=f"kubernetes.io/service-name={meta['name']}")
    return [ep for s in slices for ep in s.get("endpoints") or []
            if (ep.get("conditions") or {}).get("ready")]


def claim_templates(sts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["metadata"]["name"]: t for t in sts["spec"].get("volumeClaimTemplates") or []}


def find(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def referenced_config(workload: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every Secret and ConfigMap the pod template needs to start; the
    kubelet refuses to start a container whose reference is missing (and not optional)."""
    spec = workload["spec"]["template"]["spec"]
    out: set[tuple[str, str]] = set()
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        for src in c.get("envFrom") or []:
            for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                ref = src.get(key)
                if ref and not ref.get("optional"):
                    out.add((kind, ref["name"]))
        for env in c.get("env") or []:
            source = env.get("valueFrom") or {}
            for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = source.get(key)
                if ref and not ref.get("optional"):
                    out.add((kind, ref["name"]))
    for vol in spec.get("volumes") or []:
        if vol.get("secret") and not vol["secret"].get("optional"):
            out.add(("Secret", vol["secret"]["secretName"]))
        if vol.get("configMap") and not vol["configMap"].get("optional"):
            out.add(("ConfigMap", vol["configMap"]["name"]))
    return out


def missing_config(kube: Kube, workload: dict[str, Any]) -> list[str]:
    ns = workload["metadata"]["namespace"]
    return sorted(f"{kind}/{name}" for kind, name in referenced_config(workload)
                  if kube.get("v1", kind, name, ns) is None)
