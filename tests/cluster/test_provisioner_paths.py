"""The local provisioner lays out directories like nfs-subdir-external-provisioner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reference.localcluster.provisioner import provision, reclaim, sub_path

PVC = {"metadata": {"namespace": "vinylvault-local", "name": "data-mongodb-bff-0",
                    "labels": {"app": "mongodb"}, "annotations": {}}}


def test_path_pattern_of_the_seed_class() -> None:
    assert sub_path("${.PVC.namespace}/${.PVC.name}", PVC, "pvc-1") == \
        "vinylvault-local/data-mongodb-bff-0"


def test_labels_in_the_pattern_and_the_default_layout() -> None:
    assert sub_path("${.PVC.labels.app}/${.PVC.name}", PVC, "pvc-1") == \
        "mongodb/data-mongodb-bff-0"
    assert sub_path(None, PVC, "pvc-1") == "vinylvault-local-data-mongodb-bff-0-pvc-1"


class FakeApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def call(self, method: str, path: str, body: object = None) -> object:
        self.calls.append((method, path, body))
        return None


def _pv(directory: Path, policy: str) -> dict[str, Any]:
    return {"metadata": {"name": "pvc-1"},
            "spec": {"nfs": {"server": "127.0.0.1", "path": str(directory)},
                     "persistentVolumeReclaimPolicy": policy}}


def test_provision_creates_the_directory_and_a_retained_nfs_volume(tmp_path: Path) -> None:
    api = FakeApi()
    pvc = {"metadata": {**PVC["metadata"], "uid": "u1", "resourceVersion": "7"},
           "spec": {"resources": {"requests": {"storage": "10Gi"}},
                    "accessModes": ["ReadWriteOnce"]}}
    sc = {"metadata": {"name": "nfs-mongodb"}, "reclaimPolicy": "Retain",
          "parameters": {"pathPattern": "${.PVC.namespace}/${.PVC.name}"}}
    provision(api, tmp_path, "cluster.local/nfs-subdir-external-provisioner", "127.0.0.1",
              pvc, sc)  # type: ignore[arg-type]
    directory = tmp_path / "vinylvault-local" / "data-mongodb-bff-0"
    assert directory.is_dir()
    method, path, body = api.calls[0]
    assert (method, path) == ("POST", "/api/v1/persistentvolumes")
    assert isinstance(body, dict)
    assert body["spec"]["nfs"]["path"] == str(directory)
    assert body["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert body["spec"]["claimRef"]["uid"] == "u1"


def test_reclaim_archives_by_default_and_deletes_when_told(tmp_path: Path) -> None:
    kept = tmp_path / "ns" / "kept"
    kept.mkdir(parents=True)
    reclaim(FakeApi(), tmp_path, _pv(kept, "Delete"),  # type: ignore[arg-type]
            {"parameters": {"archiveOnDelete": "true"}})
    assert not kept.exists() and (tmp_path / "archived-kept").is_dir()
    gone = tmp_path / "ns" / "gone"
    gone.mkdir()
    reclaim(FakeApi(), tmp_path, _pv(gone, "Delete"),  # type: ignore[arg-type]
            {"parameters": {"archiveOnDelete": "false"}})
    assert not gone.exists() and not (tmp_path / "archived-gone").exists()
