"""Phase 0: the NFS StorageClass binds, keeps and archives volumes (seed plan 0.2, 0.3).

On the local cluster the NFS export is a directory on this machine, so where a real
cluster would have a pod write and a second pod read, the provisioner's directory is
checked instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from vvgate.kube.objects import Kube
from vvgate.kube.storage_checks import (
    BIND_TIMEOUT_S,
    PROBE_TEXT,
    RELEASE_TIMEOUT_S,
    claim,
    local_directory,
    probe_pod,
    run_pod,
    wait_phase,
)
from vvgate.report.evidence import Evidence

pytestmark = [pytest.mark.gate("storage"), pytest.mark.phase0]

SC = tuple[dict[str, Any], dict[str, Any]]


def test_storage_class_matches_manifests(nfs_class: SC, evidence: Evidence) -> None:
    live, expected = nfs_class
    evidence.json("storageclass", {"live": live, "expected": expected})
    params = live.get("parameters") or {}
    assert live.get("reclaimPolicy") == "Retain", "volumes must survive their claim"
    assert params.get("archiveOnDelete") == "true"
    assert params.get("pathPattern") == (expected.get("parameters") or {}).get("pathPattern")
    assert live.get("provisioner") == expected.get("provisioner")


@pytest.fixture
def bound_claim(kube: Kube, nfs_class: SC, throwaway_namespace: str, run_id: str,
                evidence: Evidence) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh claim on the class, Bound; (pvc, pv)."""
    live, _ = nfs_class
    pvc = kube.apply(claim("vvgate-storage-check", throwaway_namespace,
                           live["metadata"]["name"], run_id))
    pvc = wait_phase(kube, "v1", "PersistentVolumeClaim", pvc["metadata"]["name"],
                     throwaway_namespace, ("Bound",), BIND_TIMEOUT_S)
    pv = kube.get("v1", "PersistentVolume", pvc["spec"]["volumeName"])
    assert pv is not None, f"PVC bound to a missing PV {pvc['spec']['volumeName']}"
    evidence.json("pvc", pvc)
    evidence.json("pv", pv)
    return pvc, pv


def test_claim_binds_with_the_expected_nfs_path(bound_claim: tuple[dict[str, Any], ...],
                                                 throwaway_namespace: str) -> None:
    pvc, pv = bound_claim
    nfs = pv["spec"].get("nfs") or {}
    assert nfs.get("server"), "the PV is not an NFS volume"
    # pathPattern ${.PVC.namespace}/${.PVC.name} under the export.
    assert str(nfs.get("path", "")).endswith(f"/{throwaway_namespace}/{pvc['metadata']['name']}")
    assert pv["spec"].get("persistentVolumeReclaimPolicy") == "Retain"


def test_volume_holds_data(kube: Kube, bound_claim: tuple[dict[str, Any], ...],
                           throwaway_namespace: str, run_id: str) -> None:
    pvc, pv = bound_claim
    directory = local_directory(pv)
    if directory is not None:
        # The local cluster's pods are simulated: check the provisioner's directory.
        assert directory.is_dir(), f"the provisioner created no directory {directory}"
        probe = directory / "vvgate-probe"
        probe.write_text(f"{PROBE_TEXT}\n")
        assert probe.read_text() == f"{PROBE_TEXT}\n"
        return
    # A real cluster: one pod writes as the Mongo UID, a second pod reads it back.
    claim_name = pvc["metadata"]["name"]
    run_pod(kube, probe_pod("vvgate-nfs-writer", throwaway_namespace, claim_name,
                            f"echo '{PROBE_TEXT}' > /data/probe.txt", run_id))
    log = run_pod(kube, probe_pod("vvgate-nfs-reader", throwaway_namespace, claim_name,
                                  "cat /data/probe.txt", run_id))
    assert log.strip() == PROBE_TEXT, f"the second pod read {log.strip()!r}"
    for name in ("vvgate-nfs-writer", "vvgate-nfs-reader"):
        kube.delete("v1", "Pod", name, throwaway_namespace)


def test_deleted_claim_leaves_volume_released_and_data_archived(
        kube: Kube, bound_claim: tuple[dict[str, Any], ...], throwaway_namespace: str) -> None:
    pvc, pv = bound_claim
    kube.delete("v1", "PersistentVolumeClaim", pvc["metadata"]["name"], throwaway_namespace)
    released = wait_phase(kube, "v1", "PersistentVolume", pv["metadata"]["name"], None,
                          ("Released",), RELEASE_TIMEOUT_S)
    assert released["spec"].get("persistentVolumeReclaimPolicy") == "Retain"
    directory = local_directory(pv)
    if directory is not None:
        # Retain keeps the directory where it is; a Delete policy would archive it.
        archived = directory.parent / f"archived-{directory.name}"
        assert directory.is_dir() or archived.is_dir(), (
            f"neither {directory} nor {archived} exists after the claim was deleted")
    kube.delete("v1", "PersistentVolume", pv["metadata"]["name"])
