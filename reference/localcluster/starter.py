"""Start one recorded component and wait for its health; list the live ones; keep ports.

Shared by the control plane (lifecycle.py) and the real node (node/lifecycle.py): both keep
their records in a run folder and their logs beside it, and never find a process by name.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Protocol

from reference.localcluster.components import Component
from reference.localenv import ports, procs
from reference.localenv.state import LocalEnvError, say


class Place(Protocol):
    """Where a group of components keeps its records, logs and working folder."""

    @property
    def root(self) -> Path: ...

    @property
    def run(self) -> Path: ...

    def log(self, name: str) -> Path: ...


def running(place: Place, names: tuple[str, ...]) -> dict[str, procs.Record]:
    """The live components among names; a dead one's record is dropped."""
    out: dict[str, procs.Record] = {}
    for name in names:
        rec = procs.load(place.run, name)
        if rec is not None and procs.alive(rec):
            out[name] = rec
        elif rec is not None:
            procs.record_path(place.run, name).unlink(missing_ok=True)
    return out


def remembered_ports(path: Path, keys: tuple[str, ...], keep_all: bool) -> dict[str, int]:
    """Ports remembered in path when still usable (keep_all: their owners run), fresh ones
    otherwise; written back."""
    try:
        saved = {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        saved = {}
    port_map: dict[str, int] = {}
    for key in keys:
        keep = saved.get(key)
        if keep and (keep_all or ports.is_free(keep)):
            port_map[key] = keep
        else:
            port_map[key] = ports.free_port([*port_map.values(), *saved.values()])
    path.write_text(json.dumps(port_map, indent=1))
    return port_map


def start(place: Place, comp: Component, names: tuple[str, ...], timeout_s: float,
          t0: float) -> procs.Record:
    """Start comp unless it runs with the same spec (a changed one is restarted); wait until
    healthy. Raises LocalEnvError naming the log when it exits or stays unhealthy."""
    current = running(place, names).get(comp.name)
    if current is not None and current.spec == comp.spec:
        say(f"  {comp.name:<24} already running  pid {current.pid}")
        return current
    if current is not None:
        procs.stop(current, place.run)
    log = place.log(comp.name)
    try:
        rec, proc = procs.spawn(comp.name, comp.argv, comp.env, log, place.root, comp.port,
                                comp.spec, place.run)
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
    return rec
