"""up / status / down / logs / faults of `python -m reference.localenv` (`vvgate local`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import time
from pathlib import Path

import yaml

from reference.faults import FAULTS
from reference.localenv.components import ORDER

from .helpers import Cli, listening_addresses, pid_alive, processes_using


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _assert_nothing_running(cli: Cli, pids: dict[str, int]) -> None:
    assert all(not pid_alive(pid) for pid in pids.values()), pids
    assert processes_using(cli.local) == []
    assert cli.pids() == {}
    assert not (cli.local / "target.yaml").exists()


def test_faults_are_listed_and_an_unknown_one_is_refused(cli: Cli) -> None:
    listing = cli.run("faults")
    assert listing.returncode == 0
    for fault in FAULTS.values():
        assert f"{fault.name}" in listing.stdout and fault.gate in listing.stdout
    bad = cli.run("up", "--fault", "no-hsts,nope")
    assert bad.returncode == 2
    assert "unknown fault 'nope'" in _one_line_error(bad.stderr)
    assert processes_using(cli.local) == []


def test_up_status_profile_and_secrets(cli: Cli) -> None:
    t0 = time.monotonic()
    proc = cli.up()
    print(f"cold up: {time.monotonic() - t0:.1f}s")
    for name in ORDER:
        assert f"{name}" in proc.stdout
    assert proc.stdout.count(" ready ") == len(ORDER)
    profile = cli.profile()  # validates against the suite's own model
    assert profile.name == "local" and profile.kind.value == "local"
    assert profile.base_url == "https://vinylvault.local.test"
    assert profile.address_override is not None
    assert profile.address_override.startswith("127.0.0.1:")
    assert profile.ca_bundle is not None and profile.ca_bundle.is_file()
    assert profile.allow_destructive
    secrets_file = cli.local / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    status = cli.run("status")
    assert status.returncode == 0
    assert status.stdout.count("healthy") == len(ORDER), status.stdout
    assert "faults: none" in status.stdout
    # Secrets never reach output or logs.
    secret_values = [v for v in cli.secrets().values() if len(v) >= 16]
    assert len(secret_values) >= 7
    logs = "".join(p.read_text(errors="replace") for p in (cli.local / "logs").glob("*.log"))
    for value in secret_values:
        assert value not in proc.stdout + proc.stderr + status.stdout + logs
    # Everything listens on loopback only.
    addresses = listening_addresses(list(cli.pids().values()))
    assert addresses, "no listening sockets found"
    assert all(a.startswith("127.0.0.1:") for a in addresses), addresses


def test_up_is_idempotent(cli: Cli) -> None:
    before = cli.pids()
    t0 = time.monotonic()
    proc = cli.up()
    print(f"warm up (running): {time.monotonic() - t0:.1f}s")
    assert proc.stdout.count("already running") == len(ORDER)
    assert cli.pids() == before


def test_a_fault_restarts_only_what_it_changes(cli: Cli) -> None:
    before = cli.pids()
    cli.up("--fault", "powered-by")
    during = cli.pids()
    assert during["bff"] != before["bff"]
    assert {k: v for k, v in during.items() if k != "bff"} == \
        {k: v for k, v in before.items() if k != "bff"}
    assert json.loads((cli.local / "faults.json").read_text()) == {"faults": ["powered-by"],
                                                                   "dialects": []}
    assert "faults: powered-by" in cli.run("status").stdout
    cli.up()
    assert json.loads((cli.local / "faults.json").read_text()) == {"faults": [], "dialects": []}
    assert cli.pids()["bff"] != during["bff"]


def test_a_dialect_restarts_its_components_and_writes_the_schema_it_serves(cli: Cli) -> None:
    before = cli.pids()
    cli.up("--dialect", "health-details")
    during = cli.pids()
    assert during["bff"] != before["bff"] and during["backend"] == before["backend"]
    assert json.loads((cli.local / "faults.json").read_text())["dialects"] == ["health-details"]
    assert "dialects: health-details" in cli.run("status").stdout
    cli.up("--dialect", "errors-as-strings")
    profile = yaml.safe_load((cli.local / "target.yaml").read_text())
    served = Path(profile["graphql"]["schema"][0]).read_text()
    assert "errors: [String!]!" in served and "errors: [UserError!]!" not in served
    cli.up()
    assert "errors: [UserError!]!" in Path(profile["graphql"]["schema"][0]).read_text()
    listed = cli.run("dialects")
    assert listed.returncode == 0 and "union-results" in listed.stdout
    wrong = cli.run("up", "--dialect", "no-such-dialect")
    assert wrong.returncode == 2
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown dialect 'no-such-dialect'" in lines[0], lines


def test_a_taken_port_is_refused_and_changes_nothing(cli: Cli) -> None:
    before = cli.pids()
    outputs = ("target.yaml", "faults.json", "ports.json", "schema.graphql")
    files = {name: (cli.local / name).read_bytes() for name in outputs}
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = cli.run("up", "--https-port", str(port))
    assert proc.returncode == 2
    line = _one_line_error(proc.stderr)
    assert f"port {port}" in line and "already in use" in line and "traefik" in line
    assert proc.stdout == ""  # nothing stopped or restarted, so nothing to say
    assert cli.pids() == before and all(pid_alive(pid) for pid in before.values())
    assert {name: (cli.local / name).read_bytes() for name in outputs} == files
    assert cli.run("status").returncode == 0


def test_a_broken_component_names_itself_and_stops_only_what_it_started(
        cli: Cli, tmp_path: Path) -> None:
    before = cli.pids()
    broken = tmp_path / "traefik"
    broken.write_text("#!/bin/sh\necho 'traefik: cannot load configuration' >&2\nexit 3\n")
    broken.chmod(0o755)
    proc = cli.run("up", VVGATE_TRAEFIK_BIN=str(broken))
    assert proc.returncode == 2
    line = _one_line_error(proc.stderr)
    log = cli.local / "logs" / "traefik.log"
    assert line.startswith("vvgate local: traefik: exited during start (exit 3)")
    assert str(log) in line
    assert "cannot load configuration" in log.read_text()
    # Only Traefik's configuration changed: the rest keeps running, and `up` says so.
    assert "restarting traefik (configuration changed)" in proc.stdout
    others = {k: v for k, v in before.items() if k != "traefik"}
    assert cli.pids() == others and all(pid_alive(pid) for pid in others.values())
    assert f"still running: {', '.join(n for n in ORDER if n in others)}" in proc.stdout, \
        proc.stdout
    assert not (cli.local / "target.yaml").exists()  # the target is not whole
    assert cli.run("down").returncode == 0
    _assert_nothing_running(cli, before)
    ports = json.loads((cli.local / "ports.json").read_text())
    for port in ports.values():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))  # free again


def test_warm_up_from_stopped_state(cli: Cli) -> None:
    t0 = time.monotonic()
    proc = cli.up()
    print(f"warm up (stopped, state kept): {time.monotonic() - t0:.1f}s")
    assert "users provisioned" not in proc.stdout  # databases and users survived
    assert cli.run("status").returncode == 0


def test_up_restarts_only_a_crashed_component(cli: Cli) -> None:
    before = cli.pids()
    os.kill(before["frontend"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_alive(before["frontend"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "frontend       -" in cli.run("status").stdout
    proc = cli.up()
    assert proc.stdout.count("already running") == len(ORDER) - 1
    after = cli.pids()
    assert after["frontend"] != before["frontend"]
    assert {k: v for k, v in after.items() if k != "frontend"} == \
        {k: v for k, v in before.items() if k != "frontend"}


def test_lost_secrets_are_regenerated_and_users_reprovisioned(cli: Cli) -> None:
    old = cli.secrets()
    (cli.local / "secrets.env").unlink()
    proc = cli.up()
    assert proc.stdout.count("users provisioned") == 2
    new = cli.secrets()
    assert new["SESSION_SECRET"] != old["SESSION_SECRET"]
    assert stat.S_IMODE((cli.local / "secrets.env").stat().st_mode) == 0o600
    assert cli.run("status").returncode == 0


def test_logs(cli: Cli) -> None:
    one = cli.run("logs", "bff")
    assert one.returncode == 0 and "bff.log" in one.stdout
    every = cli.run("logs", "-n", "5")
    assert all(f"{name}.log" in every.stdout for name in ORDER)
    bad = cli.run("logs", "nope")
    assert bad.returncode == 2 and "unknown component 'nope'" in _one_line_error(bad.stderr)


def test_down_keeps_data_and_purge_removes_it(cli: Cli) -> None:
    before = cli.pids()
    proc = cli.run("down")
    assert proc.returncode == 0 and "stopped:" in proc.stdout
    _assert_nothing_running(cli, before)
    assert (cli.local / "db" / "backend").is_dir() and (cli.local / "secrets.env").is_file()
    status = cli.run("status")
    assert status.returncode == 3 and status.stdout.count("stopped") == len(ORDER)
    assert cli.run("down").returncode == 0
    purge = cli.run("down", "--purge")
    assert purge.returncode == 0 and not cli.local.exists()
