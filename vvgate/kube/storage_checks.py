"""Helpers for the storage gate: a claim on the NFS class, its volume, and where its data
lives; and what a bound claim's volume must be, judged on plain dicts. Kept out of the test
module so the rules read as plain checks."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import yaml

from vvgate.kube.objects import Kube
from vvgate.kube.workload_checks import claim_templates, find
from vvgate.paths import PROJECT_ROOT

BIND_TIMEOUT_S = 60.0
RELEASE_TIMEOUT_S = 60.0


def claim(name: str, namespace: str, storage_class: str, size: str = "1Mi") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": size}}},
    }


def wait_phase(kube: Kube, api_version: str, kind: str, name: str, namespace: str | None,
               phases: tuple[str, ...], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        obj = kube.get(api_version, kind, name, namespace)
        phase = ((obj or {}).get("status") or {}).get("phase")
        if phase in phases:
            assert obj is not None
            return obj
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} {name} is {phase or 'missing'} after {timeout_s:.0f}s, "
                                 f"expected {' or '.join(phases)}")
        time.sleep(0.5)


def local_directory(pv: dict[str, Any]) -> Path | None:
    """The volume's directory when the NFS server is this machine (the local cluster's
    provisioner writes into a local export), else None."""
    nfs = pv["spec"].get("nfs") or {}
    if nfs.get("server") not in ("127.0.0.1", "localhost"):
        return None
    return Path(str(nfs.get("path")))


POD_TIMEOUT_S = 180.0
PROBE_TEXT = "Hello NFS"
# The phase 0.2 test pod: its image, UID 999 and hardening are what the probes reuse.
TEST_POD = PROJECT_ROOT / "manifests" / "storage" / "test-pod.yaml"


def probe_pod(name: str, namespace: str, claim_name: str, script: str) -> dict[str, Any]:
    pod: dict[str, Any] = yaml.safe_load(TEST_POD.read_text(encoding="utf-8"))
    pod["metadata"] = {"name": name, "namespace": namespace, "labels": {"app": name}}
    container = pod["spec"]["containers"][0]
    container["command"] = ["sh", "-c", script]
    pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = claim_name
    return pod


def run_pod(kube: Kube, pod: dict[str, Any]) -> str:
    """Start the pod, wait for it to finish, return its log; fail on a non-zero exit."""
    kube.apply(kube.stamp.mark(pod))
    meta = pod["metadata"]
    done = wait_phase(kube, "v1", "Pod", meta["name"], meta["namespace"],
                      ("Succeeded", "Failed"), POD_TIMEOUT_S)
    log = str(kube.core().read_namespaced_pod_log(
        meta["name"], meta["namespace"], _request_timeout=30))
    assert done["status"]["phase"] == "Succeeded", f"pod {meta['name']} failed: {log[-500:]}"
    return log


# ${.PVC.<field>} in a StorageClass's pathPattern, as nfs-subdir-external-provisioner reads it.
_PVC_FIELD = re.compile(r"\$\{\.PVC\.([^}]*)\}")


def volume_subpath(pattern: str | None, pvc: dict[str, Any], pv_name: str) -> str:
    """Where the provisioner puts a claim's volume under the export: the pattern with the
    claim's namespace, name, labels.<key> or annotations.<key> put in (any other field is
    empty), or <namespace>-<claim>-<volume> without a pattern or when it comes out empty."""
    meta = pvc.get("metadata") or {}
    fallback = f"{meta.get('namespace')}-{meta.get('name')}-{pv_name}"

    def field(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("namespace", "name"):
            return str(meta.get(name) or "")
        section, _, key = name.partition(".")
        if section in ("labels", "annotations"):
            return str((meta.get(section) or {}).get(key) or "")
        return ""

    custom = _PVC_FIELD.sub(field, pattern or "").strip("/")
    return custom or fallback


def volume_problems(pvc: dict[str, Any], pv: dict[str, Any] | None,
                    storage_class: dict[str, Any]) -> list[str]:
    """What is wrong with a claim on `storage_class` and its volume: it must be bound, to
    an NFS volume of that class that is kept (Retain), at the path the class's pathPattern
    gives."""
    name = f"{(pvc.get('metadata') or {}).get('namespace')}/{pvc['metadata']['name']}"
    phase = (pvc.get("status") or {}).get("phase") or "Pending"
    if phase != "Bound":
        return [f"claim {name} is {phase}, not Bound"]
    if pv is None:
        return [f"claim {name} is bound to volume {pvc['spec'].get('volumeName')}, which "
                "does not exist"]
    class_name = storage_class["metadata"]["name"]
    problems = []
    if pvc["spec"].get("storageClassName") != class_name:
        problems.append(f"claim {name} asks for class {pvc['spec'].get('storageClassName')!r}, "
                        f"not {class_name!r}")
    spec = pv.get("spec") or {}
    pv_name = pv["metadata"]["name"]
    if spec.get("storageClassName") != class_name:
        problems.append(f"volume {pv_name} of {name} is of class "
                        f"{spec.get('storageClassName')!r}, not {class_name!r}")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy != "Retain":
        problems.append(f"volume {pv_name} of {name} has reclaim policy {policy}, not Retain")
    nfs = spec.get("nfs") or {}
    if not nfs.get("server"):
        problems.append(f"volume {pv_name} of {name} is not an NFS volume")
        return problems
    pattern = (storage_class.get("parameters") or {}).get("pathPattern")
    want = volume_subpath(pattern, pvc, pv_name)
    if not str(nfs.get("path", "")).rstrip("/").endswith(f"/{want}"):
        problems.append(f"volume {pv_name} of {name} is at {nfs.get('path')}, not under "
                        f".../{want} (pathPattern {pattern!r})")
    return problems


def statefulset_claims(objects: list[dict[str, Any]], storage_class: str) -> list[str]:
    """namespace/name of each claim the overlay's StatefulSets make on `storage_class`:
    <template>-<statefulset>-<ordinal> for every replica."""
    out = []
    for sts in find(objects, "StatefulSet"):
        meta = sts["metadata"]
        for tname, template in claim_templates(sts).items():
            if (template.get("spec") or {}).get("storageClassName") != storage_class:
                continue
            for i in range(int(sts["spec"].get("replicas", 1))):
                out.append(f"{meta.get('namespace')}/{tname}-{meta['name']}-{i}")
    return out
