"""What `up --node` checks before it starts anything, each failure one line naming the fix.

Root, the Debian packages (scripts/bootstrap-node), the binaries (scripts/bootstrap-cluster),
the kernel features the node relies on, the machine-wide lock, and a host free of another
Kubernetes' traces (the node's cleanup removes KUBE-* chains and the kubelet's fixed paths, so
it must be the only thing that made them).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from reference.localcluster.components import binary
from reference.localcluster.node import cgroups, journal, lock, network
from reference.localcluster.node.components import PORTS
from reference.localcluster.node.config import HOST_PATHS, NodeLayout
from reference.localenv import ports

SEARCH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Debian package -> what the node runs of it.
PACKAGES = {
    "containerd": ("containerd", "containerd-shim-runc-v2", "ctr"),
    "runc": ("runc",),
    "containernetworking-plugins": ("/usr/lib/cni/bridge", "/usr/lib/cni/host-local",
                                    "/usr/lib/cni/portmap", "/usr/lib/cni/loopback"),
    "iptables": ("iptables", "ip6tables", "iptables-restore", "ip6tables-restore"),
    "ipset": ("ipset",),
    "conntrack": ("conntrack",),
    "iproute2": ("ip",),
    "mount": ("mount", "umount"),
}
# The node's binaries (bin name, binaries.json key), built by scripts/bootstrap-cluster.
BINARIES = (("kubelet", "kubernetes"), ("kube-proxy", "kubernetes"),
            ("kube-router", "kube_router"), ("coredns", "coredns"))
SOCKET_MAX = 107  # sun_path


def missing_binaries() -> list[Path]:
    return [p for p in (binary(n, k) for n, k in BINARIES) if not os.access(p, os.X_OK)]


def _missing_program(program: str) -> bool:
    if program.startswith("/"):
        return not os.access(program, os.X_OK)
    return shutil.which(program, path=SEARCH) is None


def machine_problem() -> str | None:
    """What this machine lacks to run a node (root, packages, binaries, kernel), or None."""
    if os.geteuid() != 0:
        return ("--node needs root: the node changes the host's network, iptables, cgroups, "
                "mounts and sysctls")
    for package, programs in PACKAGES.items():
        for program in programs:
            if _missing_program(program):
                return (f"--node needs {program} (Debian package {package}); "
                        "run scripts/bootstrap-node")
    missing = missing_binaries()
    if missing:
        return f"{missing[0].name} not built ({missing[0]}); run scripts/bootstrap-cluster"
    if journal.read_sysctl("net.bridge.bridge-nf-call-iptables") is None:
        return ("the kernel's br_netfilter module is not loaded (modprobe br_netfilter): "
                "without it network policies and Services miss traffic between pods")
    if not cgroups.supported():
        return "--node needs cgroup v1 with a pids hierarchy (a v2-only host is not supported)"
    return None


def host_problem(node: NodeLayout) -> str | None:
    """Whether this state may start a node on this host now, or why not."""
    other = lock.held_by_other(node.root)
    if other is not None:
        return lock.describe(other)
    if len(str(node.socket)) > SOCKET_MAX:
        return (f"the state folder's path is too long for containerd's socket ({node.socket}); "
                "use a shorter VVGATE_STATE_DIR")
    if journal.load() is not None:
        return None  # an earlier node's traces: the janitor at the start of `up` removes them
    for name, port in PORTS.items():
        if not ports.is_free(port):
            return (f"port {port} on 127.0.0.1 is taken; the node's {name.rsplit('-', 1)[0]} "
                    "needs it")
    for path in HOST_PATHS:
        if path.exists():
            return (f"{path} exists and no vvgate node made it: another kubelet or containerd "
                    "uses this machine; a real node needs these paths to itself")
    for where, names in network.chains().items():
        return (f"{where.replace(':', ' table ')} has chain {names[0]} and no vvgate node made "
                "it: another Kubernetes runs here; a real node needs the host's KUBE-* chains "
                "to itself")
    for name in network.ipsets():
        return f"ipset {name} exists and no vvgate node made it: another Kubernetes runs here"
    return None


def setup_problem() -> str | None:
    """machine_problem(), or the base image the node's application image is built on, when
    scripts/bootstrap-node has not built it yet; None when the machine is set up."""
    from reference.localcluster.node import images

    problem = machine_problem()
    if problem is None and not images.base_built():
        problem = "the node's Debian base image is not built; run scripts/bootstrap-node"
    return problem


def main() -> int:
    """`python -m reference.localcluster.node.preflight`: exit 0 when this machine can run the
    node now, else 1 with the reason on stdout (scripts/gate-local asks it)."""
    problem = setup_problem() or host_problem(NodeLayout.current())
    if problem is not None:
        print(problem)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
