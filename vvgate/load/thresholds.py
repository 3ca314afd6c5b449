"""Threshold verdicts of a load run: per endpoint and total, and against a baseline run.

Every SLO the profile sets becomes one check with its measured value and limit, so a failure
names the endpoint, the metric and both numbers. 429s are their own check: they mean the run
outgrew the target's per-client rate limits, which says nothing about latency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vvgate.errors import ConfigError
from vvgate.load.stats import EndpointStats, RunStats
from vvgate.load.steps import TOTAL
from vvgate.targets.profile import EndpointSlo, LoadProfile

# The one check an SLO'd endpoint gets when nothing reached it: it cannot be judged.
NO_REQUESTS = "requests"


@dataclass(frozen=True)
class Check:
    endpoint: str
    metric: str
    value: float
    limit: float
    ok: bool
    note: str = ""

    def describe(self) -> str:
        unit = " ms" if self.metric.endswith("_ms") else ""
        at_least = self.metric in {"min_rps", "requests"}
        sign = (">=" if at_least else "<=") if self.ok else ("<" if at_least else ">")
        note = f" ({self.note})" if self.note else ""
        return (f"{self.endpoint}: {self.metric} {self.value:g}{unit} {sign} "
                f"{self.limit:g}{unit}{note}")

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.value, "limit": self.limit, "ok": self.ok,
                "note": self.note}


@dataclass
class EndpointVerdict:
    name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def has_slo(self) -> bool:
        return bool(self.checks)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def unmeasured(self) -> str | None:
        """Why this SLO could not be judged (no requests reached the endpoint), or None."""
        return next((c.note for c in self.checks if c.metric == NO_REQUESTS), None)


def _slo_checks(name: str, e: EndpointStats | None, slo: EndpointSlo) -> list[Check]:
    if e is None or e.requests == 0:
        return [Check(name, NO_REQUESTS, 0, 1, False,
                      "no requests: journey weight 0, budget spent or the run stopped early")]
    checks = [
        Check(name, "p95_ms", e.p(0.95), slo.p95_ms, e.p(0.95) <= slo.p95_ms),
        Check(name, "p99_ms", e.p(0.99), slo.p99_ms, e.p(0.99) <= slo.p99_ms),
        Check(name, "failure_ratio", round(e.failure_ratio, 4), slo.max_failure_ratio,
              e.failure_ratio <= slo.max_failure_ratio,
              f"{e.failures - e.rate_limited} of {e.requests} failed"),
    ]
    if slo.min_rps > 0:
        checks.append(Check(name, "min_rps", round(e.rps, 2), slo.min_rps, e.rps >= slo.min_rps))
    if e.rate_limited:
        checks.append(Check(name, "rate_limited", e.rate_limited, 0, False,
                            "HTTP 429: the run exceeded the target's per-client rate limit; "
                            "lower load.budgets or wait for the window to reset"))
    return checks


def evaluate(stats: RunStats, load: LoadProfile,
             baseline: dict[str, float] | None = None,
             ) -> dict[str, EndpointVerdict]:
    """Verdicts for every endpoint seen or given an SLO, and for the total (last)."""
    slos: dict[str, EndpointSlo] = {**load.endpoints, TOTAL: load.total}
    names = [*sorted(set(stats.endpoints) | set(load.endpoints)), TOTAL]
    out: dict[str, EndpointVerdict] = {}
    for name in names:
        e = stats.total if name == TOTAL else stats.endpoints.get(name)
        verdict = EndpointVerdict(name)
        if name in slos:
            verdict.checks = _slo_checks(name, e, slos[name])
            base = (baseline or {}).get(name)
            if base is not None and e is not None and e.requests:
                limit = round(max(base * (1 + load.baseline_tolerance),
                                  base + load.baseline_slack_ms), 1)
                verdict.checks.append(Check(
                    name, "baseline_p95_ms", e.p(0.95), limit, e.p(0.95) <= limit,
                    f"baseline p95 {base:g} ms + {load.baseline_tolerance:.0%}, at least "
                    f"+{load.baseline_slack_ms:g} ms"))
        out[name] = verdict
    return out


def read_baseline(path: Path) -> dict[str, float]:
    """Per-endpoint p95 (ms) of an earlier run, from its gates.json load data."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"baseline {path}: not a readable gates.json ({exc})") from None
    gates = document.get("gates") if isinstance(document, dict) else None
    load = next((g for g in gates or [] if isinstance(g, dict) and g.get("name") == "load"),
                None)
    data = (load or {}).get("data") or {}
    endpoints = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(endpoints, dict) or not endpoints:
        raise ConfigError(f"baseline {path}: holds no load figures (gates[load].data.endpoints)")
    out = {}
    for name, row in endpoints.items():
        if isinstance(row, dict) and isinstance(row.get("p95_ms"), int | float):
            out[str(name)] = float(row["p95_ms"])
    return out
