"""What a claim's volume must be, judged on hand-made objects (no cluster needed): each
rule shown failing on a volume that breaks it."""

from __future__ import annotations

import copy
from typing import Any

from vvgate.kube import deployment
from vvgate.kube.storage_checks import statefulset_claims, volume_problems, volume_subpath

CLASS = {"metadata": {"name": "nfs-mongodb"}, "reclaimPolicy": "Retain",
         "parameters": {"pathPattern": "${.PVC.namespace}/${.PVC.name}"}}
PVC = {"metadata": {"name": "data-mongodb-bff-0", "namespace": "vinylvault-production"},
       "spec": {"storageClassName": "nfs-mongodb", "volumeName": "pvc-1"},
       "status": {"phase": "Bound"}}
PV = {"metadata": {"name": "pvc-1"},
      "spec": {"storageClassName": "nfs-mongodb", "persistentVolumeReclaimPolicy": "Retain",
               "nfs": {"server": "192.168.1.10",
                       "path": "/volume1/k3s/vinylvault-production/data-mongodb-bff-0"}}}


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    node[last] = value
    return out


def test_a_bound_claim_on_a_retained_volume_at_the_pattern_path_passes() -> None:
    assert volume_problems(PVC, PV, CLASS) == []


def test_each_broken_rule_is_named() -> None:
    cases = {
        "is Pending, not Bound": (_with(PVC, "status.phase", "Pending"), PV),
        "which does not exist": (PVC, None),
        "reclaim policy Delete": (PVC, _with(PV, "spec.persistentVolumeReclaimPolicy",
                                             "Delete")),
        "is of class 'local-path'": (PVC, _with(PV, "spec.storageClassName", "local-path")),
        "asks for class 'other'": (_with(PVC, "spec.storageClassName", "other"), PV),
        "is not an NFS volume": (PVC, _with(PV, "spec.nfs", None)),
        "not under .../vinylvault-production/data-mongodb-bff-0": (
            PVC, _with(PV, "spec.nfs.path", "/volume1/k3s/vinylvault-production-data-0")),
    }
    for expected, (pvc, pv) in cases.items():
        problems = volume_problems(pvc, pv, CLASS)
        assert len(problems) == 1 and expected in problems[0], (expected, problems)


def test_the_path_follows_the_pattern_as_the_provisioner_expands_it() -> None:
    pvc = _with(PVC, "metadata.labels", {"tier": "db"})
    assert volume_subpath("${.PVC.labels.tier}/${.PVC.name}/", pvc, "pvc-1") == \
        "db/data-mongodb-bff-0"
    # no pattern, or one that expands to nothing: <namespace>-<claim>-<volume>
    fallback = "vinylvault-production-data-mongodb-bff-0-pvc-1"
    assert volume_subpath(None, PVC, "pvc-1") == fallback
    assert volume_subpath("${.PVC.annotations.none}", PVC, "pvc-1") == fallback


def test_the_claims_of_the_overlays_statefulsets_on_the_class() -> None:
    claims = statefulset_claims(deployment.render("local"), "nfs-mongodb")
    # The local overlay runs one SecantusDB member per StatefulSet (manifests/README.md).
    assert sorted(claims) == sorted(f"vinylvault-local/data-mongodb-{role}-{i}"
                                    for role in ("bff", "backend") for i in range(1))
    assert statefulset_claims(deployment.render("local"), "another-class") == []
