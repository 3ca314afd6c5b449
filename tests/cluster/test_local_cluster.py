"""`vvgate local up --cluster`: a real control plane with kwok nodes, on loopback only,
and the live suite's cluster gates passing against it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

from reference.localcluster.components import PROVISIONER_NAME
from reference.localcluster.nodes import NODE_NAMES
from tests import waiting
from tests.local_target.helpers import PROJECT, Cli, pid_alive

T = TypeVar("T")


def kubectl(cli: Cli, *args: str, stdin: str | None = None) -> str:
    kubeconfig = cli.local / "cluster" / "kubeconfig"
    out = subprocess.run([str(Path(sys.executable).parent / "kubectl"),
                          f"--kubeconfig={kubeconfig}", *args], input=stdin,
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


def run_suite(cli: Cli, report_dir: Path, *extra: str,
              ready_timeout_s: int | None = None) -> subprocess.CompletedProcess[str]:
    env = cli.env(**({"VVGATE_READY_TIMEOUT_S": str(ready_timeout_s)} if ready_timeout_s else {}))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites/staging", "--target",
         str(cli.local / "target.yaml"), "--report-dir", str(report_dir), "-p", "no:warnings",
         "--gate", "storage", "--gate", "database", "--gate", "rollout", *extra],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)


def gates(report_dir: Path) -> dict[str, str]:
    data = json.loads((report_dir / "latest" / "gates.json").read_text())
    return {g["name"]: g["verdict"] for g in data["gates"]}


def test_four_arm64_nodes_ready(cluster_cli: Cli) -> None:
    nodes = json.loads(kubectl(cluster_cli, "get", "nodes", "-o", "json"))["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == sorted(NODE_NAMES)
    for node in nodes:
        assert node["metadata"]["labels"]["kubernetes.io/arch"] == "arm64"
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True"


def test_profile_names_the_cluster(cluster_cli: Cli) -> None:
    profile = yaml.safe_load((cluster_cli.local / "target.yaml").read_text())
    kube = profile["kubernetes"]
    assert Path(kube["kubeconfig"]).is_file()
    assert kube["namespace"] == "vinylvault-local"
    assert kube["storage_class"] == "nfs-mongodb"
    server = yaml.safe_load(Path(kube["kubeconfig"]).read_text())["clusters"][0]
    assert server["cluster"]["server"].startswith("https://127.0.0.1:")


def test_cluster_gates_pass(cluster_cli: Cli, tmp_path: Path) -> None:
    proc = run_suite(cluster_cli, tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    verdicts = gates(tmp_path)
    for gate in ("storage", "database", "rollout"):
        assert verdicts.get(gate) == "pass", verdicts
    # The Retain class keeps every volume of the run's claims (the StatefulSets' and the
    # storage checks'); the run removes them once Released, so none piles up.
    volumes = json.loads(kubectl(cluster_cli, "get", "pv", "-o", "json"))["items"]
    kept = [v["metadata"]["name"] for v in volumes
            if str((v["spec"].get("claimRef") or {}).get("namespace", "")).startswith(
                ("vinylvault-local", "vvgate-check-"))]
    assert not kept, kept


def test_a_profile_whose_namespace_the_overlay_does_not_deploy_stops_the_run(
        cluster_cli: Cli, tmp_path: Path) -> None:
    profile = yaml.safe_load((cluster_cli.local / "target.yaml").read_text())
    profile["kubernetes"]["namespace"] = "vinylvault-nowhere"
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/staging", "--target", str(path),
         "--report-dir", str(tmp_path), "-p", "no:warnings", "--gate", "rollout"],
        cwd=PROJECT, env=cluster_cli.env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout[-3000:]
    error = json.loads((tmp_path / "latest" / "gates.json").read_text())["error"]
    assert ("kubernetes.namespace 'vinylvault-nowhere' is not where its overlay deploys "
            "(vinylvault-local)") in error, error
    # Nothing was judged, so nothing passed: no rollout check ran.
    assert "passed" not in proc.stdout.splitlines()[-1], proc.stdout[-500:]


# Neither the seed's class (Retain) nor the storage suite reaches the provisioner's Delete.
ARCHIVING_CLASS = f"""
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: vvgate-archiving}}
provisioner: {PROVISIONER_NAME}
parameters: {{archiveOnDelete: "true"}}
reclaimPolicy: Delete
"""
CLAIMS = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: scratch, namespace: default}
spec:
  storageClassName: vvgate-archiving
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: picky, namespace: default}
spec:
  storageClassName: vvgate-archiving
  selector: {matchLabels: {disk: fast}}
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
"""
WAIT_S = 120.0


def wait_for(what: str, probe: Callable[[], T | None]) -> T:
    return waiting.wait_for(what, probe, WAIT_S, interval_s=0.5)


def test_provisioner_archives_released_volumes_and_refuses_selectors(cluster_cli: Cli) -> None:
    export = (cluster_cli.local / "cluster" / "nfs-export").resolve()
    kubectl(cluster_cli, "apply", "-f", "-", stdin=ARCHIVING_CLASS)
    kubectl(cluster_cli, "apply", "-f", "-", stdin=CLAIMS)

    def bound_volume() -> str | None:
        pvc = json.loads(kubectl(cluster_cli, "get", "pvc", "scratch", "-n", "default",
                                 "-o", "json"))
        return pvc["spec"].get("volumeName") if pvc["status"].get("phase") == "Bound" else None

    pv_name = wait_for("Bound claim", bound_volume)
    pv = json.loads(kubectl(cluster_cli, "get", "pv", pv_name, "-o", "json"))
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == PROVISIONER_NAME
    directory = Path(pv["spec"]["nfs"]["path"])
    assert directory == export / f"default-scratch-{pv_name}"
    assert directory.is_dir() and directory.stat().st_mode & 0o777 == 0o777

    kubectl(cluster_cli, "delete", "pvc", "scratch", "-n", "default", "--wait=false")
    wait_for("deleted volume", lambda: not kubectl(
        cluster_cli, "get", "pv", pv_name, "--ignore-not-found", "-o", "name") or None)
    assert not directory.exists()
    assert (export / f"archived-{directory.name}").is_dir()

    def refusal() -> str | None:
        events = json.loads(kubectl(cluster_cli, "get", "events", "-n", "default", "-o", "json",
                                    "--field-selector", "involvedObject.name=picky"))["items"]
        return next((e["message"] for e in events if e["reason"] == "ProvisioningFailed"), None)

    assert "claim Selector is not supported" in wait_for("ProvisioningFailed event", refusal)
    picky = json.loads(kubectl(cluster_cli, "get", "pvc", "picky", "-n", "default", "-o", "json"))
    assert picky["status"]["phase"] == "Pending"
    kubectl(cluster_cli, "delete", "pvc", "picky", "-n", "default", "--wait=false")
    kubectl(cluster_cli, "delete", "storageclass", "vvgate-archiving")


def test_down_stops_every_component(cluster_cli: Cli) -> None:
    run_dir = cluster_cli.local / "cluster" / "run"
    pids = [json.loads(p.read_text())["pid"] for p in run_dir.glob("*.json")]
    assert len(pids) == 6
    cluster_cli.run("down")
    assert not [p for p in pids if pid_alive(p)]
    assert not list(run_dir.glob("*.json"))


def test_a_component_that_fails_to_start_leaves_nothing_running(tmp_path: Path) -> None:
    """One line naming the component and its log, exit 2, no process left."""
    from reference.localcluster.layout import bin_dir
    from tests.cluster.conftest import require_binaries

    require_binaries()
    fake = tmp_path / "cache" / "vinylvault-gate" / "bin"
    fake.mkdir(parents=True)
    for real in bin_dir().iterdir():
        (fake / real.name).symlink_to(real)
    broken = next(fake.glob("kube-scheduler-*"))
    broken.unlink()
    broken.write_text("#!/bin/sh\necho 'scheduler: simulated failure' >&2\nexit 3\n")
    broken.chmod(0o755)
    cli = Cli(tmp_path / "state")
    proc = cli.run("up", "--cluster", XDG_CACHE_HOME=str(tmp_path / "cache"))
    try:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        line = proc.stderr.strip().splitlines()[-1]
        assert "kube-scheduler" in line and "kube-scheduler.log" in line, line
        assert not [p for p in cli.pids().values() if pid_alive(p)]
        cluster_run = cli.local / "cluster" / "run"
        assert not list(cluster_run.glob("*.json"))
    finally:
        cli.run("down")
