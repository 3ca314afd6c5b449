"""Vinyl Vault journeys for the load gate; vvgate/load/run.py runs this as a Locust subprocess.

Everything a run needs comes from the plan file named by $VVGATE_LOAD_PLAN (written 0600 by the
runner, deleted here as soon as read): where to connect, the CA, the forged session cookies of the
run's synthetic users, pacing, request budgets, the request cap and the abort thresholds.
Cookies never appear on a command line, in a request name or in a log line.

Besides Locust's own --json-file, the run writes the plan's `extras_file`: a one-second
timeline (for the chart), why the run stopped early if it did, 429s and budget skips per step.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import ssl
import time
from pathlib import Path
from typing import Any, ClassVar

import gevent
import gevent.ssl
from geventhttpclient.client import HTTPClientPool
from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment
from locust.stats import calculate_response_time_percentile, diff_response_time_dicts

from vvgate.access.graphql_ops import find_id, payload_errors
from vvgate.access.peer_trust import check_leaf
from vvgate.load.steps import RATE_LIMITED, RECORD_ID, RELEASE_ID, STEPS, TOTAL

_PLAN_FILE = Path(os.environ["VVGATE_LOAD_PLAN"])
PLAN: dict[str, Any] = json.loads(_PLAN_FILE.read_text("utf-8"))
# It holds live session cookies: gone as soon as read, whatever ends the run later.
_PLAN_FILE.unlink(missing_ok=True)
# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: like the other non-TLS gates, leave expiry to the tls gate.
NO_CHECK_TIME = 0x200000
WATCH_INTERVAL_S = 0.25


class Tally:
    """What the run did besides Locust's stats; written to the extras file at the end."""

    def __init__(self) -> None:
        self.sent = 0
        self.rate_limited: collections.Counter[str] = collections.Counter()
        self.skipped: collections.Counter[str] = collections.Counter()
        self.budget_left: dict[str, int] = {k: int(v) for k, v in PLAN["budgets"].items()}
        self.stop_reason: str | None = None
        self.aborted = False
        self.timeline: list[dict[str, float]] = []
        self.started = time.time()
        self.stopped: float | None = None

    def take(self, step: str) -> bool:
        """One request's worth of the run's request cap and of its path's rate-limit budget."""
        path = STEPS[step].path
        if self.sent >= PLAN["max_requests"] or self.budget_left.get(path, 1) <= 0:
            self.skipped[step] += 1
            return False
        if path in self.budget_left:
            self.budget_left[path] -= 1
        self.sent += 1
        return True

    def limited(self, step: str) -> None:
        # The target's per-client window is spent: more requests there would only be refused too.
        self.rate_limited[step] += 1
        self.budget_left[STEPS[step].path] = 0


TALLY = Tally()


# Set only when the run's verification failed: the one leaf Locust may talk to.
PIN_SHA256: str | None = PLAN.get("pin_sha256")


class _PinnedSocket(gevent.ssl.SSLSocket):
    def do_handshake(self) -> None:
        super().do_handshake()
        check_leaf(self.getpeercert(binary_form=True), {PIN_SHA256 or ""})


class _PinnedContext(gevent.ssl.SSLContext):
    sslsocket_class = _PinnedSocket


def _ssl_context(cafile: str | None = None, **_: Any) -> ssl.SSLContext:
    """The profile's CA (public roots when it names none), or, when the run's verification
    failed, the leaf the tls scan recorded (vvgate/access/peer_trust.py); SNI comes from the
    user's pool."""
    if PIN_SHA256:
        context: ssl.SSLContext = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = gevent.ssl.create_default_context(cafile=PLAN["ca_bundle"])
        context.verify_flags |= NO_CHECK_TIME
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _TargetUser(FastHttpUser):
    abstract = True
    # The address to dial; the public host name travels as Host header and SNI.
    host = PLAN["base_url"]
    # geventhttpclient's "insecure" only stops it turning chain and name checks back on over a
    # pinned context, whose sockets check the leaf themselves.
    insecure = bool(PIN_SHA256)
    ssl_context_factory = staticmethod(_ssl_context)
    default_headers: ClassVar[dict[str, str]] = {"Host": PLAN["host"]}
    wait_time = constant_throughput(PLAN["user_rate"])
    connection_timeout = 10.0
    network_timeout = 15.0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # geventhttpclient takes SNI from the client's own headers, which Locust does not pass
        # down; a per-user pool (a shared one would cap every user's connections) names it.
        self.client.client.clientpool = HTTPClientPool(
            ssl_options={"server_hostname": PLAN["host"]}, ssl_context_factory=_ssl_context,
            insecure=self.insecure, connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout, concurrency=self.concurrency)

    def send(self, step: str, check: Any = None, **kwargs: Any) -> Any:
        """One journey step, named after the step; returns the parsed JSON body on success."""
        if not TALLY.take(step):
            return None
        spec = STEPS[step]
        with self.client.request(spec.method, spec.path, name=step, catch_response=True,
                                 **kwargs) as response:
            if response.status_code == 429:
                TALLY.limited(step)
                response.failure(RATE_LIMITED)
                return None
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}" if response.status_code
                                 else f"no response: {response.error}")
                return None
            body: Any = None
            if check is not None:
                try:
                    body = response.json()
                except ValueError:
                    response.failure("response is not JSON")
                    return None
                problem = check(body)
                if problem:
                    response.failure(problem)
                    return None
            response.success()
            return body if body is not None else True


class Anonymous(_TargetUser):
    weight = PLAN["weights"]["anonymous"]

    @task(3)
    def health(self) -> None:
        self.send("health", lambda b: None if b.get("status") else "no status in /health")

    @task(1)
    def spa(self) -> None:
        self.send("spa")

    @task(1)
    def me_anonymous(self) -> None:
        self.send("auth.me.anonymous",
                  lambda b: None if b.get("user") is None else "anonymous /auth/me has a user")


_IDENTITIES = itertools.cycle(PLAN["identities"])


def _graphql_check(field: str) -> Any:
    def check(body: dict[str, Any]) -> str | None:
        errors = payload_errors(body)
        value = (body.get("data") or {}).get(field)
        if errors:
            return f"{field}: {errors[0][:120]}"
        if value is None:
            return f"{field}: no data"
        own = payload_errors(value)
        if own:
            return f"{field}: {own[0][:120]}"
        return None
    return check


def _fill(template: Any, values: dict[str, str]) -> Any:
    """The plan's operation with the journey's own ids in place of their placeholders."""
    if isinstance(template, str):
        for placeholder, value in values.items():
            template = template.replace(placeholder, value)
        return template
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


class SignedIn(_TargetUser):
    weight = PLAN["weights"]["signed_in"]

    def on_start(self) -> None:
        identity = next(_IDENTITIES)
        self.cookie = identity["cookie"]
        self.release_id = identity["release_id"]
        self.record_id = self.create_record("setup.record.create")

    def gql(self, step: str, operation: str, record_id: str | None = None) -> Any:
        """One journey step's GraphQL operation, as the runner built it from the schema."""
        op = _fill(PLAN["operations"][operation],
                   {RELEASE_ID: self.release_id, RECORD_ID: record_id or ""})
        field = op["field"]
        body = self.send(step, _graphql_check(field),
                         json={"query": op["query"], "variables": op["variables"]},
                         headers={"Cookie": self.cookie})
        return (body.get("data") or {}).get(field) if isinstance(body, dict) else None

    def create_record(self, step: str) -> str | None:
        value = self.gql(step, "record.create")
        record = value.get("record") if isinstance(value, dict) else None
        return find_id(record) or find_id(value)

    @task(4)
    def records_list(self) -> None:
        self.gql("records.list", "records.list")

    @task(3)
    def record_read(self) -> None:
        if self.record_id is None:
            return
        self.gql("record.read", "record.read", self.record_id)

    @task(1)
    def record_create_delete(self) -> None:
        created = self.create_record("record.create")
        if created is not None:
            self.gql("record.delete", "record.delete", created)

    @task(2)
    def me(self) -> None:
        self.send("auth.me", lambda b: None if b.get("user") and b.get("availableTenants")
                  else "/auth/me lacks the user or their tenants",
                  headers={"Cookie": self.cookie})


# Benchmarks (scripts/bench-load) drive one step alone: plan key `only_step`.
_STEP_TASKS: dict[str, tuple[type[_TargetUser], Any]] = {
    "health": (Anonymous, Anonymous.health),
    "records.list": (SignedIn, SignedIn.records_list),
}
if PLAN.get("only_step"):
    _STEP_TASKS[PLAN["only_step"]][0].tasks = [_STEP_TASKS[PLAN["only_step"]][1]]

# A journey with weight 0 (signed-in, when the target allows no synthetic users) does not exist.
if not PLAN["weights"]["anonymous"]:
    del Anonymous
if not PLAN["weights"]["signed_in"]:
    del SignedIn


# ---- watcher: timeline, request cap and early abort ---------------------------------------


def _abort_reason(env: Environment) -> str | None:
    """Why to stop now: a failure ratio or p99 beyond its threshold times the abort margin."""
    abort = PLAN["abort"]
    margin = float(abort["margin"])
    entries = [(e.name, e) for e in env.stats.entries.values()]
    for name, entry in [(TOTAL, env.stats.total), *entries]:
        slo = abort["slos"].get(name)
        if slo is None or entry.num_requests < abort["min_requests"]:
            continue
        # 429s are the target's rate limiter, not its health; they are reported on their own.
        limited = sum(TALLY.rate_limited.values()) if name == TOTAL else TALLY.rate_limited[name]
        ratio = (entry.num_failures - limited) / entry.num_requests
        limit = slo["max_failure_ratio"] * margin
        if ratio > limit:
            return (f"{name} failure ratio {ratio:.2f} > {limit:.2f} ({slo['max_failure_ratio']}"
                    f" x margin {margin}) after {entry.num_requests} requests")
        p99 = entry.get_response_time_percentile(0.99)
        if p99 > slo["p99_ms"] * margin:
            return (f"{name} p99 {p99:.0f} ms > {slo['p99_ms'] * margin:.0f} ms "
                    f"({slo['p99_ms']} x margin {margin}) after {entry.num_requests} requests")
    return None


def _sample(env: Environment, previous: dict[str, Any]) -> None:
    total = env.stats.total
    now = time.time()
    window = diff_response_time_dicts(total.response_times, previous["times"])
    count = total.num_requests - previous["requests"]
    span = max(now - previous["at"], 1e-6)
    point = {"t": round(now - TALLY.started, 2), "rps": round(count / span, 2),
             "fails_per_s": round((total.num_failures - previous["failures"]) / span, 2),
             "users": float(env.runner.user_count if env.runner else 0)}
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        point[label] = float(calculate_response_time_percentile(window, count, q)) if count else 0
    TALLY.timeline.append(point)
    previous.update(times=dict(total.response_times), requests=total.num_requests,
                    failures=total.num_failures, at=now)


def _watch(env: Environment) -> None:
    previous: dict[str, Any] = {"times": {}, "requests": 0, "failures": 0, "at": time.time()}
    next_sample = time.time() + 1
    while env.runner is not None and TALLY.stop_reason is None:
        gevent.sleep(WATCH_INTERVAL_S)
        if time.time() >= next_sample:
            _sample(env, previous)
            next_sample += 1
        reason = _abort_reason(env)
        if reason is not None:
            TALLY.stop_reason, TALLY.aborted = f"early abort: {reason}", True
        elif TALLY.sent >= PLAN["max_requests"]:
            TALLY.stop_reason = f"request cap: {PLAN['max_requests']} requests sent"
        if TALLY.stop_reason is not None:
            _sample(env, previous)
            env.runner.quit()


def _write_extras(env: Environment) -> None:
    TALLY.stopped = TALLY.stopped or time.time()
    errors = sorted(env.stats.errors.values(), key=lambda e: -e.occurrences)
    out = {
        "started": TALLY.started, "stopped": TALLY.stopped,
        "duration_s": round(TALLY.stopped - TALLY.started, 3),
        "sent": TALLY.sent, "stop_reason": TALLY.stop_reason, "aborted": TALLY.aborted,
        "rate_limited": dict(TALLY.rate_limited), "skipped": dict(TALLY.skipped),
        "budget_left": TALLY.budget_left, "timeline": TALLY.timeline,
        "errors": [{"name": e.name, "error": str(e.error)[:300], "count": e.occurrences}
                   for e in errors[:20]],
    }
    path = Path(PLAN["extras_file"])
    path.write_text(json.dumps(out, indent=1), "utf-8")


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    TALLY.started = time.time()
    gevent.spawn(_watch, environment)


@events.test_stop.add_listener
def _on_stop(environment: Environment, **_: Any) -> None:
    TALLY.stopped = time.time()
    _write_extras(environment)


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    _write_extras(environment)
