"""status, logs, faults and dialects: read-only views of the local target."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from reference import dialects, faults
from reference.localcluster import components as cluster_components
from reference.localcluster.layout import ClusterLayout
from reference.localcluster.node import components as node_components
from reference.localcluster.node.config import NodeLayout
from reference.localenv import components, procs, state
from reference.localenv.components import PORT_KEYS
from reference.localenv.paths import Layout


def status() -> int:
    layout = Layout.current()
    running = state.running(layout) if layout.root.exists() else {}
    health = _health_checks(layout) if running else {}
    state.say(f"{'component':<14} {'pid':<8} {'port':<6} health")
    healthy = 0
    for name in components.ORDER:
        rec = running.get(name)
        if rec is None:
            state.say(f"{name:<14} {'-':<8} {'-':<6} stopped")
            continue
        if rec.spec == procs.PROVISIONING:
            # Auth is off while its users are created: never "healthy", whatever ping says.
            state.say(f"{name:<14} {rec.pid:<8} {rec.port:<6} PROVISIONING (auth off)")
            continue
        ok = health.get(name, lambda: False)()
        healthy += ok
        state.say(f"{name:<14} {rec.pid:<8} {rec.port:<6} {'healthy' if ok else 'UNHEALTHY'}")
    if running:
        state.say(f"faults: {', '.join(state.active_faults(layout)) or 'none'}")
        state.say(f"dialects: {', '.join(state.active_dialects(layout)) or 'none'}")
        state.say(f"profile: {layout.profile if layout.profile.exists() else '(not written)'}")
    # 0 only when the whole target is up and healthy, so scripts can ask "is it usable?".
    return 0 if healthy == len(components.ORDER) else 3


def _health_checks(layout: Layout) -> dict[str, Callable[[], bool]]:
    port_map = state.load_ports(layout)
    if set(PORT_KEYS) - port_map.keys():
        return {}
    # Rebuilding the specs rewrites nothing that matters: the same inputs give the same files.
    comps = components.build(layout, port_map, tuple(state.active_faults(layout)),
                             tuple(state.active_dialects(layout)))
    return {c.name: c.health for c in comps}


def _log_paths(layout: Layout) -> dict[str, Path]:
    """Every component's log: the target's, then the local cluster's and its real node's."""
    cluster = ClusterLayout(layout.root / "cluster")
    node = NodeLayout.of(cluster)
    paths = {name: layout.log(name) for name in components.ORDER}
    paths |= {name: cluster.log(name) for name in cluster_components.ORDER}
    paths |= {name: node.log(name) for name in (*node_components.ORDER, "mount-shim")}
    return paths


def logs(component: str | None, lines: int) -> int:
    layout = Layout.current()
    known = _log_paths(layout)
    names = [component] if component else list(components.ORDER)
    if component and component not in known:
        raise state.LocalEnvError(f"unknown component {component!r}; known: "
                            f"{', '.join(known)}")
    for name in names:
        path = known[name]
        if not path.exists():
            if component:
                raise state.LocalEnvError(f"{name}: no log yet ({path})")
            continue
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        sys.stdout.write(f"==> {path} <==\n" + "\n".join(tail) + "\n")
    return 0


def list_dialects() -> int:
    state.say(f"{'dialect':<32} varies")
    for d in dialects.DIALECTS.values():
        state.say(f"{d.name:<32} {d.varies}")
    return 0


def list_faults() -> int:
    state.say(f"{'fault':<20} {'gate':<9} breaks")
    for f in faults.FAULTS.values():
        state.say(f"{f.name:<20} {f.gate:<9} {f.breaks}")
    return 0
