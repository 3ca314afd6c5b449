"""Start and stop component processes, tracked by PID files, never by process name."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

# The spec of a database started without auth to create its users: a record that says so lets
# `status` show it and makes the next `up` (whose spec differs) or `down` stop it.
PROVISIONING = "provisioning"

# The child waits on its stdin for a line from `up` before it runs the program: by then its
# record is on disk, so nothing of the target ever runs unrecorded. End of file (the parent
# died before writing the record) makes it exit instead. `exec` keeps the PID and start time.
_GATE = 'read -r go && exec "$@" </dev/null'
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Record:
    """What `up` remembers about a running component (run/<name>.json)."""

    name: str
    pid: int
    starttime: int  # /proc/<pid>/stat field 22: tells a reused PID from ours
    port: int
    spec: str
    log: str


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces or parentheses; fields follow the last ')'.
    return stat.rsplit(")", 1)[1].split()


def _proc_starttime(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return None
    return int(fields[19])


def alive(rec: Record) -> bool:
    return _proc_starttime(rec.pid) == rec.starttime


def record_path(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.json"


def load(run_dir: Path, name: str) -> Record | None:
    try:
        return Record(**json.loads(record_path(run_dir, name).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save(run_dir: Path, rec: Record) -> None:
    # Written whole then renamed: a reader never sees half a record, even if `up` dies here.
    tmp = run_dir / f".{rec.name}.tmp"
    tmp.write_text(json.dumps(asdict(rec)))
    tmp.replace(record_path(run_dir, rec.name))


def _check_executable(argv0: str, env: dict[str, str]) -> None:
    """The OSError Popen would raise for the program: the gate shell would only exit 127."""
    if shutil.which(argv0, path=env.get("PATH", os.defpath)) is not None:
        return
    code = errno.EACCES if "/" in argv0 and Path(argv0).is_file() else errno.ENOENT
    raise OSError(code, os.strerror(code), argv0)


def _die_with_parent() -> Callable[[], None]:
    """preexec_fn: SIGKILL the child when the thread that forks it ends (with `up` itself when
    that is the main thread), and at once if the parent is already gone."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    parent = os.getpid()

    def arm() -> None:
        armed = prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0) == 0
        if not armed or os.getppid() != parent:
            os._exit(1)
    return arm


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path,
          port: int, spec: str, run_dir: Path, die_with_parent: bool = False,
          ) -> tuple[Record, subprocess.Popen[bytes]]:
    """Start a component recorded before it runs. `die_with_parent` is for what must never
    outlive the calling thread (a database without auth); components outlive `up`."""
    _check_executable(argv[0], env)
    log.parent.mkdir(parents=True, exist_ok=True)
    gate_r, gate_w = os.pipe()
    try:
        with log.open("ab") as out:
            out.write(f"=== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} start {name}\n"
                      .encode())
            out.flush()
            # A new session makes the component its own process group, so stop() reaches
            # children.
            proc = subprocess.Popen(
                ["/bin/sh", "-c", _GATE, name, *argv], env=env, cwd=cwd, stdin=gate_r,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent() if die_with_parent else None)
        os.close(gate_r)
        gate_r = -1
        rec = Record(name, proc.pid, _proc_starttime(proc.pid) or -1, port, spec, str(log))
        save(run_dir, rec)
        with contextlib.suppress(BrokenPipeError):
            os.write(gate_w, b"go\n")
    finally:
        for fd in (gate_r, gate_w):
            if fd >= 0:
                os.close(fd)
    return rec, proc


def stop(rec: Record, run_dir: Path, grace_s: float = 15.0) -> None:
    """SIGTERM the component's process group, SIGKILL after the grace period."""
    if alive(rec):
        _signal_group(rec.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while alive(rec) and time.monotonic() < deadline:
            _reap(rec.pid)
            time.sleep(0.05)
        if alive(rec):
            _signal_group(rec.pid, signal.SIGKILL)
            while alive(rec):
                _reap(rec.pid)
                time.sleep(0.05)
    _reap(rec.pid)
    _kill_stragglers(rec)
    record_path(run_dir, rec.name).unlink(missing_ok=True)


def _group_members(rec: Record) -> list[int]:
    """Processes left in the component's group after its leader ended (the group is named by
    the leader's PID; one started before the leader is not ours)."""
    members = []
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields and fields[0] != "Z" and int(fields[2]) == rec.pid \
                and int(fields[19]) >= rec.starttime:
            members.append(int(entry.name))
    return members


def _kill_stragglers(rec: Record) -> None:
    # A process that took the leader's PID since is not ours, and neither is its group.
    if rec.starttime < 0 or _proc_starttime(rec.pid) is not None:
        return
    deadline = time.monotonic() + 15.0
    while _group_members(rec) and time.monotonic() < deadline:
        _signal_group(rec.pid, signal.SIGKILL)
        time.sleep(0.05)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
