"""`vvgate local up --cluster --node`: one real node (containerd, kubelet, kube-proxy,
kube-router, CoreDNS) beside the kwok nodes, running pods of the reference image for real, and
a `down` that leaves nothing of it on the host.

One module, so xdist keeps it on one worker: the node is one per machine. Its tests run in
file order against one node; the last two stop it (and start it again, killed half-way).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from reference.localcluster.components import PROVISIONER_NAME
from reference.localcluster.node import janitor, journal, oci, preflight
from reference.localcluster.node.config import (
    LABEL,
    MAY_CREATE,
    NODE_IP,
    NODE_NAME,
    NodeLayout,
)
from reference.localcluster.nodes import NODE_NAMES, SIMULATED_TAINT
from tests import waiting
from tests.cluster.conftest import node_slot, require_node
from tests.local_target.helpers import Cli, processes_using

T = TypeVar("T")
NS = "vvgate-node-check"
NODE_PORT = 30080
WAIT_S = 120.0
TOLERATE = {"nodeSelector": {LABEL: "true"},
            "tolerations": [{"key": LABEL, "operator": "Equal", "value": "true",
                             "effect": "NoSchedule"}]}
HARDENED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}
# The frontend app of the reference package, served on every pod address.
SERVE = ("import uvicorn; from reference.frontend.app import build_app; "
         "print('web starting', flush=True); "
         "uvicorn.run(build_app(), host='0.0.0.0', port=8080, log_level='warning')")
PROBE = ("import socket, sys\n"
         "s = socket.socket(); s.settimeout(2)\n"
         "try:\n    s.connect((sys.argv[1], int(sys.argv[2]))); print('OPEN')\n"
         "except OSError as e:\n    print('CLOSED', e)\n")


def wait_for(what: str, probe: Callable[[], T | None]) -> T:
    return waiting.wait_for(what, probe, WAIT_S, interval_s=0.3)


def kubectl(cli: Cli, *args: str, stdin: str | None = None, check: bool = True,
            ) -> subprocess.CompletedProcess[str]:
    kubeconfig = cli.local / "cluster" / "kubeconfig"
    return subprocess.run([str(Path(sys.executable).parent / "kubectl"),
                           f"--kubeconfig={kubeconfig}", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=check)


def host_state() -> dict[str, Any]:
    """What the node may change on the host and must give back: kernel settings and shared
    files (the rest is janitor.leftovers(): links, chains, ipsets, mounts, cgroups, paths)."""
    return {"sysctls": {n: journal.read_sysctl(n) for n in journal.SYSCTLS},
            "files": {str(p): p.exists() for p in MAY_CREATE}}


def host_baseline() -> dict[str, Any]:
    """The host as it was before any node: as it is now, except what a node that died before
    this run left changed, which its record saved and the next `up` gives back."""
    state = host_state()
    record = journal.load()
    if record is not None:
        state["sysctls"].update({n: v for n, v in record.sysctls.items()
                                 if n in state["sysctls"]})
        state["files"].update({p: False for p in record.absent if p in state["files"]})
    return state


@pytest.fixture(scope="module")
def node_session(tmp_path_factory: pytest.TempPathFactory,
                 ) -> Iterator[tuple[Cli, dict[str, Any]]]:
    require_node()
    cli = Cli(tmp_path_factory.mktemp("vvnode"))
    with node_slot():
        # Inside the slot: another module's node changes the same kernel settings.
        before = host_baseline()
        t0 = time.monotonic()
        proc = cli.run("up", "--cluster", "--node", "--timeout", "150")
        print(f"up --cluster --node: {time.monotonic() - t0:.1f}s")
        try:
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
            yield cli, before
        finally:
            # --purge: containerd's store (images, snapshots: most of a GB) must not pile up
            # in the temporary folders pytest keeps.
            cli.run("down", "--purge")


@pytest.fixture(scope="module")
def node_cli(node_session: tuple[Cli, dict[str, Any]]) -> Cli:
    return node_session[0]


@pytest.fixture(scope="module")
def host_before(node_session: tuple[Cli, dict[str, Any]]) -> dict[str, Any]:
    return node_session[1]


def _images(cli: Cli) -> dict[str, str]:
    data: dict[str, str] = json.loads(
        (cli.local / "cluster" / "node" / "images.json").read_text())
    return data


def _pod(name: str, image: str, command: list[str], ports: tuple[int, ...] = (),
         ) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            **TOLERATE,
            # No runAsUser: the image's own user must be non-root for this to start.
            "securityContext": {"runAsNonRoot": True,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": name, "image": image, "imagePullPolicy": "Never", "command": command,
                "ports": [{"containerPort": p} for p in ports],
                "securityContext": HARDENED,
                **({"readinessProbe": {"tcpSocket": {"port": ports[0]}, "periodSeconds": 1}}
                   if ports else {}),
            }],
        },
    }


@pytest.fixture(scope="module")
def app(node_cli: Cli) -> dict[str, str]:
    """A web pod (the reference frontend) behind a NodePort Service and a client pod, both
    from the app image, non-root, read-only root file system, all capabilities dropped."""
    image = _images(node_cli)["reference"]
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        _pod("web", image, ["python", "-c", SERVE], (8080,)),
        _pod("client", image, ["python", "-c", "import time; time.sleep(10**6)"]),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
         "spec": {"type": "NodePort", "selector": {"app": "web"},
                  "ports": [{"port": 80, "targetPort": 8080, "nodePort": NODE_PORT}]}},
    ]
    kubectl(node_cli, "apply", "-f", "-", stdin="\n---\n".join(json.dumps(d) for d in docs))
    t0 = time.monotonic()
    kubectl(node_cli, "-n", NS, "wait", "--for=condition=Ready", "pod/web", "pod/client",
            f"--timeout={WAIT_S:.0f}s")
    print(f"pods Ready: {time.monotonic() - t0:.1f}s")
    web_ip = kubectl(node_cli, "-n", NS, "get", "pod", "web", "-o",
                     "jsonpath={.status.podIP}").stdout
    return {"image": image, "web_ip": web_ip}


def _exec(cli: Cli, pod: str, *command: str) -> subprocess.CompletedProcess[str]:
    return kubectl(cli, "-n", NS, "exec", pod, "--", *command, check=False)


def _reach(cli: Cli, host: str, port: int) -> str:
    return _exec(cli, "client", "python", "-c", PROBE, host, str(port)).stdout.strip()


def test_the_real_node_is_ready_beside_the_kwok_nodes(node_cli: Cli) -> None:
    nodes = {n["metadata"]["name"]: n for n in json.loads(
        kubectl(node_cli, "get", "nodes", "-o", "json").stdout)["items"]}
    assert sorted(nodes) == sorted([*NODE_NAMES, NODE_NAME])
    for name, node in nodes.items():
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", name
    real = nodes[NODE_NAME]
    assert real["metadata"]["labels"][LABEL] == "true"
    assert real["metadata"]["labels"]["kubernetes.io/arch"] == "amd64"
    assert {"key": LABEL, "value": "true", "effect": "NoSchedule"} in real["spec"]["taints"]
    assert real["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert {"type": "InternalIP", "address": NODE_IP} in real["status"]["addresses"]
    status = node_cli.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for component in ("containerd", "kubelet", "kube-proxy", "kube-router"):
        line = next(ln for ln in status.stdout.splitlines() if ln.startswith(component + " "))
        assert line.endswith("healthy"), line
    assert "Ready (10.17.0.1, amd64)" in status.stdout
    assert "coredns (pod)" in status.stdout


def test_only_pods_that_tolerate_simulation_land_on_kwok(node_cli: Cli) -> None:
    # With a real node the kwok nodes carry the simulated taint: a pod lands on one only
    # when it says it may be simulated, and one that says nothing waits (neither kind fits)
    # rather than pass unnoticed without running.
    tolerate = {"spec": {"tolerations": [{**SIMULATED_TAINT, "operator": "Equal"}]}}
    for name, overrides in (("plain", None), ("simulated", tolerate)):
        kubectl(node_cli, "run", name, "--image=busybox", "--restart=Never",
                "--namespace=default",
                *([f"--overrides={json.dumps(overrides)}"] if overrides else []))
    try:
        node = wait_for("scheduled pod", lambda: kubectl(
            node_cli, "get", "pod", "simulated", "-o",
            "jsonpath={.spec.nodeName}").stdout or None)
        assert node in NODE_NAMES
        reason = wait_for("unschedulable condition", lambda: kubectl(
            node_cli, "get", "pod", "plain", "-o",
            "jsonpath={.status.conditions[?(@.type=='PodScheduled')].reason}").stdout or None)
        assert reason == "Unschedulable"
    finally:
        kubectl(node_cli, "delete", "pod", "plain", "simulated", "--wait=false")


def test_app_image_runs_non_root_read_only_and_answers(node_cli: Cli,
                                                       app: dict[str, str]) -> None:
    ident = _exec(node_cli, "client", "id")
    assert ident.stdout.startswith("uid=10001(app) gid=10001(app)"), ident
    write = _exec(node_cli, "client", "python", "-c", "open('/probe', 'w')")
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write
    # Every reference component runs from this one image.
    tools = _exec(node_cli, "web", "sh", "-c",
                  "secantusd-py --help >/dev/null && traefik version && python -c "
                  "'import reference.bff.app, reference.backend.app, reference.github_stand_in'")
    assert tools.returncode == 0 and "3.7" in tools.stdout, tools
    logs = kubectl(node_cli, "-n", NS, "logs", "web").stdout
    assert "web starting" in logs
    # Through the ClusterIP Service, by its cluster DNS name (CoreDNS), from another pod.
    fetch = _exec(node_cli, "client", "python", "-c",
                  "import urllib.request as u; r = u.urlopen("
                  f"'http://web.{NS}.svc.cluster.local/', timeout=5); "
                  "print(r.status, r.headers['content-type'])")
    assert fetch.stdout.strip() == "200 text/html; charset=utf-8", fetch
    # From the host, as the gate would: the NodePort on the node's address.
    resp = httpx.get(f"http://{NODE_IP}:{NODE_PORT}/", timeout=5, trust_env=False)
    assert resp.status_code == 200 and "<div id=\"root\">" in resp.text


def test_network_policy_denies_and_then_allows(node_cli: Cli, app: dict[str, str]) -> None:
    web = app["web_ip"]
    assert _reach(node_cli, web, 8080) == "OPEN"
    deny = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "deny-ingress", "namespace": NS},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    kubectl(node_cli, "apply", "-f", "-", stdin=json.dumps(deny))
    wait_for("blocked connection", lambda: _reach(node_cli, web, 8080).startswith("CLOSED")
             or None)
    assert _reach(node_cli, "web", 80).startswith("CLOSED")  # through the Service too
    allow = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "allow-client", "namespace": NS},
             "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                      "policyTypes": ["Ingress"],
                      "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                   "ports": [{"port": 8080, "protocol": "TCP"}]}]}}
    kubectl(node_cli, "apply", "-f", "-", stdin=json.dumps(allow))
    wait_for("allowed connection", lambda: _reach(node_cli, web, 8080) == "OPEN" or None)
    assert _reach(node_cli, "web", 80) == "OPEN"


def test_nfs_volumes_are_bind_mounts_of_the_export(node_cli: Cli, app: dict[str, str]) -> None:
    """The provisioner's volumes name server 127.0.0.1 and a folder of its export; the mount
    shim on the kubelet's PATH makes the kubelet's own NFS mount a bind mount of it."""
    docs = [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "vvgate-node-check"}, "provisioner": PROVISIONER_NAME,
         "reclaimPolicy": "Retain"},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "data", "namespace": NS},
         "spec": {"storageClassName": "vvgate-node-check", "accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Mi"}}}},
    ]
    writer = _pod("writer", app["image"], ["python", "-c", "open('/data/hello', 'w').write("
                                           "'from the node'); import time; time.sleep(10**6)"])
    writer["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    writer["spec"]["volumes"] = [{"name": "data",
                                  "persistentVolumeClaim": {"claimName": "data"}}]
    kubectl(node_cli, "apply", "-f", "-",
            stdin="\n---\n".join(json.dumps(d) for d in [*docs, writer]))
    kubectl(node_cli, "-n", NS, "wait", "--for=condition=Ready", "pod/writer",
            f"--timeout={WAIT_S:.0f}s")
    export = node_cli.local / "cluster" / "nfs-export"
    written = wait_for("file in the export", lambda: next(export.glob("*/hello"), None))
    assert written.read_text() == "from the node"
    assert "nfs 127.0.0.1:" in (node_cli.local / "cluster" / "node" / "logs" /
                                "mount-shim.log").read_text()


def test_a_second_node_on_this_machine_is_refused(node_cli: Cli, tmp_path: Path) -> None:
    other = Cli(tmp_path / "other")
    proc = other.run("up", "--cluster", "--node")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "a real node already runs on this machine" in lines[0]
    assert str(node_cli.state) in lines[0]
    # Refused before anything started.
    assert not other.local.exists() and processes_using(other.state) == []


def test_down_undoes_every_host_change(node_cli: Cli, host_before: dict[str, Any]) -> None:
    proc = node_cli.run("down")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert janitor.leftovers(NodeLayout(node_cli.local / "cluster" / "node")) == []
    assert host_state() == host_before
    assert processes_using(node_cli.state) == []
    # What a pod wrote to its NFS volume is in the export, not in the node's removed folders.
    written = list((node_cli.local / "cluster" / "nfs-export").glob("*/hello"))
    assert [p.read_text() for p in written] == ["from the node"]


def test_a_killed_up_is_finished_by_the_next_up_and_down(node_cli: Cli,
                                                        host_before: dict[str, Any]) -> None:
    run = node_cli.local / "cluster" / "node" / "run"
    proc = subprocess.Popen([sys.executable, "-m", "reference.localenv", "up", "--cluster",
                             "--node", "--timeout", "150"], cwd=Path(__file__).parents[2],
                            env=node_cli.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        # Half-way: the kubelet is started, CoreDNS is not there yet.
        wait_for("kubelet record", lambda: (run / "kubelet.json").exists() or None)
    finally:
        proc.kill()
        proc.wait()
    # The lock holder too, as if the whole session died: the next `up` cannot reconcile a
    # node it does not hold, so its janitor has to clear the host first.
    os.kill(json.loads((run / "node-lock.json").read_text())["pid"], signal.SIGKILL)
    up = node_cli.run("up", "--cluster", "--node", "--timeout", "150")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr
    assert "janitor: undoing what an earlier node left" in up.stdout
    assert "node vvgate-node         Ready" in up.stdout
    down = node_cli.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert janitor.leftovers(NodeLayout(node_cli.local / "cluster" / "node")) == []
    assert host_state() == host_before
    assert processes_using(node_cli.state) == []


def test_without_root_up_node_refuses_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    problem = preflight.machine_problem()
    assert problem is not None and problem.startswith("--node needs root")


def test_layers_and_archives_are_deterministic(tmp_path: Path) -> None:
    def tree(root: Path, stamp: int) -> Path:
        (root / "opt" / "app").mkdir(parents=True)
        (root / "opt" / "app" / "run.py").write_text("print('hi')\n")
        (root / "opt" / "app" / "tool").write_text("#!/bin/sh\n")
        (root / "opt" / "app" / "tool").chmod(0o700)
        (root / "opt" / "link").symlink_to("app")
        for path in root.rglob("*"):
            os.utime(path, (stamp, stamp), follow_symlinks=False)
        return root

    first = oci.write_layer(tree(tmp_path / "a", 1_000_000), tmp_path / "a.tar")
    second = oci.write_layer(tree(tmp_path / "b", 2_000_000), tmp_path / "b.tar")
    assert first.digest == second.digest
    with tarfile.open(first.path) as tar:
        modes = {m.name: (m.mode, m.uid, m.mtime) for m in tar.getmembers()}
    # World-readable for any non-root user; owners root; no timestamps.
    assert modes["opt/app/tool"] == (0o755, 0, 0) and modes["opt/app/run.py"] == (0o644, 0, 0)
    config = oci.image_config([first], ["test"], {"Cmd": ["python3"]})
    a = oci.write_archive(tmp_path / "a-image.tar", "vvgate.local/t:1", [first], config)
    b = oci.write_archive(tmp_path / "b-image.tar", "vvgate.local/t:1", [second], config)
    assert a == b
    assert (tmp_path / "a-image.tar").read_bytes() == (tmp_path / "b-image.tar").read_bytes()
    assert oci.archive_name(tmp_path / "a-image.tar") == "vvgate.local/t:1"
