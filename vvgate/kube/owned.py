"""The gate's own objects on a cluster, from making them to removing them.

Everything a run creates carries its stamp (objects.Stamp): the run label and the owner's
tag, which names the run, host, pid and start as synthetic users' tags do. The run removes
its own at the end; what a killed run (SIGKILL) left, a later run's janitor removes, judging
the owner dead as the synthetic users' janitor does (its process is gone on this host, or
it started hours ago). An object without an owner's tag is never removed and never given
one, and one stamped under --keep stays: the janitor adopts nothing.

A claim goes with its namespace, but a Retain class keeps its volume, Released, for ever.
So before a namespace of the gate's goes, and as soon as a check's own claim is bound, the
claims' volumes get the same marks; whoever removes the namespace, or a later janitor,
then removes those volumes once they are Released.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from vvgate.identity.synthetic_users import abandoned
from vvgate.kube.objects import (
    KEEP_ANNOTATION,
    OWNER_ANNOTATION,
    RUN_LABEL,
    Kube,
    UnknownKind,
    owner,
    ref,
)

GONE_TIMEOUT_S = 90.0
POLL_S = 1.0
# What a run may create outside a namespace of its own (a deploy into one that existed,
# cluster-scoped kinds), in apply order; inside its own namespaces, everything goes with
# the namespace.
NAMESPACED = (
    ("v1", "ServiceAccount"), ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("v1", "Secret"), ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"), ("v1", "Service"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("apps/v1", "StatefulSet"), ("apps/v1", "Deployment"), ("batch/v1", "Job"),
    ("batch/v1", "CronJob"), ("v1", "Pod"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"), ("networking.k8s.io/v1", "Ingress"),
)
CLUSTER_SCOPED = (
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("storage.k8s.io/v1", "StorageClass"),
    ("scheduling.k8s.io/v1", "PriorityClass"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
)
# A volume in these phases has no claim holding it any more.
UNCLAIMED = frozenset({"Released", "Failed", "Available"})
_COUNTER = itertools.count(1)

Doomed = Callable[[str], bool]


def marks_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The gate's marks an object carries, as a merge patch's metadata."""
    meta = obj.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k == RUN_LABEL}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k in (OWNER_ANNOTATION, KEEP_ANNOTATION)}
    return {"labels": labels, "annotations": annotations}


def mark_volumes(kube: Kube, claims: list[dict[str, Any]], marks: dict[str, Any]) -> int:
    """Give the volumes bound to `claims` the owner's marks, unless they carry an owner's
    already; returns how many were marked."""
    marked = 0
    for claim in claims:
        volume = str((claim.get("spec") or {}).get("volumeName") or "")
        pv = kube.get("v1", "PersistentVolume", volume) if volume else None
        if pv is None or owner(pv) is not None:
            continue
        kube.merge_patch("v1", "PersistentVolume", volume, None, {"metadata": marks})
        marked += 1
    return marked


def release_namespace(kube: Kube, name: str, marks: dict[str, Any]) -> None:
    """Delete a namespace of the gate's, its claims' volumes marked first."""
    mark_volumes(kube, kube.list("v1", "PersistentVolumeClaim", name), marks)
    kube.delete("v1", "Namespace", name)


@contextmanager
def throwaway_namespace(kube: Kube, purpose: str = "check") -> Iterator[str]:
    """A namespace a destructive check may do anything in, deleted afterwards (unless
    --keep); its volumes are left to the run's final sweep, which waits for them."""
    stamp = kube.stamp
    name = f"vvgate-{purpose}-{stamp.run_id}-{next(_COUNTER)}"[:63].rstrip("-")
    kube.apply(stamp.mark({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": name,
                                        "labels": {"vvgate.io/throwaway": "true"}}}))
    try:
        yield name
    finally:
        if not stamp.keep:
            release_namespace(kube, name, marks_of(stamp.mark({})))


def dead_owner(current_run: str) -> Doomed:
    """The janitor's test: an owner tag of a run that is not this one and is dead."""
    def doomed(tag: str) -> bool:
        parts = tag.split("/")
        # Only a tag in the gate's own shape: anything else was not written by a run.
        return len(parts) == 5 and parts[0] == "vvgate" and abandoned(tag, current_run)
    return doomed


def this_run(run_id: str) -> Doomed:
    """The run's own clean-up: its own tag."""
    return lambda tag: tag.split("/")[1:2] == [run_id]


@dataclass
class Sweep:
    removed: list[str] = field(default_factory=list)
    # doomed objects still there when the wait ran out: the next run's janitor retries
    left: list[str] = field(default_factory=list)
    # kinds the client may not list (RBAC): their leftovers, if any, were not looked for
    unlisted: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.split("/")[0] for r in self.removed))

    def describe(self) -> str:
        parts = []
        if self.removed:
            parts.append(f"removed {len(self.removed)}: {', '.join(self.removed)}")
        if self.left:
            parts.append(f"still there after {GONE_TIMEOUT_S:.0f}s: {', '.join(self.left)}")
        if self.unlisted:
            parts.append(f"could not list {', '.join(self.unlisted)}")
        return "; ".join(parts)


def _doomed(kube: Kube, api_version: str, kind: str, doomed: Doomed,
            result: Sweep) -> list[dict[str, Any]]:
    try:
        found = kube.list(api_version, kind, label_selector=RUN_LABEL)
    except UnknownKind:
        return []
    except ApiException as exc:
        result.unlisted.append(f"{kind} ({exc.status} {exc.reason})")
        return []
    out = []
    for obj in found:
        obj.setdefault("kind", kind)
        obj.setdefault("apiVersion", api_version)
        tag = owner(obj)
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if tag and KEEP_ANNOTATION not in annotations and doomed(tag):
            out.append(obj)
    return out


def _delete(kube: Kube, obj: dict[str, Any], result: Sweep) -> None:
    meta = obj["metadata"]
    if meta.get("deletionTimestamp"):
        return  # already on its way; the wait below sees it go
    if kube.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")):
        result.removed.append(ref(obj))


def sweep(kube: Kube, doomed: Doomed, timeout_s: float = GONE_TIMEOUT_S) -> Sweep:
    """Remove every object whose owner's tag `doomed` picks, and the Released volumes of
    their claims; waits up to `timeout_s` for namespaces to go and volumes to be freed."""
    result = Sweep()
    namespaces = _doomed(kube, "v1", "Namespace", doomed, result)
    going = {n["metadata"]["name"] for n in namespaces}
    loose = [o for api, kind in NAMESPACED for o in _doomed(kube, api, kind, doomed, result)
             if o["metadata"].get("namespace") not in going]
    for ns in namespaces:
        mark_volumes(kube, kube.list("v1", "PersistentVolumeClaim", ns["metadata"]["name"]),
                     marks_of(ns))
    for obj in loose:
        if obj["kind"] == "PersistentVolumeClaim":
            mark_volumes(kube, [obj], marks_of(obj))
    for obj in reversed(loose):
        _delete(kube, obj, result)
    for ns in namespaces:
        _delete(kube, ns, result)
    deadline = time.monotonic() + timeout_s
    while True:
        pending = [f"Namespace/{n}" for n in sorted(going)
                   if kube.get("v1", "Namespace", n) is not None]
        for pv in _doomed(kube, "v1", "PersistentVolume", doomed, result):
            phase = (pv.get("status") or {}).get("phase")
            if phase in UNCLAIMED:
                _delete(kube, pv, result)
            elif _claim_going(kube, pv, going):
                pending.append(ref(pv))
        if not pending or time.monotonic() > deadline:
            result.left = pending
            break
        time.sleep(POLL_S)
    for api, kind in CLUSTER_SCOPED:
        for obj in _doomed(kube, api, kind, doomed, result):
            _delete(kube, obj, result)
    return result


def _claim_going(kube: Kube, pv: dict[str, Any], namespaces: set[str]) -> bool:
    """Whether a bound volume's claim is on its way out, so the volume will be Released;
    a volume a live claim holds is left alone."""
    claim_ref = (pv.get("spec") or {}).get("claimRef") or {}
    namespace = claim_ref.get("namespace")
    if namespace in namespaces:
        return True
    claim = kube.get("v1", "PersistentVolumeClaim", claim_ref.get("name", ""), namespace)
    return claim is None or bool(claim["metadata"].get("deletionTimestamp"))
