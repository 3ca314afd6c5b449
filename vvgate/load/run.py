"""Runs the Locust journeys (load/locustfile.py) as a subprocess and reads back its results.

Locust never runs in this process: importing it monkey-patches everything with gevent. The
child gets the run's plan, including the synthetic users' forged cookies, through a 0600 file
in a private folder named by an environment variable, never on its command line. The child
deletes the file once read, the folder goes when the run ends, and a killed run's folder goes
at the next load run (vvgate/lifetime.py). Its console output is redacted before anyone sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vvgate.access.target_schema import NO_SCHEMA, TargetSchema
from vvgate.errors import ConfigError
from vvgate.identity.synthetic_users import SyntheticWorld
from vvgate.lifetime import dies_with_parent, private_folder
from vvgate.load.operations import journey_operations
from vvgate.load.plan import RunShape
from vvgate.load.stats import RunStats, read
from vvgate.load.steps import TOTAL
from vvgate.paths import PROJECT_ROOT
from vvgate.report.redaction import redact
from vvgate.targets.profile import Profile

LOCUSTFILE = PROJECT_ROOT / "load" / "locustfile.py"
PLAN_ENV = "VVGATE_LOAD_PLAN"
# A handful of identities is enough to spread the signed-in users over several tenants.
MAX_IDENTITIES = 3
# Per endpoint, so one early failure among a few requests does not abort a healthy run.
ABORT_MIN_REQUESTS = 10
STOP_TIMEOUT_S = 5
STARTUP_GRACE_S = 60
PRIVATE_PREFIX = "vvgate-load-"


class LoadRunError(RuntimeError):
    """Locust did not produce results (crashed, hung or could not start)."""


@dataclass
class LoadRun:
    shape: RunShape
    stats: RunStats
    out_dir: Path
    exit_code: int
    log: str

    @property
    def html(self) -> Path:
        return self.out_dir / "locust.html"

    @property
    def stop_reason(self) -> str | None:
        reason = self.stats.extras.get("stop_reason")
        return str(reason) if reason else None

    @property
    def aborted(self) -> bool:
        return bool(self.stats.extras.get("aborted"))


def locust_binary() -> Path:
    binary = Path(sys.executable).with_name("locust")
    if not binary.is_file():
        raise ConfigError(f"Locust is not installed ({binary} missing); install the 'load' "
                          "extra: pip install -e '.[load]'")
    return binary


def _connect_url(profile: Profile) -> str:
    ip, port = profile.connect_address()
    host = f"[{ip}]" if ":" in ip else ip
    return f"https://{host}" + ("" if port == 443 else f":{port}")


def plan_document(profile: Profile, shape: RunShape, identities: list[dict[str, str]],
                  extras_file: Path, pin_sha256: str | None = None) -> dict[str, Any]:
    load = profile.load
    assert load is not None
    slos = {name: {"p99_ms": s.p99_ms, "max_failure_ratio": s.max_failure_ratio}
            for name, s in {**load.endpoints, TOTAL: load.total}.items()}
    return {
        "base_url": _connect_url(profile),
        "host": profile.host,
        "ca_bundle": str(profile.ca_bundle) if profile.ca_bundle else None,
        # Set only when verification failed: the one leaf Locust may talk to.
        "pin_sha256": pin_sha256,
        "identities": identities,
        "user_rate": shape.user_rate,
        "weights": {"anonymous": load.weights.anonymous,
                    "signed_in": load.weights.signed_in if identities else 0},
        "budgets": dict(load.budgets),
        "max_requests": shape.max_requests,
        "abort": {"margin": load.abort_margin, "min_requests": ABORT_MIN_REQUESTS,
                  "slos": slos},
        "extras_file": str(extras_file),
    }


def identities(world: SyntheticWorld | None, shape: RunShape) -> list[dict[str, str]]:
    """Synthetic users (forged sessions, one seeded release each) for the signed-in journeys."""
    if world is None:
        return []
    out = []
    for i in range(min(shape.users, MAX_IDENTITIES)):
        user = world.create_user(f"load{i}")
        release = world.seed_release(user, f"Gate load release {i}")
        out.append({"cookie": user.cookie, "release_id": str(release)})
    return out


def run(profile: Profile, shape: RunShape, out_dir: Path, world: SyntheticWorld | None,
        plan_extra: dict[str, Any] | None = None, pin_sha256: str | None = None,
        schema: TargetSchema = NO_SCHEMA) -> LoadRun:
    """One bounded Locust run; its files (locust.json, locust.html, timeline.json) in out_dir.

    `plan_extra` overrides plan keys; scripts/bench-load uses it to drive one step alone.
    `pin_sha256` is the run's pinned leaf (vvgate/access/peer_trust.py), None when verified.
    """
    if profile.load is None:
        raise ConfigError(f"target {profile.name!r} has no 'load' section")
    binary = locust_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    extras_file = out_dir / "timeline.json"
    plan = {**plan_document(profile, shape, identities(world, shape), extras_file, pin_sha256),
            "operations": journey_operations(schema), **(plan_extra or {})}
    private = private_folder(PRIVATE_PREFIX)
    try:
        plan_path = private / "plan.json"
        fd = os.open(plan_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(plan, fh)
        command = [
            str(binary), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "-u", str(shape.users), "-r", str(shape.spawn_rate), "-t", f"{shape.duration_s}s",
            "--stop-timeout", str(STOP_TIMEOUT_S), "--loglevel", "WARNING",
            "--json-file", str(out_dir / "locust"), "--html", str(out_dir / "locust.html"),
        ]
        env = {**os.environ, PLAN_ENV: str(plan_path)}
        timeout = shape.duration_s + STOP_TIMEOUT_S + STARTUP_GRACE_S
        try:
            # Locust dies with this process, even by SIGKILL: a run the gate no longer
            # watches must not go on sending load until its own time limit.
            proc = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True,
                                  text=True, timeout=timeout, preexec_fn=dies_with_parent())
        except subprocess.TimeoutExpired as exc:
            raise LoadRunError(f"Locust did not finish within {timeout} s") from exc
    finally:
        shutil.rmtree(private, ignore_errors=True)
    log = redact((proc.stdout or "") + (proc.stderr or ""))
    (out_dir / "locust.log").write_text(log, "utf-8")
    _redact_file(out_dir / "locust.html")
    if not (out_dir / "locust.json").is_file() or not extras_file.is_file():
        tail = " | ".join(log.strip().splitlines()[-3:])
        raise LoadRunError(f"Locust exited {proc.returncode} without results: {tail[-400:]}")
    return LoadRun(shape, read(out_dir / "locust.json", extras_file), out_dir, proc.returncode,
                   log)


def _redact_file(path: Path) -> None:
    """Locust's report holds request names and error texts only, but errors quote responses."""
    if path.is_file():
        text = path.read_text("utf-8", errors="replace")
        cleaned = redact(text)
        if cleaned != text:
            path.write_text(cleaned, "utf-8")
