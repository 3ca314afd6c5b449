"""up, down and status of the local control plane, tracked by PID files, never by name."""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from pathlib import Path

from reference.localcluster import components, kubeconfig, nodes, pki, starter
from reference.localcluster.components import ORDER, PORT_KEYS, Component
from reference.localcluster.kubectl import kubectl
from reference.localcluster.layout import ClusterLayout, pins
from reference.localcluster.node import lifecycle as node_lifecycle
from reference.localenv import procs
from reference.localenv.state import LocalEnvError, say

NODES_READY_TIMEOUT_S = 60.0
# Component identities, each with a client certificate and a kubeconfig; the last three are
# the real node's (--node), written always so the files never depend on the mode.
IDENTITIES = ("admin", "controller-manager", "scheduler", "kwok", "provisioner", "kubelet",
              "kube-proxy", "kube-router")


@contextlib.contextmanager
def _locked(layout: ClusterLayout) -> Iterator[None]:
    layout.root.mkdir(parents=True, exist_ok=True)
    with (layout.root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LocalEnvError(f"another local cluster command is running on {layout.root}"
                                ) from None
        yield


def running(layout: ClusterLayout) -> dict[str, procs.Record]:
    return starter.running(layout, ORDER)


def _ports(layout: ClusterLayout) -> dict[str, int]:
    """Remembered ports while the cluster runs (its kubeconfig names one); fresh ones otherwise."""
    return starter.remembered_ports(layout.ports, PORT_KEYS, bool(running(layout)))


def _start(layout: ClusterLayout, comp: Component, timeout_s: float, t0: float) -> None:
    starter.start(layout, comp, ORDER, timeout_s, t0)


def _wait_nodes(layout: ClusterLayout, t0: float) -> None:
    deadline = time.monotonic() + NODES_READY_TIMEOUT_S
    query = ('{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}'
             '{"\\n"}{end}')
    while True:
        out = kubectl(layout, "get", "nodes", "-o", f"jsonpath={query}")
        # The kwok nodes only: a real node (--node) comes later and counts on its own.
        ready = [ln for ln in out.splitlines()
                 if ln.endswith("=True") and ln.split("=", 1)[0] in nodes.NODE_NAMES]
        if len(ready) == len(nodes.NODE_NAMES):
            say(f"  {'nodes':<24} {len(ready)} Ready (kwok, arm64) {time.monotonic() - t0:.1f}s")
            return
        if time.monotonic() > deadline:
            raise LocalEnvError(f"kwok: {len(ready)} of {len(nodes.NODE_NAMES)} nodes Ready "
                                f"after {NODES_READY_TIMEOUT_S:.0f}s; see {layout.log('kwok')}")
        time.sleep(0.5)


def up(mongo_ports: dict[str, int], timeout_s: float = 60.0, node: bool = False) -> Path:
    """Start (or reconcile) every component, the real node too when asked for (and stop one
    that runs when not); on any failure stop all of them and raise."""
    missing = components.missing_binaries()
    if missing:
        raise LocalEnvError(f"{missing[0].name} not built ({missing[0]}); "
                            "run scripts/bootstrap-cluster")
    layout = ClusterLayout.current()
    t0 = time.monotonic()
    with _locked(layout):
        layout.ensure()
        try:
            pki.ensure(layout.pki)
            port_map = _ports(layout)
            if node:
                # Before the API server listens beyond loopback: the lock, the janitor and
                # the guard on who may reach it.
                node_ports = node_lifecycle.prepare(layout, port_map["apiserver"])
            elif node_lifecycle.present(layout):
                node_lifecycle.stop(layout, "kube-apiserver" in running(layout))
            server = f"https://127.0.0.1:{port_map['apiserver']}"
            kubeconfig.write(layout.kubeconfig, server, layout.pki, "admin")
            for identity in IDENTITIES[1:]:
                kubeconfig.write(layout.component_kubeconfig(identity), server, layout.pki,
                                 identity)
            (layout.root / "kwok.yaml").write_text(nodes.kwok_config(mongo_ports))
            say(f"local cluster: Kubernetes {pins()['kubernetes']}, state {layout.root}")
            comps = {c.name: c for c in components.build(layout, port_map, node)}
            for name in ORDER[:2]:
                _start(layout, comps[name], timeout_s, t0)
            kubectl(layout, "apply", "--server-side", "--field-manager=vvgate-local-cluster",
                    "-f", "-", stdin=nodes.nodes_yaml(pins()["kubernetes"], node))
            for name in ORDER[2:]:
                _start(layout, comps[name], timeout_s, t0)
            _wait_nodes(layout, t0)
            if node:
                node_lifecycle.start(layout, node_ports, timeout_s, t0)
        except BaseException:
            try:
                _stop_everything(layout)
            except LocalEnvError as exc:
                say(f"  while stopping after the failure: {exc}")  # the failure comes first
            raise
    say(f"kubeconfig: {layout.kubeconfig}")
    say(f"cluster up in {time.monotonic() - t0:.1f}s")
    return layout.kubeconfig


def _stop_everything(layout: ClusterLayout) -> list[str]:
    """The node first, while the API server can still take its pods off it; the control plane
    stops even when the node's teardown leaves something (which it then raises)."""
    stopped = []
    try:
        if node_lifecycle.present(layout):
            stopped += node_lifecycle.stop(layout, "kube-apiserver" in running(layout))
    finally:
        stopped += _stop_all(layout)
    return stopped


def _stop_all(layout: ClusterLayout) -> list[str]:
    alive = running(layout)
    stopped = []
    for name in reversed(ORDER):
        if name in alive:
            procs.stop(alive[name], layout.run)
            stopped.append(name)
    (layout.run / "provisioner.ready").unlink(missing_ok=True)
    return stopped


def down() -> list[str]:
    layout = ClusterLayout.current()
    if not layout.run.exists() and not node_lifecycle.present(layout):
        return []
    with _locked(layout):
        return _stop_everything(layout)


def status() -> bool:
    """Print one line per component (the real node's too); True when all run and are healthy."""
    layout = ClusterLayout.current()
    alive = running(layout) if layout.run.exists() else {}
    ok = False
    if not alive:
        say("cluster: stopped")
    else:
        try:
            port_map = {k: int(v) for k, v in json.loads(layout.ports.read_text()).items()}
        except (OSError, ValueError):
            port_map = {}
        comps = components.build(layout, port_map) if set(PORT_KEYS) <= port_map.keys() else []
        healthy = 0
        for comp in comps:
            rec = alive.get(comp.name)
            healthy_now = rec is not None and comp.health()
            healthy += healthy_now
            pid = str(rec.pid) if rec else "-"
            state = "healthy" if healthy_now else ("UNHEALTHY" if rec else "stopped")
            say(f"{comp.name:<24} {pid:<8} {comp.port or '-':<6} {state}")
        say(f"kubeconfig: {layout.kubeconfig}")
        ok = healthy == len(ORDER)
    if node_lifecycle.present(layout):
        ok = node_lifecycle.status(layout) and ok
    return ok
