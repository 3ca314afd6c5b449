"""The local provisioner lays out directories like nfs-subdir-external-provisioner."""

from __future__ import annotations

from reference.localcluster.provisioner import sub_path

PVC = {"metadata": {"namespace": "vinylvault-local", "name": "data-mongodb-bff-0",
                    "labels": {"app": "mongodb"}, "annotations": {}}}


def test_path_pattern_of_the_seed_class() -> None:
    assert sub_path("${.PVC.namespace}/${.PVC.name}", PVC, "pvc-1") == \
        "vinylvault-local/data-mongodb-bff-0"


def test_labels_in_the_pattern_and_the_default_layout() -> None:
    assert sub_path("${.PVC.labels.app}/${.PVC.name}", PVC, "pvc-1") == \
        "mongodb/data-mongodb-bff-0"
    assert sub_path(None, PVC, "pvc-1") == "vinylvault-local-data-mongodb-bff-0-pvc-1"
