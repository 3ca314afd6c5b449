"""The deployment fixture's rendering: apply order, the run's marks, and whose marks a
janitor takes for a dead run's (no cluster needed)."""

from __future__ import annotations

import os
import socket
import subprocess
import time

from vvgate.kube import deployment, owned
from vvgate.kube.objects import (
    KEEP_ANNOTATION,
    OWNER_ANNOTATION,
    RUN_LABEL,
    Stamp,
    carry_marks,
)


def test_local_overlay_renders_in_dependency_order() -> None:
    docs = deployment.render("local")
    kinds = [d["kind"] for d in docs]
    assert kinds[0] == "Namespace"
    assert kinds.index("PersistentVolumeClaim" if "PersistentVolumeClaim" in kinds
                       else "StatefulSet") < kinds.index("Deployment")
    assert kinds.index("Secret") < kinds.index("StatefulSet")
    assert kinds.index("StorageClass") < kinds.index("StatefulSet")


def test_every_created_object_gets_the_stamp_without_changing_the_original() -> None:
    doc = {"kind": "ConfigMap", "metadata": {"name": "x"}}
    out = Stamp("abc123", "vvgate/abc123/host/1/0").mark(doc)
    assert out["metadata"]["labels"][RUN_LABEL] == "abc123"
    assert out["metadata"]["annotations"][OWNER_ANNOTATION] == "vvgate/abc123/host/1/0"
    assert KEEP_ANNOTATION not in out["metadata"]["annotations"]
    assert "labels" not in doc["metadata"]
    kept = Stamp("abc123", "vvgate/abc123/host/1/0", keep=True).mark(doc)
    assert kept["metadata"]["annotations"][KEEP_ANNOTATION] == "true"


def test_applying_to_an_existing_object_neither_adopts_it_nor_strips_its_marks() -> None:
    doc = Stamp("mine", "vvgate/mine/host/2/0").mark(
        {"kind": "Namespace", "metadata": {"name": "x", "labels": {"team": "a"}}})
    foreign = {"metadata": {"name": "x", "labels": {"team": "a"}}}
    assert carry_marks(doc, foreign)["metadata"] == {"name": "x", "labels": {"team": "a"}}
    other_run = Stamp("theirs", "vvgate/theirs/host/3/0").mark(foreign)
    carried = carry_marks(doc, other_run)["metadata"]
    assert carried["labels"][RUN_LABEL] == "theirs"
    assert carried["annotations"] == {OWNER_ANNOTATION: "vvgate/theirs/host/3/0"}


def test_the_janitor_takes_only_a_dead_owners_tag_in_the_gates_shape() -> None:
    exited = subprocess.Popen(["true"])
    exited.wait()
    host, now = socket.gethostname(), int(time.time())
    doomed = owned.dead_owner("current1")
    assert doomed(f"vvgate/gone0001/{host}/{exited.pid}/{now}")
    assert doomed(f"vvgate/old00001/elsewhere/1/{now - 7 * 3600}")  # hours old, any host
    assert not doomed(f"vvgate/alive001/{host}/{os.getpid()}/{now}")
    assert not doomed(f"vvgate/current1/{host}/{exited.pid}/{now}")  # this run's own
    assert not doomed(f"vvgate/other001/elsewhere/1/{now}")  # another host, recent
    assert not doomed("someone-else's value")
    assert owned.this_run("current1")(f"vvgate/current1/{host}/1/{now}")
    assert not owned.this_run("current1")(f"vvgate/current2/{host}/1/{now}")
