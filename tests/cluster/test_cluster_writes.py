"""What the gate writes to a cluster: on production nothing (the deployed overlay is observed
and judged read-only); elsewhere only objects it creates, each carrying its owner, removed by
its run or, once that run is dead, by a later run's janitor. What it did not create it never
touches nor relabels."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import SuiteRun
from tests.cluster.test_local_cluster import kubectl
from tests.local_target.helpers import PROJECT, Cli
from vvgate.kube import deployment, owned
from vvgate.kube.client import api_client
from vvgate.kube.objects import OWNER_ANNOTATION, RUN_LABEL, Kube, Stamp

CLUSTER_GATES = ("storage", "database", "rollout")
OVERLAY_NAMESPACE = "vinylvault-local"


def gate_run(cli: Cli, profile: Path, reports: Path, *gates: str,
             manifests: str | None = None) -> SuiteRun:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/staging", "--target", str(profile),
         "--report-dir", str(reports), "-p", "no:warnings",
         *(a for g in gates for a in ("--gate", g)),
         *(["--manifests", manifests] if manifests else [])],
        cwd=PROJECT, env=cli.env(), capture_output=True, text=True, timeout=900)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr, reports)


def prodlike(cli: Cli, folder: Path) -> Path:
    """The local target under a production-kind profile: read-only, as production is."""
    profile = yaml.safe_load((cli.local / "target.yaml").read_text())
    profile.update(name="prodlike", kind="production", allow_destructive=False,
                   allow_synthetic_users=False)
    profile["oauth"]["stand_in"] = False  # refused for production
    path = folder / "prodlike.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def get(cli: Cli, *what: str) -> dict[str, Any] | None:
    out = kubectl(cli, "get", *what, "--ignore-not-found", "-o", "json")
    return json.loads(out) if out.strip() else None


def kube_for(cli: Cli, run_id: str) -> Kube:
    """The guarded client a local (not production) run of this selftest's own would use."""
    return Kube(api_client(cli.profile()), Stamp.for_run(run_id))


@contextmanager
def local_overlay_deployed(cli: Cli) -> Iterator[deployment.Deployment]:
    """The local overlay deployed through the guarded client, by an owner (this process)
    that stays alive throughout, so no run's janitor takes it; removed afterwards."""
    kube = kube_for(cli, "selftestdeploy")
    handle = deployment.apply(kube, "local", print)
    try:
        assert not handle.not_ready, handle.not_ready
        yield handle
    finally:
        deployment.cleanup(handle, print)
        owned.sweep(kube, owned.this_run("selftestdeploy"))


def cluster_verdicts(run: SuiteRun) -> dict[str, str]:
    return {g: run.gate(g)["verdict"] for g in CLUSTER_GATES}


def test_production_with_nothing_deployed_fails_and_writes_nothing(
        cluster_cli: Cli, tmp_path: Path) -> None:
    assert get(cluster_cli, "namespace", OVERLAY_NAMESPACE) is None
    assert get(cluster_cli, "storageclass", "nfs-mongodb") is None
    run = gate_run(cluster_cli, prodlike(cluster_cli, tmp_path), tmp_path / "reports",
                   *CLUSTER_GATES, manifests="manifests/overlays/local")
    assert run.code == 1, run.output[-3000:]
    assert cluster_verdicts(run) == dict.fromkeys(CLUSTER_GATES, "fail"), run.problems()
    assert run.gates()["run"]["counters"]["kube_writes_refused"] == 0
    # Observing is not deploying: nothing appeared, not even the StorageClass.
    assert get(cluster_cli, "namespace", OVERLAY_NAMESPACE) is None
    assert get(cluster_cli, "storageclass", "nfs-mongodb") is None


def test_production_judges_the_deployed_overlay_read_only(cluster_cli: Cli,
                                                         tmp_path: Path) -> None:
    profile = prodlike(cluster_cli, tmp_path)
    with local_overlay_deployed(cluster_cli):
        run = gate_run(cluster_cli, profile, tmp_path / "reports", *CLUSTER_GATES,
                       manifests="manifests/overlays/local")
    assert run.code == 0, "\n".join(run.problems()) + run.output[-2000:]
    assert cluster_verdicts(run) == dict.fromkeys(CLUSTER_GATES, "pass")
    assert run.gates()["run"]["counters"]["kube_writes_refused"] == 0
    storage = run.gate("storage")
    # the deployed claims were judged; the two checks that must write say why they did not
    assert storage["counts"]["passed"] == 2, storage
    assert len(storage["skips"]) == 2 and all(
        "is production (read-only)" in s["reason"] for s in storage["skips"]), storage["skips"]
    assert "janitor" not in run.stdout


# A run killed (SIGKILL) while its deploy had made the overlay's namespace and class, and its
# storage checks had a throwaway namespace with two claims: one still bound, the other
# deleted, its Retain volume Released.
KILLED_RUN = """
import json, os, signal, sys
from vvgate.kube import deployment, owned
from vvgate.kube.client import api_client
from vvgate.kube.objects import Kube, Stamp
from vvgate.kube.storage_checks import claim, wait_phase
from vvgate.targets.profile import load_profile

kube = Kube(api_client(load_profile(sys.argv[1])), Stamp.for_run("killedrun"))
begun = [d for d in deployment.render("local")
         if d["kind"] in ("Namespace", "StorageClass", "ConfigMap")]
deployment.apply(kube, "local", lambda line: None, documents=begun)
scratch = owned.throwaway_namespace(kube)  # held: collected, it would delete the namespace
namespace = scratch.__enter__()
volumes = {}
for name in ("bound", "released"):
    pvc = kube.apply(kube.stamp.mark(claim(name, namespace, "nfs-mongodb")))
    pvc = wait_phase(kube, "v1", "PersistentVolumeClaim", name, namespace, ("Bound",), 120)
    owned.mark_volumes(kube, [pvc], owned.marks_of(pvc))
    volumes[name] = pvc["spec"]["volumeName"]
kube.delete("v1", "PersistentVolumeClaim", "released", namespace)
wait_phase(kube, "v1", "PersistentVolume", volumes["released"], None, ("Released",), 120)
print(json.dumps({"namespace": namespace, **volumes}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

# Looks like a gate leftover (it has the run label) but carries no owner: not the gate's.
FOREIGN = """
apiVersion: v1
kind: Namespace
metadata:
  name: vvgate-check-cafe0000-1
  labels: {vvgate.io/run-id: cafe0000, team: storage}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: theirs, namespace: vvgate-check-cafe0000-1}
spec:
  storageClassName: nfs-mongodb
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
"""


def test_a_later_run_removes_what_a_killed_run_left_and_nothing_else(
        cluster_cli: Cli, tmp_path: Path) -> None:
    profile = cluster_cli.local / "target.yaml"
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(profile)], cwd=PROJECT,
                            env=cluster_cli.env(), capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stdout + killed.stderr[-2000:]
    left = json.loads(killed.stdout)
    namespace, bound, released = left["namespace"], left["bound"], left["released"]
    assert (get(cluster_cli, "pv", released) or {})["status"]["phase"] == "Released"
    kubectl(cluster_cli, "apply", "-f", "-", stdin=FOREIGN)
    foreign = "vvgate-check-cafe0000-1"
    try:
        run = gate_run(cluster_cli, profile, tmp_path / "reports", "storage")
        assert run.code == 0, "\n".join(run.problems()) + run.output[-2000:]
        janitor = next((ln for ln in run.stdout.splitlines()
                        if ln.startswith("vvgate kube janitor")), "")
        for removed in (f"Namespace/{namespace}", f"Namespace/{OVERLAY_NAMESPACE}",
                        "StorageClass/nfs-mongodb", f"PersistentVolume/{bound}",
                        f"PersistentVolume/{released}"):
            assert removed in janitor, (removed, run.stdout[-3000:])
        assert get(cluster_cli, "namespace", namespace) is None
        assert get(cluster_cli, "namespace", OVERLAY_NAMESPACE) is None
        assert get(cluster_cli, "pv", bound) is None and get(cluster_cli, "pv", released) is None
        # The run's own Released volumes went with it: none of the gate's is left.
        assert json.loads(kubectl(cluster_cli, "get", "pv", "-l", RUN_LABEL, "-o",
                                  "json"))["items"] == []
        theirs = get(cluster_cli, "namespace", foreign)
        assert theirs is not None and not theirs["metadata"].get("deletionTimestamp")
        assert theirs["metadata"]["labels"][RUN_LABEL] == "cafe0000"
        assert OWNER_ANNOTATION not in (theirs["metadata"].get("annotations") or {})
        claim = get(cluster_cli, "pvc", "theirs", "-n", foreign)
        assert claim is not None and claim["status"]["phase"] == "Bound"
        volume = get(cluster_cli, "pv", claim["spec"]["volumeName"])
        assert volume is not None and RUN_LABEL not in (volume["metadata"].get("labels") or {})
    finally:
        claim = get(cluster_cli, "pvc", "theirs", "-n", foreign) or {"spec": {}}
        kubectl(cluster_cli, "delete", "namespace", foreign, "--ignore-not-found",
                "--wait=true", "--timeout=120s")
        if claim["spec"].get("volumeName"):
            kubectl(cluster_cli, "delete", "pv", claim["spec"]["volumeName"],
                    "--ignore-not-found")


def test_a_deploy_never_adopts_an_existing_namespace(cluster_cli: Cli) -> None:
    name = "vvgate-preexisting"
    kubectl(cluster_cli, "create", "namespace", name)
    kube = kube_for(cluster_cli, "adoptnone")
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "vvgate-probe", "namespace": name}, "data": {"a": "b"}}]
    try:
        handle = deployment.apply(kube, "preexisting", print, documents=docs)
        assert [d["kind"] for d in handle.created] == ["ConfigMap"]
        made = get(cluster_cli, "configmap", "vvgate-probe", "-n", name)
        assert made is not None and made["metadata"]["labels"][RUN_LABEL] == "adoptnone"
        meta = (get(cluster_cli, "namespace", name) or {})["metadata"]
        assert RUN_LABEL not in (meta.get("labels") or {}), meta
        assert OWNER_ANNOTATION not in (meta.get("annotations") or {}), meta
        deployment.cleanup(handle, print)
        assert get(cluster_cli, "configmap", "vvgate-probe", "-n", name) is None
        still = get(cluster_cli, "namespace", name)
        assert still is not None and not still["metadata"].get("deletionTimestamp")
    finally:
        kubectl(cluster_cli, "delete", "namespace", name, "--ignore-not-found", "--wait=false")


@pytest.fixture(autouse=True)
def _nothing_of_the_gate_left(cluster_cli: Cli) -> Iterator[None]:
    """Each case starts from, and leaves, a cluster without the gate's objects, so the
    order of the cases does not matter."""
    yield
    leftovers = {kind: [o["metadata"]["name"] for o in json.loads(kubectl(
        cluster_cli, "get", kind, "-A", "-l", RUN_LABEL, "-o", "json"))["items"]]
        for kind in ("namespaces", "pv", "storageclass")}
    assert not any(leftovers.values()), leftovers
