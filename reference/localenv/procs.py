"""Start and stop component processes, tracked by PID files, never by process name."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """What `up` remembers about a running component (run/<name>.json)."""

    name: str
    pid: int
    starttime: int  # /proc/<pid>/stat field 22: tells a reused PID from ours
    port: int
    spec: str
    log: str


def _proc_starttime(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces or parentheses; fields follow the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
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
    record_path(run_dir, rec.name).write_text(json.dumps(asdict(rec)))


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path,
          port: int, spec: str, run_dir: Path) -> tuple[Record, subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"=== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} start {name}\n"
                  .encode())
        out.flush()
        # A new session makes the component its own process group, so stop() reaches children.
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    starttime = None
    for _ in range(50):
        starttime = _proc_starttime(proc.pid)
        if starttime is not None or proc.poll() is not None:
            break
        time.sleep(0.01)
    rec = Record(name, proc.pid, starttime or -1, port, spec, str(log))
    save(run_dir, rec)
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
    record_path(run_dir, rec.name).unlink(missing_ok=True)


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
