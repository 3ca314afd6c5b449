"""Deploy a Kustomize overlay through the API: render, server-side apply, wait, clean up; or,
where nothing may be written (production), observe it as deployed.

What the run creates carries its stamp (objects.Stamp), under one field manager; what already
existed keeps the marks it had, so a run never adopts another's object (nor a leftover that
a later janitor should remove). Secrets are only created when absent: a rendered Secret
holds placeholders (vvgate.kube.kustomize never reads real secret files), and must never
overwrite an operator's real one on staging. Objects the run created are deleted in reverse
order afterwards; objects that already existed (e.g. a StorageClass shared by every overlay)
are left as they are.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vvgate.kube import owned
from vvgate.kube.kustomize import KustomizeTarget, render_directory
from vvgate.kube.objects import Kube, UnknownKind, carry_marks, ref
from vvgate.kube.readiness import NotReady, wait_all
from vvgate.paths import PROJECT_ROOT

OVERLAYS_DIR = PROJECT_ROOT / "manifests" / "overlays"
# Apply order: what others refer to comes first; cleanup runs it backwards.
KIND_ORDER = (
    "Namespace", "CustomResourceDefinition", "StorageClass", "PriorityClass",
    "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
    "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "NetworkPolicy",
    "StatefulSet", "Deployment", "Job", "CronJob", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "Ingress",
)
NAMESPACE_GONE_TIMEOUT_S = 90.0


def _rank(obj: dict[str, Any]) -> int:
    kind = obj.get("kind", "")
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def overlay_dir(overlay: str | Path) -> Path:
    path = Path(overlay)
    return path if path.is_dir() else OVERLAYS_DIR / str(overlay)


def render(overlay: str | Path) -> list[dict[str, Any]]:
    directory = overlay_dir(overlay).resolve()
    root = directory.parent.parent if directory.parent.name == "overlays" else None
    rendered = render_directory(KustomizeTarget(directory.name, directory, root))
    return sorted((copy.deepcopy(d) for d in rendered.documents), key=_rank)


@dataclass
class Deployment:
    """What a deploy applied, or what observing found: use it to look at live objects, and
    to clean up."""

    overlay: str
    namespace: str | None
    kube: Kube
    # The overlay's objects as rendered that the checks judge: applied by this run, or
    # (observed) looked for on the cluster.
    objects: list[dict[str, Any]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # ref -> why not applied
    not_ready: dict[str, NotReady] = field(default_factory=dict)  # ref -> what it was
    # ref -> why its state cannot be judged any more (a finished Job past its TTL)
    gone: dict[str, str] = field(default_factory=dict)
    observed: bool = False
    seconds: float = 0.0

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def problem(self, obj: dict[str, Any]) -> str | None:
        """Why this object did not become ready, or None."""
        found = self.not_ready.get(ref(obj))
        return found.message() if found else None

    def live(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        meta = obj["metadata"]
        return self.kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


def apply(kube: Kube, overlay: str | Path, say: Callable[[str], None],
          documents: list[dict[str, Any]] | None = None,
          timeouts: dict[str, float] | None = None) -> Deployment:
    """Apply and wait. Objects that do not become ready are listed in `not_ready` (the
    checks on them fail); an error while applying raises, with the partial Deployment in
    the exception's `deployment` attribute so the caller can collect evidence and clean up."""
    start = time.monotonic()
    docs = documents if documents is not None else render(overlay)
    namespaces = [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"]
    handle = Deployment(str(overlay), namespaces[0] if namespaces else None, kube)
    say(f"deploy {overlay}: {len(docs)} objects, run {kube.stamp.run_id}")
    try:
        for doc in docs:
            meta = doc["metadata"]
            try:
                live = kube.get(doc["apiVersion"], doc["kind"], meta["name"],
                                meta.get("namespace"))
                if doc["kind"] == "Secret" and live is not None:
                    handle.skipped[ref(doc)] = "exists; never overwritten"
                    continue
                kube.apply(kube.stamp.mark(doc) if live is None else carry_marks(doc, live))
            except UnknownKind as exc:
                handle.skipped[ref(doc)] = f"not served by this cluster ({exc})"
                continue
            handle.objects.append(doc)
            if live is None:
                handle.created.append(doc)
        for name, why in handle.skipped.items():
            say(f"  skipped {name}: {why}")
        handle.not_ready = wait_all(kube, handle.objects, say, timeouts)
    except BaseException as exc:
        exc.deployment = handle  # type: ignore[attr-defined]
        raise
    handle.seconds = time.monotonic() - start
    state = f"{len(handle.not_ready)} NOT READY" if handle.not_ready else "ready"
    say(f"deploy {overlay}: {state} after {handle.seconds:.1f}s")
    return handle


def observe(kube: Kube, overlay: str | Path, say: Callable[[str], None],
            timeouts: dict[str, float] | None = None) -> Deployment:
    """The overlay as it is deployed, found by the rendered objects' kinds, names and
    namespaces and judged by the same readiness rules: nothing is applied or changed."""
    start = time.monotonic()
    docs = render(overlay)
    namespaces = [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"]
    handle = Deployment(str(overlay), namespaces[0] if namespaces else None, kube,
                        observed=True)
    say(f"observe {overlay}: {len(docs)} objects, read-only")
    for doc in docs:
        meta = doc["metadata"]
        try:
            live = kube.get(doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
        except UnknownKind as exc:
            handle.skipped[ref(doc)] = f"not served by this cluster ({exc})"
            continue
        handle.objects.append(doc)
        ttl = (doc.get("spec") or {}).get("ttlSecondsAfterFinished")
        if live is None and doc["kind"] == "Job" and ttl is not None:
            # A finished Job is deleted ttlSecondsAfterFinished later: gone says nothing.
            handle.gone[ref(doc)] = (f"{ref(doc)} is not there to judge: a finished Job "
                                     f"is deleted {ttl}s after it finishes "
                                     "(ttlSecondsAfterFinished)")
    for name, why in {**handle.skipped, **handle.gone}.items():
        say(f"  not judged {name}: {why}")
    waited = [o for o in handle.objects if ref(o) not in handle.gone]
    # Nothing is applying what is missing, so waiting will not make it appear.
    handle.not_ready = wait_all(kube, waited, say, timeouts, missing_is_final=True)
    handle.seconds = time.monotonic() - start
    state = f"{len(handle.not_ready)} NOT READY" if handle.not_ready else "ready"
    say(f"observe {overlay}: {state} after {handle.seconds:.1f}s")
    return handle


def cleanup(handle: Deployment, say: Callable[[str], None]) -> None:
    """Delete what this run created, last applied first; wait for its namespace to go.
    The volumes of its claims are marked first: the run's final sweep removes them once
    they are Released (a Retain class keeps them)."""
    kube = handle.kube
    created_ns = [o["metadata"]["name"] for o in handle.created if o["kind"] == "Namespace"]
    claims = [c for n in created_ns for c in kube.list("v1", "PersistentVolumeClaim", n)]
    claims += [c for c in (handle.live(o) for o in handle.created
                           if o["kind"] == "PersistentVolumeClaim") if c]
    owned.mark_volumes(kube, claims, owned.marks_of(kube.stamp.mark({})))
    for obj in reversed(handle.created):
        meta = obj["metadata"]
        try:
            kube.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        except UnknownKind:
            continue
    gone = created_ns
    deadline = time.monotonic() + NAMESPACE_GONE_TIMEOUT_S
    while gone and time.monotonic() < deadline:
        gone = [n for n in gone if kube.get("v1", "Namespace", n) is not None]
        time.sleep(1.0)
    left = f"; namespace {', '.join(gone)} still terminating" if gone else ""
    say(f"cleanup {handle.overlay}: deleted {len(handle.created)} objects{left}")
