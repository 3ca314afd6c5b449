"""Phase 0: the NFS StorageClass binds, keeps and archives volumes (seed plan 0.2, 0.3).

On the local cluster the NFS export is a directory on this machine, so where a real
cluster would have a pod write and a second pod read, the provisioner's directory is
checked instead.

Production is read-only: there the claims of the deployed MongoDB StatefulSets are judged
in place of a claim of the run's own, and the checks that must write (data into a fresh
claim, deleting a claim) skip, saying why.
"""

from __future__ import annotations

from typing import Any

import pytest

from vvgate.kube import owned
from vvgate.kube.objects import Kube
from vvgate.kube.storage_checks import (
    BIND_TIMEOUT_S,
    PROBE_TEXT,
    RELEASE_TIMEOUT_S,
    claim,
    local_directory,
    probe_pod,
    run_pod,
    statefulset_claims,
    volume_problems,
    wait_phase,
)
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("storage"), pytest.mark.plan("0.2.6", "0.4.7")]

SC = tuple[dict[str, Any], dict[str, Any]]
Claim = tuple[dict[str, Any], dict[str, Any]]


@pytest.mark.plan("0.2.5", "0.3.1", "0.4.6")
def test_storage_class_matches_manifests(nfs_class: SC, evidence: Evidence) -> None:
    live, expected = nfs_class
    evidence.json("storageclass", {"live": live, "expected": expected})
    assert live.get("reclaimPolicy") == "Retain", "volumes must survive their claim"
    assert live.get("reclaimPolicy") == expected.get("reclaimPolicy")
    assert live.get("provisioner") == expected.get("provisioner")
    params, wanted = live.get("parameters") or {}, expected.get("parameters") or {}
    assert params.get("archiveOnDelete") == "true"
    differ = {k: (params.get(k), wanted.get(k)) for k in {*params, *wanted}
              if params.get(k) != wanted.get(k)}
    assert not differ, f"parameters differ from the manifests (live, manifests): {differ}"


@pytest.fixture
def fresh_claim(request: pytest.FixtureRequest, kube: Kube, profile: Profile,
                evidence: Evidence) -> Claim:
    """A claim of the run's own on the class, Bound; (pvc, pv). Production gets none."""
    if profile.production:
        pytest.skip(f"target {profile.name!r} is production (read-only): this check needs a "
                    "claim of its own to write to or delete, which it may not create; the "
                    "deployed claims are judged by test_claims_bind_to_retained_nfs_volumes")
    live, _ = request.getfixturevalue("nfs_class")
    namespace = request.getfixturevalue("throwaway_namespace")
    pvc = kube.apply(kube.stamp.mark(claim("vvgate-storage-check", namespace,
                                           live["metadata"]["name"])))
    pvc = wait_phase(kube, "v1", "PersistentVolumeClaim", pvc["metadata"]["name"],
                     namespace, ("Bound",), BIND_TIMEOUT_S)
    # Retain keeps the volume after the claim: marked now, the run (or, if it is killed, a
    # later run's janitor) removes it once Released.
    owned.mark_volumes(kube, [pvc], owned.marks_of(pvc))
    pv = kube.get("v1", "PersistentVolume", pvc["spec"]["volumeName"])
    assert pv is not None, f"PVC bound to a missing PV {pvc['spec']['volumeName']}"
    evidence.json("pvc", pvc)
    evidence.json("pv", pv)
    return pvc, pv


@pytest.fixture
def judged_claims(request: pytest.FixtureRequest, kube: Kube, profile: Profile,
                  evidence: Evidence) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(pvc, pv) pairs to judge: the run's own fresh claim, or on production the claims
    of the deployed StatefulSets on the profile's class."""
    if not profile.production:
        return [request.getfixturevalue("fresh_claim")]
    assert profile.kubernetes is not None
    deployed = request.getfixturevalue("deployed")
    names = statefulset_claims(deployed.objects, profile.kubernetes.storage_class)
    assert names, (f"the manifests' StatefulSets make no claim on class "
                   f"{profile.kubernetes.storage_class!r}")
    pairs = []
    for name in names:
        namespace, _, claim_name = name.partition("/")
        pvc = kube.get("v1", "PersistentVolumeClaim", claim_name, namespace)
        assert pvc is not None, f"claim {name} missing"
        volume = (pvc.get("spec") or {}).get("volumeName")
        pv = kube.get("v1", "PersistentVolume", volume) if volume else None
        evidence.json(f"pvc-pv {name}", {"pvc": pvc, "pv": pv})
        pairs.append((pvc, pv))
    return pairs


@pytest.mark.plan("0.2.6", "0.3.2", "0.4.7", "0.4.8")
def test_claims_bind_to_retained_nfs_volumes(
        nfs_class: SC, judged_claims: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
    live, _ = nfs_class
    problems = [p for pvc, pv in judged_claims for p in volume_problems(pvc, pv, live)]
    assert not problems, "; ".join(problems)


def test_volume_holds_data(kube: Kube, fresh_claim: Claim) -> None:
    pvc, pv = fresh_claim
    namespace = pvc["metadata"]["namespace"]
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
    run_pod(kube, probe_pod("vvgate-nfs-writer", namespace, claim_name,
                            f"echo '{PROBE_TEXT}' > /data/probe.txt"))
    log = run_pod(kube, probe_pod("vvgate-nfs-reader", namespace, claim_name,
                                  "cat /data/probe.txt"))
    assert log.strip() == PROBE_TEXT, f"the second pod read {log.strip()!r}"
    for name in ("vvgate-nfs-writer", "vvgate-nfs-reader"):
        kube.delete("v1", "Pod", name, namespace)


def test_deleted_claim_leaves_volume_released_and_data_archived(
        kube: Kube, fresh_claim: Claim) -> None:
    pvc, pv = fresh_claim
    kube.delete("v1", "PersistentVolumeClaim", pvc["metadata"]["name"],
                pvc["metadata"]["namespace"])
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
