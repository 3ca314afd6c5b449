"""`vvgate local up --cluster --node` runs the local overlay for real: the whole gate passes
against what the cluster serves, `kubectl exec` reaches the pods' containers, and manifests
broken in ways a simulated pod hides each fail exactly their gate, with the cluster's evidence
in the report.

One module, so xdist keeps it on one worker (the node is one per machine); its tests run in
file order against one node: the full run keeps its deployment for the exec checks, which then
remove it for the broken cases.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reference.localcluster.node.config import NODE_IP, NODE_NAME
from tests.cluster.conftest import node_slot, require_node
from tests.cluster.test_local_cluster import gates
from tests.local_target.helpers import PROJECT, Cli

NS = "vinylvault-local"
# Real pods start slower than kwok's (images, probes, SecantusDB's first start makes its user):
# the whole overlay is ready in about 20 s here; the never-ready cases wait this out.
READY_TIMEOUT_S = 60
CLUSTER_GATES = ("--gate", "storage", "--gate", "database", "--gate", "rollout")
# What the overlay's objects carry (base's labels); the Namespace and the Secrets are `up`'s.
PUBLIC_KEYS = ("GITHUB_CLIENT_ID", "GITHUB_APP_ID")
OVERLAY_KINDS = "deployment,statefulset,job,service,networkpolicy,poddisruptionbudget," \
                "horizontalpodautoscaler,ingress,configmap"


@pytest.fixture(scope="module")
def node_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    require_node()
    cli = Cli(tmp_path_factory.mktemp("vvnodeapp"))
    with node_slot():
        proc = cli.run("up", "--cluster", "--node", "--timeout", "300")
        try:
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
            yield cli
        finally:
            # --purge: containerd's store must not pile up in pytest's temporary folders.
            cli.run("down", "--purge")


def kubectl(cli: Cli, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "kubectl"),
                           f"--kubeconfig={cli.local / 'cluster' / 'kubeconfig'}", *args],
                          capture_output=True, text=True, timeout=120, check=check)


def gate_run(cli: Cli, report_dir: Path, *args: str,
             ready_timeout_s: int = READY_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    env = cli.env(VVGATE_READY_TIMEOUT_S=str(ready_timeout_s))
    return subprocess.run([sys.executable, "-m", "pytest", *args, "--target",
                           str(cli.local / "target.yaml"), "--report-dir", str(report_dir),
                           "-p", "no:warnings"],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1800)


def test_profile_points_the_gate_at_the_cluster(node_cli: Cli) -> None:
    profile = node_cli.profile()
    assert profile.connect_address() == (NODE_IP, 443)
    assert profile.http_port == 80
    assert profile.oauth.stand_in is False
    assert profile.mongodb is not None and profile.mongodb.bff.replica_set is None


def test_the_whole_gate_passes_against_what_the_cluster_serves(node_cli: Cli,
                                                               tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vvgate", "run", "--target", str(node_cli.local / "target.yaml"),
         "--report-dir", str(tmp_path), "--", "--keep"],
        cwd=PROJECT, env=node_cli.env(), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / "latest" / "gates.json").read_text())
    blocking = {g["name"]: g["verdict"] for g in report["gates"] if g["blocks"]}
    assert not blocking, blocking
    verdicts = gates(tmp_path)
    for gate in ("manifests", "storage", "database", "rollout", "auth", "graphql", "tenancy",
                 "tls", "headers", "health"):
        assert verdicts[gate] == "pass", verdicts
    # The report says how this cluster's volumes differ from the Synology's NFS.
    assert any("no NFS client" in note for note in report["run"]["notes"]), report["run"]["notes"]
    # No GitHub stand-in in the cluster: the sign-in checks skip and say why.
    skips = [s["reason"] for g in report["gates"] for s in g["skips"]
             if "test_sign_in" in s["test"]]
    assert skips and all("oauth.stand_in" in r for r in skips), skips
    # The gate read the pods' own Secrets: none of their values reaches its output or files.
    files = _files(tmp_path)
    assert {"report.html", "junit.xml", "gates.json"} <= {Path(f).name for f, _ in files}
    leaked = [f"{secret}/{key} in {where}" for secret, key, value in _secret_values(node_cli)
              for where, text in [("output", proc.stdout + proc.stderr), *files]
              if value in text]
    assert not leaked, leaked


def _secret_values(cli: Cli) -> list[tuple[str, str, str]]:
    """(Secret, key, value) of the overlay's generated Secrets: the random values only (a
    documented one such as the user name `root` is no secret), and not the GitHub app's
    identifiers, which every sign-in redirect shows."""
    found = []
    for secret in ("app-secrets", "github-secrets", "mongodb-bff-secret",
                   "mongodb-backend-secret"):
        data = json.loads(kubectl(cli, "get", "secret", secret, "-n", NS, "-o",
                                  "jsonpath={.data}").stdout)
        found += [(secret, key, value) for key, encoded in data.items()
                  if key not in PUBLIC_KEYS
                  and len(value := base64.b64decode(encoded).decode()) >= 32]
    assert len(found) >= 6, [(s, k) for s, k, _ in found]
    return found


def _files(root: Path) -> list[tuple[str, str]]:
    return [(str(f.relative_to(root)), f.read_text(errors="replace"))
            for f in root.rglob("*") if f.is_file() and f.suffix not in (".png",)]


def _overlay_pods(cli: Cli) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = json.loads(
        kubectl(cli, "get", "pods", "-n", NS, "-o", "json").stdout)["items"]
    return pods


def test_the_overlays_pods_are_real_containers_on_the_real_node(node_cli: Cli) -> None:
    pods = _overlay_pods(node_cli)  # kept by the full run (--keep)
    assert len(pods) >= 8, [p["metadata"]["name"] for p in pods]
    for pod in pods:
        name = pod["metadata"]["name"]
        assert pod["spec"]["nodeName"] == NODE_NAME, name
        for status in pod["status"]["containerStatuses"]:
            assert status["containerID"].startswith("containerd://"), name
            assert status["imageID"], name
            done = (status["state"].get("terminated") or {}).get("exitCode") == 0
            assert status["state"].get("running") or done, (name, status["state"])


def test_kubectl_exec_reaches_the_containers(node_cli: Cli) -> None:
    ready = kubectl(node_cli, "exec", "-n", NS, "deploy/bff", "--", "python", "-c",
                    "import urllib.request; print(urllib.request.urlopen("
                    "'http://127.0.0.1:3000/ready').read().decode())")
    assert json.loads(ready.stdout) == {"status": "ok"}
    ping = kubectl(node_cli, "exec", "-n", NS, "mongodb-bff-0", "--",
                   "python", "-m", "reference.mongo_entry", "ping", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    uid = kubectl(node_cli, "exec", "-n", NS, "deploy/frontend", "--", "id", "-u")
    assert uid.stdout.strip() == "101"  # port 80 without root: the pod's sysctl
    # Then the kept deployment goes, so each broken case deploys its own (the Namespace and
    # the Secrets `up` made stay, and with them the SecantusDB volumes' root users).
    kubectl(node_cli, "delete", OVERLAY_KINDS, "-n", NS, "--all", "--wait=true",
            "--timeout=120s")


# Each breaks one thing with a Kustomize patch on a copy of the local overlay. Every case
# fails the rollout gate: what the cluster does with the broken object (no endpoints, never
# ready, a crash loop) is only visible where pods run; the other cluster gates pass.
CASES: dict[str, tuple[tuple[str, str], list[dict[str, Any]], list[str]]] = {
    # The BFF Service selects no pod: the Ingress has nowhere to send /auth, /graphql, ...
    "wrong-service-selector": (("Service", "bff"), [
        {"op": "replace", "path": "/spec/selector/app", "value": "bff-api"}],
        ["Services without ready endpoints: bff"]),
    # The kubelet probes a port nothing listens on: never Ready, never in the Service.
    "wrong-probe-port": (("Deployment", "bff"), [
        {"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/port",
         "value": 3001}],
        ["Readiness probe failed", "connection refused"]),
    # A name the BFF does not read: it exits 2 at start, naming the one it misses.
    "unread-env-name": (("Deployment", "bff"), [
        {"op": "test", "path": "/spec/template/spec/containers/0/env/3/name",
         "value": "MONGODB_URI"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/env/3/name",
         "value": "MONGO_URI"}],
        ["CrashLoopBackOff", "reference.bff: MONGODB_URI is not set"]),
    # The backend admits the BFF on UDP 4000 only: kube-router drops its TCP connections. The
    # BFF never reaches its backend, so it never becomes ready (its /ready answers 503 until
    # the backend has answered once) and its log, in the report, says why. (The static gate's
    # flow rules read ports, not protocols: today they pass this tree.)
    "netpol-blocks-bff-to-backend": (("NetworkPolicy", "backend"), [
        {"op": "test", "path": "/spec/ingress/0/ports/0/port", "value": 4000},
        {"op": "replace", "path": "/spec/ingress/0/ports/0/protocol", "value": "UDP"}],
        ["Readiness probe failed", "backend http://backend:4000/graphql not reachable yet"]),
}


def broken_copy(tmp: Path, kind: str, name: str, ops: list[dict[str, Any]]) -> Path:
    root = tmp / "manifests"
    shutil.copytree(PROJECT / "manifests", root, ignore=shutil.ignore_patterns("secrets"))
    overlay = root / "overlays" / "local"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization["patches"].append({"target": {"kind": kind, "name": name},
                                     "patch": yaml.safe_dump(ops)})
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_broken_manifests_fail_the_rollout_gate_with_the_clusters_evidence(
        node_cli: Cli, tmp_path: Path, case: str) -> None:
    (kind, name), ops, evidence = CASES[case]
    root = broken_copy(tmp_path, kind, name, ops)
    proc = gate_run(node_cli, tmp_path / "reports", "suites/staging", *CLUSTER_GATES,
                    "--manifests", str(root))
    output = proc.stdout[-3000:] + proc.stderr[-1000:]
    assert proc.returncode == 1, output
    verdicts = gates(tmp_path / "reports")
    assert verdicts["rollout"] == "fail", (verdicts, output)
    others = {g: v for g, v in verdicts.items() if g != "rollout" and v != "pass"}
    assert not others, (others, output)
    html = (tmp_path / "reports" / "latest" / "report.html").read_text()
    for said in evidence:
        assert said in html, (said, output)
    if case == "unread-env-name":
        # A defect no rendering shows: the static gate passes the same broken tree.
        static = gate_run(node_cli, tmp_path / "static", "suites/static", "--manifests",
                          str(root))
        assert static.returncode == 0, static.stdout[-3000:]
