"""The deployment fixture's rendering: apply order and run labels (no cluster needed)."""

from __future__ import annotations

from vvgate.kube import deployment
from vvgate.kube.objects import RUN_LABEL


def test_local_overlay_renders_in_dependency_order() -> None:
    docs = deployment.render("local")
    kinds = [d["kind"] for d in docs]
    assert kinds[0] == "Namespace"
    assert kinds.index("PersistentVolumeClaim" if "PersistentVolumeClaim" in kinds
                       else "StatefulSet") < kinds.index("Deployment")
    assert kinds.index("Secret") < kinds.index("StatefulSet")
    assert kinds.index("StorageClass") < kinds.index("StatefulSet")


def test_every_object_gets_the_run_label_without_changing_the_original() -> None:
    doc = {"kind": "ConfigMap", "metadata": {"name": "x"}}
    out = deployment.label(doc, "abc123")
    assert out["metadata"]["labels"][RUN_LABEL] == "abc123"
    assert "labels" not in doc["metadata"]
