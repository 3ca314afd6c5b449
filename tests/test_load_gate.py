"""The load gate: caps, thresholds and baseline offline; then short Locust runs against the
local target (default run passes, slow-records fails naming records.list, an erroring target
aborts early). Each live run is a few seconds of a few users, paced under the BFF's limits.
"""

from __future__ import annotations

import html
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROJECT, VVGATE, SuiteRun
from tests.local_target.helpers import pid_alive
from vvgate.errors import ConfigError
from vvgate.identity.synthetic_users import TAG_FIELD
from vvgate.lifetime import OWNER_FILE, sweep_dead_folders
from vvgate.load import plan as load_plan
from vvgate.load.run import PRIVATE_PREFIX
from vvgate.load.stats import EndpointStats, RunStats, percentile
from vvgate.load.thresholds import evaluate, read_baseline
from vvgate.mongo.access import MongoAccess
from vvgate.targets.profile import LoadProfile, Profile, load_profile
from vvgate.targets.secret_store import SecretStore

LOAD = {
    "users": 5, "spawn_rate": 5, "duration_s": 10,
    "caps": {"max_users": 10, "max_duration_s": 30, "max_requests": 500},
    "total": {"p95_ms": 500, "p99_ms": 1000, "max_failure_ratio": 0.01},
    "endpoints": {"records.list": {"p95_ms": 400, "p99_ms": 1000, "max_failure_ratio": 0.01}},
    "baseline_tolerance": 0.25, "baseline_slack_ms": 10,
}


def _load(**overrides: Any) -> LoadProfile:
    return LoadProfile.model_validate({**LOAD, **overrides})


# ---- offline: shape, caps, thresholds, baseline --------------------------------------------


def test_over_cap_shapes_are_refused_unless_forced() -> None:
    load = _load()
    assert load_plan.shape(load).planned_requests <= load.caps.max_requests
    for users, duration, what in ((11, None, "max_users"), (None, 31, "max_duration_s"),
                                  (10, 30, "max_requests")):
        with pytest.raises(ConfigError, match=what):
            load_plan.shape(load, users, duration)
    forced = load_plan.shape(load, 10, 30, force=True)
    # forced runs stay bounded: by what their own shape can send
    assert forced.forced and forced.max_requests == forced.planned_requests > 500


def test_duration_syntax() -> None:
    assert [load_plan.parse_duration(t) for t in ("45", "45s", "2m", "1m30s")] == [45, 45, 120, 90]
    with pytest.raises(ConfigError):
        load_plan.parse_duration("soon")


def test_profile_refuses_unknown_step_names() -> None:
    with pytest.raises(ValueError, match=r"unknown load step 'records\.lst'"):
        _load(endpoints={"records.lst": LOAD["endpoints"]["records.list"]})


def _stats(records_ms: int, failures: int = 0, limited: int = 0) -> RunStats:
    def entry(name: str, ms: int, n: int = 20) -> EndpointStats:
        return EndpointStats(name, n, failures, limited, {ms: n}, 10.0)
    records, health = entry("records.list", records_ms), entry("health", 5)
    total = EndpointStats("total", 40, failures, limited, {records_ms: 20, 5: 20}, 10.0)
    return RunStats({"records.list": records, "health": health}, total, {})


def test_thresholds_name_the_endpoint_and_metric() -> None:
    verdicts = evaluate(_stats(690), _load())
    assert verdicts["health"].checks == [] and verdicts["health"].ok  # no SLO: no verdict
    failed = verdicts["records.list"].failed()
    assert [c.metric for c in failed] == ["p95_ms"]
    assert failed[0].describe() == "records.list: p95_ms 690 ms > 400 ms"


def test_an_slo_no_request_reached_is_unmeasured_not_met() -> None:
    stats = _stats(50)
    del stats.endpoints["records.list"]
    verdict = evaluate(stats, _load())["records.list"]
    # neither a pass nor a miss: the gate reports it inconclusive
    assert not verdict.ok and verdict.unmeasured and "no requests" in verdict.unmeasured
    assert evaluate(_stats(50), _load())["records.list"].unmeasured is None


def test_rate_limited_requests_are_their_own_failure() -> None:
    verdict = evaluate(_stats(50, failures=3, limited=3), _load())["records.list"]
    assert [c.metric for c in verdict.failed()] == ["rate_limited"]
    assert "429" in verdict.failed()[0].note


def test_baseline_regression_beyond_tolerance_fails(tmp_path: Path) -> None:
    gates = {"gates": [{"name": "load", "data": {"endpoints": {
        "records.list": {"p95_ms": 100.0}, "total": {"p95_ms": 100.0}}}}]}
    path = tmp_path / "gates.json"
    path.write_text(json.dumps(gates))
    baseline = read_baseline(path)
    ok = evaluate(_stats(120), _load(), baseline)["records.list"]
    assert ok.ok
    bad = evaluate(_stats(130), _load(), baseline)["records.list"].failed()
    assert [(c.metric, c.limit) for c in bad] == [("baseline_p95_ms", 125.0)]
    # a small absolute change is noise, however large the ratio
    slack = _load(baseline_slack_ms=50)
    assert evaluate(_stats(140), slack, baseline)["records.list"].ok
    path.write_text(json.dumps({"gates": [{"name": "load", "data": None}]}))
    with pytest.raises(ConfigError, match="no load figures"):
        read_baseline(path)


def test_percentile_matches_locust() -> None:
    histogram = {10: 90, 100: 9, 1000: 1}
    # as Locust computes it: the slowest 1 % of 100 requests is the one at 1000 ms
    assert [percentile(histogram, 100, q) for q in (0.5, 0.95, 0.99)] == [10, 100, 1000]


# ---- live: the local target --------------------------------------------------------------


class Target:
    def __init__(self, state: Path, reports: Path) -> None:
        self.state = state
        self.reports = reports
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("VVGATE_")},
                    "VVGATE_STATE_DIR": str(state)}

    def vvgate(self, *args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*VVGATE, *args], env={**self.env, **(env or {})}, cwd=PROJECT,
                              capture_output=True, text=True, timeout=240)

    def local(self, *args: str) -> None:
        proc = self.vvgate("local", *args)
        assert proc.returncode == 0, f"vvgate local {' '.join(args)}: {proc.stderr.strip()}"

    def load(self, *args: str, target: str = "local") -> SuiteRun:
        proc = self.vvgate("load", "--target", target, "--report-dir", str(self.reports), *args)
        return SuiteRun(proc.returncode, proc.stdout, proc.stderr, self.reports)

    def load_with_fault(self, fault: str) -> SuiteRun:
        """One load run with `fault` on; the target is back to no fault afterwards."""
        self.local("up", "--fault", fault)
        try:
            return self.load()
        finally:
            self.local("up")

    @property
    def profile_path(self) -> Path:
        return self.state / "local" / "target.yaml"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    local = Target(tmp_path_factory.mktemp("state"), tmp_path_factory.mktemp("reports"))
    local.local("up")
    try:
        yield local
    finally:
        local.local("down", "--purge")


def test_default_local_run_passes_with_its_evidence(target: Target) -> None:
    run = target.load()
    assert run.code == 0, run.output[-2000:]
    gate = run.gate("load")
    assert gate["verdict"] == "pass"
    data = gate["data"]
    assert {"health", "records.list", "record.read", "spa", "total"} <= set(data["endpoints"])
    assert data["endpoints"]["records.list"]["verdict"] == "pass"
    assert not data["aborted"] and data["endpoints"]["total"]["rate_limited"] == 0
    # pytest-html keeps each result as escaped JSON inside the page
    report = html.unescape((run.run_dir / "report.html").read_text()).replace('\\"', '"')
    assert "data:image/png;base64,iVBOR" in report and 'id="load-table"' in report
    assert 'href="load/locust.html"' in report and (run.run_dir / "load/locust.html").is_file()
    secrets = dict(line.split("=", 1) for line in
                   (target.state / "local/secrets.env").read_text().splitlines() if "=" in line)
    # the run's synthetic users, their tenants, records and sessions are gone
    profile = load_profile(str(target.profile_path))
    mongo = MongoAccess(profile, SecretStore(profile))
    try:
        assert mongo.registry.users.count_documents({TAG_FIELD: {"$exists": True}}) == 0
        assert mongo.sessions.count_documents({TAG_FIELD: {"$exists": True}}) == 0
    finally:
        mongo.close()
    for path in run.run_dir.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json", ".log", ".xml"}:
            text = path.read_text(errors="replace")
            assert "vinylvault.sid=s%3A" not in text, f"a session cookie leaked into {path}"
            assert secrets["SESSION_SECRET"] not in text, f"SESSION_SECRET leaked into {path}"


def test_over_cap_run_is_refused_with_exit_2(target: Target) -> None:
    run = target.load("--users", "11")
    assert run.code == 2 and run.stderr.count("\n") == 1, run.output
    assert "caps.max_users 10" in run.stderr and "--force" in run.stderr
    # the same refusal through plain pytest, as CI's `vvgate run` would hit it
    proc = subprocess.run(
        [*VVGATE, "run", "--target", "local", "--report-dir", str(target.reports),
         str(PROJECT / "suites/staging/test_load.py")],
        env={**target.env, "VVGATE_LOAD_DURATION": "31"}, cwd=PROJECT,
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr
    assert "caps.max_duration_s 30" in proc.stdout + proc.stderr


class _Failing(BaseHTTPRequestHandler):
    """A target whose every endpoint errors."""

    def _fail(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _fail

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def erroring_profile(target: Target, tmp_path: Path) -> Iterator[Path]:
    """The local target's profile, pointed at a TLS server (same certificate) that answers 503."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca = target.state / "local" / "ca"
    context.load_cert_chain(ca / "host.pem", ca / "host.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    data = yaml.safe_load(target.profile_path.read_text())
    data.update(name="erroring", address_override=f"127.0.0.1:{server.server_address[1]}")
    path = tmp_path / "erroring.yaml"
    path.write_text(yaml.safe_dump(data))
    Profile.model_validate(data)
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


def test_early_abort_on_an_erroring_target(target: Target, erroring_profile: Path) -> None:
    run = target.load("--duration", "25", target=str(erroring_profile))
    assert run.code == 1, run.output[-2000:]
    data = run.gate("load")["data"]
    assert data["aborted"], data["stop_reason"]
    assert data["duration_s"] < 12, f"abort took {data['duration_s']} s of 25"
    failures = {f["test"].split("::")[-1]: f["message"] for f in run.gate("load")["failures"]}
    message = failures["test_load_run_completed_without_abort"]
    assert "stopped early" in message and "failure ratio" in message


def test_slow_records_fails_the_gate_naming_the_endpoint(target: Target) -> None:
    run = target.load_with_fault("slow-records")
    assert run.code == 1, run.output[-2000:]
    gate = run.gate("load")
    failed = {f["test"].split("::")[-1]: f["message"] for f in gate["failures"]}
    assert "test_endpoint_meets_its_slo[records.list]" in failed, failed
    assert "records.list: p95_ms" in str(failed), failed
    assert gate["data"]["endpoints"]["records.list"]["verdict"] == "fail"
    assert gate["data"]["endpoints"]["health"]["verdict"] == "pass"


def test_an_untrusted_certificate_leaves_the_load_gate_pinned_and_passing(target: Target) -> None:
    # The tls gate owns the certificate; Locust talks to the leaf the tls scan recorded.
    run = target.load_with_fault("untrusted-cert")
    assert run.code == 0, run.output[-2000:]
    trust = run.gates()["run"]["https_trust"]
    assert trust["mode"] == "pinned" and "self-signed certificate" in trust["reason"], trust
    endpoints = run.gate("load")["data"]["endpoints"]
    assert endpoints["total"]["failures"] == 0 and endpoints["records.list"]["requests"] > 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _wait_for(what: str, found: Callable[[], Any], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout_s} s")


def test_a_killed_load_run_leaves_no_locust_no_plan_and_no_latest(target: Target,
                                                                  tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = subprocess.Popen([*VVGATE, "load", "--target", "local", "--report-dir", str(reports),
                            "--duration", "25"], env=target.env, cwd=PROJECT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        locust = _wait_for("Locust child", lambda: _children(run.pid))[0]
        folder = _wait_for("private plan folder", lambda: [
            p for p in Path(tempfile.gettempdir()).glob(f"{PRIVATE_PREFIX}*")
            if (p / OWNER_FILE).is_file() and (p / OWNER_FILE).read_text() == str(run.pid)])[0]
        # Locust deletes the plan (it holds live cookies) once it has read it.
        _wait_for("plan deleted by Locust", lambda: not (folder / "plan.json").exists())
    finally:
        run.kill()
        run.wait()
    _wait_for("Locust's end after its parent's", lambda: not pid_alive(locust), timeout_s=15)
    # The next load run removes the dead run's folder before making its own.
    sweep_dead_folders(PRIVATE_PREFIX)
    assert not folder.exists()
    # `latest` moves only when a run has its verdict: never to the killed run's folder.
    assert not (reports / "latest").exists()
