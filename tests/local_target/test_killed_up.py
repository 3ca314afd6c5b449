"""A killed `vvgate local up` (or its `vvgate local` wrapper) leaves nothing that `status` and
`down` do not know about, never a database without auth, and the next `up` works.

Each kill point is reached by watching the run/ records and what the processes answer, never
by sleeping: a held `createUser` keeps `up` in provisioning, a Traefik that never serves keeps
it short of health."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from reference.localenv import procs
from reference.localenv.components import ORDER

from .helpers import PROJECT, Cli, pid_alive, processes_using

DATABASES = ("mongo-bff", "mongo-backend")
APPS = tuple(n for n in ORDER if n not in DATABASES)

# A secantusd-py whose createUser never answers while auth is off: `up` stays in provisioning,
# with both servers serving without auth, for as long as the test wants.
HOLDING_SECANTUSD = f"""#!{sys.executable}
import sys
import threading

from secantus import commands
from secantus.cli import main

if "--auth" not in sys.argv:
    commands._HANDLERS["createUser"] = lambda *args, **kwargs: threading.Event().wait()
sys.exit(main())
"""
# A Traefik that never serves, with a child of its own: `up` never reaches health, and `down`
# must end the child with its group.
STUCK_TRAEFIK = """#!/bin/sh
sleep 3600 &
echo $! > {child}
wait
"""


def _holding_secantusd(tmp_path: Path) -> Path:
    path = tmp_path / "secantusd-py"
    path.write_text(HOLDING_SECANTUSD)
    path.chmod(0o755)
    return path


def _stuck_traefik(tmp_path: Path) -> tuple[Path, Path]:
    path, child = tmp_path / "traefik", tmp_path / "traefik-child.pid"
    path.write_text(STUCK_TRAEFIK.format(child=child))
    path.chmod(0o755)
    return path, child


def _start_up(cli: Cli, out: Path, *args: str, wrapper: bool = False,
              **env: str) -> subprocess.Popen[bytes]:
    program = ["-m", "vvgate", "local"] if wrapper else ["-m", "reference.localenv"]
    with out.open("wb") as fh:
        return subprocess.Popen([sys.executable, *program, "up", *args], cwd=PROJECT,
                                env=cli.env(**env), stdin=subprocess.DEVNULL, stdout=fh,
                                stderr=subprocess.STDOUT)


def _wait_for(what: str, ready: Callable[[], bool], up: subprocess.Popen[bytes] | None = None,
              out: Path | None = None, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if up is not None and up.poll() is not None:
            log = out.read_text(errors="replace") if out else ""
            pytest.fail(f"`up` exited ({up.returncode}) before {what}:\n{log}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout_s:.0f}s")
        time.sleep(0.05)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.wait(timeout=30)


def _records(cli: Cli) -> dict[str, dict[str, Any]]:
    out = {}
    for name in ORDER:
        with_record = cli.local / "run" / f"{name}.json"
        try:
            out[name] = json.loads(with_record.read_text())
        except (OSError, ValueError):
            continue
    return out


def _ports(cli: Cli) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in json.loads((cli.local / "ports.json").read_text()).items()}
    except (OSError, ValueError):
        return {}


def _open_databases(cli: Cli) -> list[str]:
    """The databases that list their contents to a client without credentials."""
    found = []
    for name, port in _ports(cli).items():
        if name not in DATABASES:
            continue
        client: MongoClient[dict[str, Any]] = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1000,
            connectTimeoutMS=1000)
        try:
            client.list_database_names()
            found.append(name)
        except PyMongoError:
            pass  # refused (auth on) or not there
        finally:
            client.close()
    return found


def _servers_without_auth(cli: Cli) -> list[int]:
    """Database servers of this state directory started without --auth, listening or not."""
    found = []
    for pid in processes_using(cli.local):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--storage-path" in argv and b"--auth" not in argv:
            found.append(pid)
    return found


def _assert_no_database_without_auth(cli: Cli) -> None:
    assert _servers_without_auth(cli) == []
    assert _open_databases(cli) == []


def _wait_dead(pids: Iterable[int], timeout_s: float = 30.0) -> None:
    """The grace: what dies with `up` has a moment to do so."""
    pending = list(pids)
    _wait_for(f"end of {pending}", lambda: not any(pid_alive(p) for p in pending),
              timeout_s=timeout_s)


def _assert_all_gone(cli: Cli, pids: Iterable[int]) -> None:
    """Nothing of the target runs or listens any more, whatever killed `up` left."""
    assert [p for p in pids if pid_alive(p)] == []
    assert processes_using(cli.local) == []
    assert cli.pids() == {}
    for port in _ports(cli).values():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))  # nobody listens there


def _inner_ups(cli: Cli) -> list[int]:
    """`python -m reference.localenv up` processes working on this state directory."""
    found = []
    for pid in processes_using(cli.state):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"-m\0reference.localenv\0up" in cmdline:
            found.append(pid)
    return found


def test_the_wrapper_keeps_help_and_one_line_errors(cli: Cli) -> None:
    wrapper = [sys.executable, "-m", "vvgate", "local"]
    helped = subprocess.run([*wrapper, "--help"], cwd=PROJECT, env=cli.env(),
                            capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: vvgate local")
    bad = subprocess.run([*wrapper, "up", "--fault", "nope"], cwd=PROJECT, env=cli.env(),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "unknown fault 'nope'" in bad.stderr


def test_killed_during_provisioning(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "up.out"
    up = _start_up(cli, out, VVGATE_SECANTUSD_BIN=str(_holding_secantusd(tmp_path)))
    # Both recorded as provisioning and answering without auth: `up` waits on createUser.
    _wait_for("databases serving without auth", lambda: (
        {n for n, r in _records(cli).items() if r["spec"] == procs.PROVISIONING}
        == set(DATABASES) and len(_open_databases(cli)) == 2), up, out)
    servers = [_records(cli)[n]["pid"] for n in DATABASES]
    _kill(up)
    _wait_dead(servers)
    _assert_no_database_without_auth(cli)
    left = {n: int(r["pid"]) for n, r in _records(cli).items() if pid_alive(int(r["pid"]))}
    assert set(left) == set(APPS)  # started before provisioning; they outlive `up`
    status = cli.run("status")
    assert status.returncode == 3
    for name in APPS:
        assert f"{name:<14} {left[name]:<8}" in status.stdout, status.stdout
    _assert_no_database_without_auth(cli)
    assert cli.run("down").returncode == 0
    _assert_all_gone(cli, [*left.values(), *servers])
    again = cli.up()
    assert again.stdout.count("users provisioned") == 2, again.stdout
    assert cli.run("status").returncode == 0
    _assert_no_database_without_auth(cli)


def test_killed_after_spawning_before_health(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("down").returncode == 0  # so that this `up` starts every component
    stuck, child_file = _stuck_traefik(tmp_path)
    out = tmp_path / "up.out"
    up = _start_up(cli, out, VVGATE_TRAEFIK_BIN=str(stuck))
    _wait_for("every component spawned",
              lambda: set(_records(cli)) == set(ORDER) and child_file.exists(), up, out)
    _kill(up)
    assert not (cli.local / "target.yaml").exists()  # health was never reached
    _assert_no_database_without_auth(cli)
    left = cli.pids()
    assert set(left) == set(ORDER) and all(pid_alive(p) for p in left.values())
    status = cli.run("status")
    assert status.returncode == 3
    for name in ORDER:
        assert f"{name:<14} {left[name]:<8}" in status.stdout, status.stdout
    assert cli.run("down").returncode == 0
    child = int(child_file.read_text())
    _assert_all_gone(cli, [*left.values(), child])


def test_the_next_up_stops_a_leftover_provisioning_server(cli: Cli) -> None:
    # One whose parent-death signal did not fire: a record is all that names it.
    port = _ports(cli)["mongo-bff"]
    argv = [str(Path(sys.executable).parent / "secantusd-py"), "--config",
            str(cli.local / "secantusd.toml"), "--host", "127.0.0.1",
            "--port", str(port), "--storage-path", str(cli.local / "db" / "bff")]
    rec, leftover = procs.spawn("mongo-bff", argv, {"PATH": "/usr/bin:/bin"},
                                cli.local / "logs" / "mongo-bff.log", cli.local / "db", port,
                                procs.PROVISIONING, cli.local / "run")
    try:
        _wait_for("the leftover serving without auth",
                  lambda: _open_databases(cli) == ["mongo-bff"])
        status = cli.run("status")
        assert f"{'mongo-bff':<14} {rec.pid:<8} {port:<6} PROVISIONING (auth off)" \
            in status.stdout, status.stdout
        proc = cli.up()
        assert "restarting mongo-bff (left running without auth" in proc.stdout
        assert leftover.wait(timeout=30) is not None
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()
    assert cli.run("status").returncode == 0
    _assert_no_database_without_auth(cli)


def test_killing_the_wrapper_leaves_no_up_behind(cli: Cli, tmp_path: Path) -> None:
    before = cli.pids()
    stuck, _ = _stuck_traefik(tmp_path)
    out = tmp_path / "up.out"
    # A long timeout: an `up` that went on alone would still be waiting when we look.
    wrapper = _start_up(cli, out, "--timeout", "600", wrapper=True,
                        VVGATE_TRAEFIK_BIN=str(stuck))
    _wait_for("the stuck traefik spawned",
              lambda: cli.pids().get("traefik", before["traefik"]) != before["traefik"],
              wrapper, out)
    assert _inner_ups(cli) != []  # `up` is at work, waiting for health
    _kill(wrapper)
    _wait_for("the end of every `up`", lambda: _inner_ups(cli) == [], timeout_s=30)
    _assert_no_database_without_auth(cli)
    left = cli.pids()
    assert cli.run("down").returncode == 0
    _assert_all_gone(cli, left.values())
