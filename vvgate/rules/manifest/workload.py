"""Where the pod template, containers and replica count live in each workload kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vvgate.rules.model import ManifestObject, Tree


def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


POD_SPEC_PATH = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}


def pod_spec(obj: ManifestObject) -> tuple[str, Mapping[str, Any]] | None:
    path = POD_SPEC_PATH.get(obj.kind)
    if path is None:
        return None
    spec = _get(obj.doc, path)
    return (path, spec) if isinstance(spec, Mapping) else None


def pod_metadata(obj: ManifestObject) -> Mapping[str, Any]:
    """The metadata its pods get: the object's own for a Pod, else its template's."""
    if obj.kind == "Pod":
        return obj.metadata
    path = POD_SPEC_PATH.get(obj.kind, "")
    meta = _get(obj.doc, path.removesuffix(".spec") + ".metadata")
    return meta if isinstance(meta, Mapping) else {}


def pod_labels(obj: ManifestObject) -> Mapping[str, Any]:
    labels = pod_metadata(obj).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def containers(obj: ManifestObject, *, init: bool = True) -> list[tuple[str, Mapping[str, Any]]]:
    """(field path, container) for every container, init containers included by default."""
    found = pod_spec(obj)
    if found is None:
        return []
    path, spec = found
    out: list[tuple[str, Mapping[str, Any]]] = []
    for key in ("initContainers", "containers") if init else ("containers",):
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, Mapping):
                out.append((f"{path}.{key}[{i}]", c))
    return out


def replicas(obj: ManifestObject, tree: Tree) -> int:
    """Pods a workload runs at least: its replicas, or its HPA's minimum."""
    if obj.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
        return 1
    count = obj.spec.get("replicas", 1)
    count = count if isinstance(count, int) else 1
    for hpa in tree.of_kind("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        if ref.get("kind") == obj.kind and ref.get("name") == obj.name:
            low = hpa.spec.get("minReplicas", 1)
            count = max(count, low if isinstance(low, int) else 1)
    return count


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """Label-selector semantics (matchLabels and matchExpressions); an empty selector matches."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def get(doc: Mapping[str, Any], dotted: str) -> Any:
    return _get(doc, dotted)
