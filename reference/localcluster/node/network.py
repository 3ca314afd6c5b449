"""The node's host networking: its address, the guard on what it exposes, and the sweep that
removes every link, iptables rule and chain, ipset and conntrack entry the node made.

kube-proxy, kube-router, the kubelet and the CNI plugins name everything they add KUBE-*,
CNI-* or kube-router-*; the guard is VVGATE-NODE. preflight.py refuses to start a node on a
host that already has such names (another Kubernetes), so the sweep removes only the node's.
It never calls iptables-legacy: `iptables` is what kube-proxy and kube-router use too.
"""

from __future__ import annotations

import json
import subprocess

from reference.localcluster.components import SERVICE_CIDR
from reference.localcluster.node.config import (
    BRIDGE,
    CLUSTER_CIDR,
    NODE_IP,
    NODE_LINK,
    NODE_PEER,
    POD_CIDR,
)
from reference.localenv.state import LocalEnvError

GUARD = "VVGATE-NODE"
PREFIXES = ("KUBE-", "CNI-", GUARD)
SET_PREFIXES = ("KUBE-", "kube-router-", "inet6:KUBE-", "inet6:kube-router-")
TABLES = ("filter", "nat", "mangle", "raw")
IPTABLES = ("iptables", "ip6tables")


def _run(argv: list[str], check: bool = True, stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False,
                          timeout=60)
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise LocalEnvError(f"{' '.join(argv[:4])} failed: {detail}")
    return proc.stdout


def links() -> list[str]:
    """The node's links: its bridge, its address's veth pair, the pods' veths on the bridge."""
    found = []
    for link in json.loads(_run(["ip", "-j", "link", "show"]) or "[]"):
        name = str(link.get("ifname", ""))
        if name in (BRIDGE, NODE_LINK, NODE_PEER) or link.get("master") == BRIDGE:
            found.append(name)
    return found


def ensure_address() -> None:
    """NODE_IP on a veth pair of the node's own (the bridge plugin refuses a bridge that
    already holds another IPv4 address, and there is no `dummy` link type here)."""
    if NODE_LINK not in links():
        _run(["ip", "link", "add", NODE_LINK, "type", "veth", "peer", "name", NODE_PEER])
    _run(["ip", "addr", "replace", f"{NODE_IP}/32", "dev", NODE_LINK])
    for name in (NODE_LINK, NODE_PEER):
        _run(["ip", "link", "set", name, "up"])


def guard(ports: list[int]) -> None:
    """Only this host (loopback) and the node's pods (the bridge) may open connections to the
    node's address, its pods and Services, or the host ports the node needs beyond loopback
    (the API server, bound to every address so pods reach it; kube-router's health port,
    which it binds everywhere). Answers to connections made from here pass.

    In the mangle table's PREROUTING, which sees every arriving packet before kube-proxy's
    DNAT and before kube-proxy's and kube-router's filter chains (which put themselves first
    in INPUT and FORWARD, and accept pod traffic there)."""
    chain = [f"-A {GUARD} -i lo -j RETURN",
             f"-A {GUARD} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"]
    multiport = ",".join(str(p) for p in sorted(set(ports)))
    by_port = f"-p tcp -m multiport --dports {multiport} -j {GUARD}"
    jumps4 = [by_port, f"-d {NODE_IP}/32 -j {GUARD}", f"-d {CLUSTER_CIDR} -j {GUARD}",
              f"-d {SERVICE_CIDR} -j {GUARD}"]
    for ipt, body, jumps in (
            ("iptables", [*chain, f"-A {GUARD} -i {BRIDGE} -s {POD_CIDR} -j RETURN",
                          f"-A {GUARD} -j DROP"], jumps4),
            ("ip6tables", [*chain, f"-A {GUARD} -j DROP"], [by_port])):
        existing = _run([ipt, "-w", "-t", "mangle", "-S"]).splitlines()
        # One transaction: the old jumps (an earlier API server port) out, the chain's rules
        # replaced, the jumps in, so no packet meets half a guard.
        script = ["*mangle"]
        if f"-N {GUARD}" not in existing:
            script.append(f":{GUARD} - [0:0]")
        script += [f"-D {ln[3:]}" for ln in existing
                   if ln.startswith("-A ") and _target(ln) == GUARD]
        script += [f"-F {GUARD}", *body, *(f"-I PREROUTING 1 {rule}" for rule in jumps)]
        _run([f"{ipt}-restore", "-w", "--noflush"], stdin="\n".join([*script, "COMMIT", ""]))


def _target(rule: str) -> str | None:
    """The chain an `-A ...` rule jumps (-j) or goes (-g) to."""
    words = rule.split()
    for flag in ("-j", "-g"):
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return None


def _ours(chain: str) -> bool:
    return chain.startswith(PREFIXES)


def chains() -> dict[str, list[str]]:
    """The node's chains per `iptables:table`, for the sweep and for leftover checks."""
    found: dict[str, list[str]] = {}
    for ipt in IPTABLES:
        for table in TABLES:
            lines = _run([ipt, "-w", "-t", table, "-S"], check=False).splitlines()
            names = [ln.split()[1] for ln in lines if ln.startswith("-N ") and _ours(ln.split()[1])]
            if names:
                found[f"{ipt}:{table}"] = names
    return found


def _sweep_table(ipt: str, table: str) -> None:
    lines = _run([ipt, "-w", "-t", table, "-S"], check=False).splitlines()
    ours = [ln.split()[1] for ln in lines if ln.startswith("-N ") and _ours(ln.split()[1])]
    if not ours:
        return
    # Rules of the built-in chains that jump into ours (kube-proxy's, kube-router's, the
    # kubelet's, CNI's masquerade, the guard's).
    jumps = [ln for ln in lines if ln.startswith("-A ") and not _ours(ln.split()[1])
             and _target(ln) in ours]
    script = [f"*{table}", *(f"-D {ln[3:]}" for ln in jumps), *(f"-F {c}" for c in ours),
              *(f"-X {c}" for c in ours), "COMMIT", ""]
    _run([f"{ipt}-restore", "-w", "--noflush"], stdin="\n".join(script))


def sweep() -> None:
    """Remove every rule and chain of the node's, then its ipsets (a set in use by a rule
    cannot go first) and the kernel's connection entries for its addresses."""
    for ipt in IPTABLES:
        for table in TABLES:
            try:
                _sweep_table(ipt, table)
            except LocalEnvError:
                _sweep_table(ipt, table)  # a component still syncing changed it meanwhile
    for name in ipsets():
        _run(["ipset", "destroy", name], check=False)
    for args in (["-s", CLUSTER_CIDR], ["-d", CLUSTER_CIDR], ["-d", SERVICE_CIDR],
                 ["-s", NODE_IP], ["-d", NODE_IP]):
        _run(["conntrack", "-D", *args], check=False)  # exit 1: nothing matched


def ipsets() -> list[str]:
    out = _run(["ipset", "list", "-n"], check=False)
    return [name for name in out.split() if name.startswith(SET_PREFIXES)]


def remove_links() -> None:
    # The pods' veths first (deleting one end removes its peer in the pod's namespace).
    for name in sorted(links(), key=lambda n: n in (BRIDGE, NODE_LINK, NODE_PEER)):
        _run(["ip", "link", "del", name], check=False)


def conntrack_entries() -> int:
    """Connection entries left for the node's addresses (pods, Services, the node IP)."""
    out = _run(["conntrack", "-L"], check=False)
    return sum(1 for line in out.splitlines()
               if any(p in line for p in ("=10.244.", "=10.96.", f"={NODE_IP} ")))
