"""Helpers for the storage gate: a claim on the NFS class, its volume, and where its data
lives. Kept out of the test module so the rules read as plain checks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from vvgate.kube.objects import RUN_LABEL, Kube
from vvgate.paths import PROJECT_ROOT

BIND_TIMEOUT_S = 60.0
RELEASE_TIMEOUT_S = 60.0


def claim(name: str, namespace: str, storage_class: str, run_id: str,
          size: str = "1Mi") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": {RUN_LABEL: run_id}},
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


def probe_pod(name: str, namespace: str, claim_name: str, script: str,
              run_id: str) -> dict[str, Any]:
    pod: dict[str, Any] = yaml.safe_load(TEST_POD.read_text(encoding="utf-8"))
    pod["metadata"] = {"name": name, "namespace": namespace,
                       "labels": {"app": name, RUN_LABEL: run_id}}
    container = pod["spec"]["containers"][0]
    container["command"] = ["sh", "-c", script]
    pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = claim_name
    return pod


def run_pod(kube: Kube, pod: dict[str, Any]) -> str:
    """Start the pod, wait for it to finish, return its log; fail on a non-zero exit."""
    kube.apply(pod)
    meta = pod["metadata"]
    done = wait_phase(kube, "v1", "Pod", meta["name"], meta["namespace"],
                      ("Succeeded", "Failed"), POD_TIMEOUT_S)
    log = str(kube.core().read_namespaced_pod_log(
        meta["name"], meta["namespace"], _request_timeout=30))
    assert done["status"]["phase"] == "Succeeded", f"pod {meta['name']} failed: {log[-500:]}"
    return log
