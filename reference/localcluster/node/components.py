"""The node's host processes: argv, environment and health check of each, in start order.

Each runs inside the node's runtime cgroup (a shell joins it, then execs the program: same PID,
so the record stays right), where containerd's shims end up too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reference.localcluster.components import SERVICE_CIDR, Component, binary, http_get
from reference.localcluster.node import cgroups, lock
from reference.localcluster.node.config import LABEL, NODE_IP, NODE_NAME, NodeLayout
from reference.localenv import procs
from reference.localenv.paths import REPO_ROOT

# Start order; `down` stops in reverse. The lock holder comes first and goes last.
ORDER = ("node-lock", "containerd", "kubelet", "kube-proxy", "kube-router")
# Fixed, as on any node (these are the upstream defaults), and below the ephemeral port range:
# a port picked free at `up` could be some connection's local port by the time its component
# binds it, and one node per machine means no two nodes ever want them.
PORTS = {"kubelet-healthz": 10248, "kube-proxy-metrics": 10249, "kube-proxy-healthz": 10256,
         "kube-router-health": 20244}
SEARCH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_JOIN = 'echo $$ > "$0" && exec "$@"'
MOUNT_SHIM = Path(__file__).with_name("mount_shim.py")


def _in_runtime_cgroup(argv: list[str]) -> list[str]:
    return ["/bin/sh", "-c", _JOIN, str(cgroups.runtime_procs()), *argv]


def _containerd_ok(node: NodeLayout) -> bool:
    try:
        return subprocess.run(["ctr", "--address", str(node.socket), "version"],
                              capture_output=True, timeout=5, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _lock_ok(node: NodeLayout) -> bool:
    rec = procs.load(node.run, "node-lock")
    found = lock.owner()
    return rec is not None and found is not None and found.get("pid") == rec.pid


def _http_ok(port: int, path: str) -> bool:
    return http_get(f"http://127.0.0.1:{port}{path}") is not None


def mount_wrapper(node: NodeLayout) -> str:
    """The `mount` first on the kubelet's PATH (see mount_shim.py)."""
    return (f"#!/bin/sh\nexec {sys.executable} -I -S {MOUNT_SHIM} "
            f"--log {node.log('mount-shim')} -- \"$@\"\n")


def build(node: NodeLayout, port: dict[str, int]) -> list[Component]:
    cluster = node.cluster
    kc = cluster.component_kubeconfig
    env = {"PATH": SEARCH, "HOME": str(node.root)}
    return [
        Component("node-lock", [sys.executable, "-m", "reference.localcluster.node.lock",
                                str(node.root)], 0, lambda: _lock_ok(node),
                  {**env, "PYTHONPATH": str(REPO_ROOT)}),
        Component("containerd", _in_runtime_cgroup([
            "containerd", f"--config={node.etc / 'containerd.toml'}"]), 0,
            lambda: _containerd_ok(node), env),
        Component("kubelet", _in_runtime_cgroup([
            str(binary("kubelet", "kubernetes")), f"--config={node.etc / 'kubelet.yaml'}",
            f"--kubeconfig={kc('kubelet')}", f"--root-dir={node.kubelet}",
            f"--cert-dir={node.kubelet / 'pki'}", f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}", f"--node-labels={LABEL}=true", "--v=1",
        ]), port["kubelet-healthz"], lambda: _http_ok(port["kubelet-healthz"], "/healthz"),
            # The mount shim first: NFS volumes of this machine's exports become bind mounts.
            {**env, "PATH": f"{node.shim}:{SEARCH}"}),
        Component("kube-proxy", _in_runtime_cgroup([
            str(binary("kube-proxy", "kubernetes")),
            f"--config={node.etc / 'kube-proxy.yaml'}", "--v=1",
        ]), port["kube-proxy-healthz"],
            lambda: _http_ok(port["kube-proxy-healthz"], "/healthz"), env),
        Component("kube-router", _in_runtime_cgroup([
            str(binary("kube-router", "kube_router")), f"--kubeconfig={kc('kube-router')}",
            f"--hostname-override={NODE_NAME}",
            # Network policy only: the bridge plugin wires pods, kube-proxy does Services.
            "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
            "--run-loadbalancer=false", "--enable-cni=false", "--enable-ipv4=true",
            "--enable-ipv6=false", f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--health-port={port['kube-router-health']}", "--metrics-port=0",
            "--iptables-sync-period=1m", "-v=1",
        ]), port["kube-router-health"],
            lambda: _http_ok(port["kube-router-health"], "/healthz"), env),
    ]
