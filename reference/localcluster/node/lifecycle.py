"""check, prepare, start, stop and status of the real node (`vvgate local up --cluster --node`).

`check` runs before the local target starts and refuses in one line (root, packages, binaries,
images, a node of another state); `prepare` runs before the API server starts: it takes the
machine-wide lock, clears what an earlier node left (the janitor), records the host as it is
and makes the host changes; `start` runs once the control plane is up. `stop` takes the node's
pods off it through the API while that still answers, stops its processes and undoes every host
change. Every process is recorded before it runs (procs.spawn); a SIGKILLed `up` leaves the lock
holder running, so the next `up` or `down` of the same state finds and finishes the node.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from reference.localcluster import node_profile, starter
from reference.localcluster.components import Component
from reference.localcluster.kubectl import kubectl
from reference.localcluster.layout import ClusterLayout
from reference.localcluster.node import (
    addons,
    application,
    cgroups,
    components,
    config,
    images,
    janitor,
    journal,
    lock,
    network,
    preflight,
)
from reference.localcluster.node.components import ORDER, PORTS
from reference.localcluster.node.config import NODE_NAME, POD_CIDR, NodeLayout
from reference.localenv import procs
from reference.localenv.paths import Layout
from reference.localenv.state import LocalEnvError, say

READY_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 90


def check() -> dict[str, images.Image]:
    """Before anything starts: what the machine lacks, a node of another state, the images
    (built here when an input changed: seconds, no network)."""
    node = NodeLayout.current()
    problem = preflight.machine_problem() or preflight.host_problem(node)
    if problem:
        raise LocalEnvError(problem)
    try:
        return images.ensure(say)
    except images.ImageError as exc:
        raise LocalEnvError(str(exc)) from None


def running(node: NodeLayout) -> dict[str, procs.Record]:
    return starter.running(node, ORDER)


def present(cluster: ClusterLayout) -> bool:
    """Whether this state has a node, or the traces of one, to stop."""
    node = NodeLayout.of(cluster)
    record = journal.load()
    return bool(running(node)) or (record is not None and record.owner == str(node.root))


def _hold_lock(node: NodeLayout, comp: Component, t0: float) -> bool:
    """Take (or keep) the machine-wide lock; whether it was already ours."""
    if "node-lock" in running(node) and comp.health():
        return True
    try:
        starter.start(node, comp, ORDER, 10.0, t0)
    except LocalEnvError:
        other = lock.held_by_other(node.root)
        if other is not None:
            raise LocalEnvError(lock.describe(other)) from None
        raise
    return False


def prepare(cluster: ClusterLayout, apiserver_port: int) -> dict[str, int]:
    """The lock, the janitor and the host changes the API server and the node need; the
    node's ports."""
    t0 = time.monotonic()
    node = NodeLayout.of(cluster)
    for folder in (node.run, node.logs, node.etc):
        folder.mkdir(parents=True, exist_ok=True)
    port_map = dict(PORTS)
    comps = {c.name: c for c in components.build(node, port_map)}
    already_ours = _hold_lock(node, comps["node-lock"], t0)
    record = journal.load()
    if record is not None and (not already_ours or record.tearing_down
                               or record.owner != str(node.root)):
        # What a killed `up` or `down`, or a node of a state since gone, left behind.
        say("  janitor: undoing what an earlier node left on this host")
        left = janitor.teardown(node, say)
        if left:
            raise LocalEnvError(f"the janitor could not undo an earlier node: {left[0]}")
    journal.begin(node.root)
    cgroups.ensure()
    network.ensure_address()
    # Pods reach the world through this host, and bridged traffic between pods must pass
    # iptables for Services and network policies.
    for name in ("net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"):
        journal.write_sysctl(name, "1")
    network.guard([apiserver_port, port_map["kube-router-health"]])
    return port_map


def _write_configs(node: NodeLayout, port_map: dict[str, int], imgs: dict[str, images.Image],
                   ) -> None:
    for folder in (node.containerd, node.cni_conf, node.cni_ipam, node.kubelet, node.pod_logs,
                   node.shim):
        folder.mkdir(parents=True, exist_ok=True)
    files = {
        node.etc / "containerd.toml": config.containerd_toml(node, imgs["pause"].name),
        node.cni_conf / "10-vvgate.conflist": config.cni_conflist(node),
        node.etc / "kubelet.yaml": config.kubelet_yaml(node, port_map["kubelet-healthz"]),
        node.etc / "kube-proxy.yaml": config.kube_proxy_yaml(
            node, port_map["kube-proxy-healthz"], port_map["kube-proxy-metrics"]),
        node.shim / "mount": components.mount_wrapper(node),
        node.images: json.dumps({k: v.name for k, v in imgs.items()}, indent=1) + "\n",
    }
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    (node.shim / "mount").chmod(0o755)


def _ctr(node: NodeLayout, *args: str, timeout_s: float = 120.0) -> str:
    proc = subprocess.run(["ctr", "--address", str(node.socket), "--namespace", "k8s.io", *args],
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise LocalEnvError(f"ctr {args[0]} {args[1] if len(args) > 1 else ''} failed: {detail}")
    return proc.stdout


def _import(node: NodeLayout, imgs: dict[str, images.Image], t0: float) -> None:
    """Import the archives containerd does not have yet (its store outlives `down`), and drop
    the node's images no longer current (an earlier reference/ or CoreDNS build): containerd
    then collects their layers, so its store holds one app image, not one per edit."""
    have = set(_ctr(node, "images", "ls", "-q").split())
    # The overlay names the reference image by a stable tag: kept, and moved to this build.
    wanted = {image.name for image in imgs.values()} | {node_profile.overlay_image()}
    # Not one a container still uses (a running pod of the previous build keeps its image).
    in_use = {line.split()[1] for line in _ctr(node, "containers", "ls").splitlines()[1:]
              if len(line.split()) > 1}
    stale = sorted(n for n in have if n.startswith(f"{images.REGISTRY}/")
                   and n not in wanted and n not in in_use)
    if stale:
        _ctr(node, "images", "rm", *stale)
    for image in imgs.values():
        if image.name in have:
            continue
        start = time.monotonic()
        _ctr(node, "images", "import", str(image.archive), timeout_s=600.0)
        say(f"  {'image':<24} imported {image.name} in {time.monotonic() - start:.1f}s "
            f"({time.monotonic() - t0:.1f}s)")
    _ctr(node, "images", "tag", "--force", imgs["reference"].name, node_profile.overlay_image())


def _node_field(cluster: ClusterLayout, path: str) -> str:
    try:
        return kubectl(cluster, "get", "node", NODE_NAME, "-o", f"jsonpath={path}")
    except LocalEnvError:
        return ""  # not registered yet


def _wait(what: str, probe: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not probe():
        if time.monotonic() > deadline:
            raise LocalEnvError(f"{what} after {READY_TIMEOUT_S:.0f}s; see {log}")
        time.sleep(0.3)


def start(cluster: ClusterLayout, port_map: dict[str, int], timeout_s: float, t0: float) -> None:
    """containerd, the images, the kubelet (its Node registered and given the pod range),
    kube-proxy, kube-router, then CoreDNS as a pod."""
    node = NodeLayout.of(cluster)
    imgs = images.ensure(say)  # what check() built: cached, nothing to do
    _write_configs(node, port_map, imgs)
    comps = {c.name: c for c in components.build(node, port_map)}
    starter.start(node, comps["containerd"], ORDER, timeout_s, t0)
    _import(node, imgs, t0)
    before = running(node).get("kubelet")
    started = time.time()
    kubelet = starter.start(node, comps["kubelet"], ORDER, timeout_s, t0)
    # A restarted kubelet's Node may still show the Ready its predecessor reported: only a
    # heartbeat since this start counts.
    since = started if before is None or before.pid != kubelet.pid else None
    _wait("the kubelet did not register its Node",
          lambda: bool(_node_field(cluster, "{.metadata.name}")), node.log("kubelet"))
    # No controller hands out pod ranges here (the bridge plugin's is fixed); kube-router and
    # kube-proxy read the Node's.
    if not _node_field(cluster, "{.spec.podCIDR}"):
        kubectl(cluster, "patch", "node", NODE_NAME, "--type=merge", "-p",
                json.dumps({"spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]}}))
    kubectl(cluster, "apply", "-f", "-", stdin=addons.kube_router_rbac())
    starter.start(node, comps["kube-proxy"], ORDER, timeout_s, t0)
    # kube-router exits when its Node does not exist yet: it starts after registration.
    starter.start(node, comps["kube-router"], ORDER, timeout_s, t0)
    _wait("the node is not Ready", lambda: node_ready(cluster, since), node.log("kubelet"))
    say(f"  {'node ' + NODE_NAME:<24} Ready (amd64, {config.NODE_IP}) "
        f"{time.monotonic() - t0:.1f}s")
    kubectl(cluster, "apply", "-f", "-", stdin=addons.coredns(imgs["coredns"].name))
    _wait("CoreDNS does not answer", addons.dns_answers, node.log("kubelet"))
    say(f"  {'coredns':<24} ready  kube-system/kube-dns {config.DNS_IP} "
        f"{time.monotonic() - t0:.1f}s")
    application.install(cluster, node_profile.overlay_image(), Layout.current().ca_dir, t0)
    say(f"  node images: {', '.join(i.name for i in imgs.values())} ({node.images})")


def node_ready(cluster: ClusterLayout, since: float | None = None) -> bool:
    """The Node's Ready condition is True (and, with since, was reported after it)."""
    ready = _node_field(cluster, '{.status.conditions[?(@.type=="Ready")].status}'
                        '/{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
    status, _, beat = ready.partition("/")
    if status != "True":
        return False
    if since is None:
        return True
    try:
        reported = dt.datetime.fromisoformat(beat.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return False
    return reported >= int(since)  # the heartbeat has whole seconds


def _drain(cluster: ClusterLayout) -> None:
    """Take every pod off the node through the API while the kubelet runs, so each sandbox's
    network and volumes are torn down by the kubelet itself; then remove the node's objects."""
    kubectl(cluster, "cordon", NODE_NAME)  # no replacement pod lands here meanwhile
    kubectl(cluster, "delete", "-f", "-", "--ignore-not-found", "--wait=false",
            stdin=addons.everything() + "---\n" + node_profile.traefik_addon())
    kubectl(cluster, "delete", "pods", "--all-namespaces",
            f"--field-selector=spec.nodeName={NODE_NAME}", "--grace-period=1", "--wait=true",
            f"--timeout={DRAIN_TIMEOUT_S}s", timeout_s=DRAIN_TIMEOUT_S + 10)
    kubectl(cluster, "delete", "node", NODE_NAME, "--ignore-not-found", "--wait=false")


@contextlib.contextmanager
def _nothing() -> Iterator[bool]:
    yield True  # the node's own holder keeps the lock until the end


def stop(cluster: ClusterLayout, api_up: bool) -> list[str]:
    """Stop the node and undo its host changes; the names of what was stopped. Raises
    LocalEnvError when something could not be undone (and says what)."""
    t0 = time.monotonic()
    node = NodeLayout.of(cluster)
    alive = running(node)
    holder = alive.get("node-lock")
    with (_nothing() if holder else lock.held_here()) as mine:
        if not mine:
            say("node: another state's node holds this machine's node lock; left alone")
            return []
        record = journal.load()
        if record is not None:
            record.tearing_down = True
            record.save()
        if api_up and "kubelet" in alive:
            try:
                _drain(cluster)
            except LocalEnvError as exc:
                say(f"  node: draining failed ({exc}); stopping it anyway")
        drained = time.monotonic()
        stopped = []
        for name in reversed(ORDER[1:]):
            if name in alive:
                procs.stop(alive[name], node.run)
                stopped.append(name)
        halted = time.monotonic()
        left = janitor.teardown(node, say)
        if holder is not None:
            procs.stop(holder, node.run)
            stopped.append("node-lock")
    left += janitor.leftovers(node)
    if left:
        raise LocalEnvError(f"the node's teardown left {len(left)} thing(s) on the host, "
                            f"first: {left[0]}")
    now = time.monotonic()
    say(f"  node stopped and host restored in {now - t0:.1f}s (pods {drained - t0:.1f}s, "
        f"processes {halted - drained:.1f}s, host {now - halted:.1f}s)")
    return stopped


def status(cluster: ClusterLayout) -> bool:
    """One line per node component and for the Node and CoreDNS; True when all are healthy."""
    node = NodeLayout.of(cluster)
    alive = running(node)
    healthy = True
    comps = components.build(node, dict(PORTS))
    for comp in comps:
        rec = alive.get(comp.name)
        ok = rec is not None and comp.health()
        healthy &= ok
        state = "healthy" if ok else ("UNHEALTHY" if rec else "stopped")
        say(f"{comp.name:<24} {str(rec.pid) if rec else '-':<8} {comp.port or '-':<6} {state}")
    api = bool(alive) and node_ready(cluster)
    dns = bool(alive) and addons.dns_answers()
    say(f"{'node ' + NODE_NAME:<24} {'-':<8} {config.KUBELET_PORT:<6} "
        f"{'Ready' if api else 'NOT READY'} ({config.NODE_IP}, amd64)")
    say(f"{'coredns (pod)':<24} {'-':<8} {53:<6} {'ready' if dns else 'NOT READY'}")
    return healthy and api and dns
