"""Final figures of a load run, from Locust's --json-file (not its CSV, which can miss the tail).

Locust's JSON holds one entry per request name with the full response-time histogram, so
percentiles here are exact to Locust's rounding; it has no total row, so the total is summed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vvgate.errors import ConfigError
from vvgate.load.steps import TOTAL


def percentile(histogram: dict[int, int], count: int, fraction: float) -> float:
    """Locust's definition: the smallest time that `fraction` of the requests finished within."""
    if count <= 0:
        return 0.0
    wanted = int(count * fraction)
    seen = 0
    for ms in sorted(histogram, reverse=True):
        seen += histogram[ms]
        if count - seen <= wanted:
            return float(ms)
    return 0.0


@dataclass
class EndpointStats:
    name: str
    requests: int
    failures: int
    rate_limited: int
    histogram: dict[int, int] = field(repr=False)
    duration_s: float

    def p(self, fraction: float) -> float:
        return percentile(self.histogram, self.requests, fraction)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def failure_ratio(self) -> float:
        """Failures other than 429s, which say the budget was wrong, not that the target is."""
        return (self.failures - self.rate_limited) / self.requests if self.requests else 0.0

    def row(self) -> dict[str, Any]:
        return {"requests": self.requests, "failures": self.failures,
                "rate_limited": self.rate_limited,
                "failure_ratio": round(self.failure_ratio, 4),
                "p50_ms": self.p(0.5), "p95_ms": self.p(0.95), "p99_ms": self.p(0.99),
                "rps": round(self.rps, 2)}


@dataclass
class RunStats:
    endpoints: dict[str, EndpointStats]
    total: EndpointStats
    extras: dict[str, Any]

    @property
    def duration_s(self) -> float:
        return self.total.duration_s

    def rows(self) -> dict[str, dict[str, Any]]:
        out = {name: e.row() for name, e in sorted(self.endpoints.items())}
        out[TOTAL] = self.total.row()
        return out


def read(json_file: Path, extras_file: Path) -> RunStats:
    try:
        entries = json.loads(json_file.read_text("utf-8"))
        extras = json.loads(extras_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Locust left no readable results ({exc})") from None
    duration = float(extras.get("duration_s") or 0.0)
    limited: dict[str, int] = extras.get("rate_limited", {})
    endpoints: dict[str, EndpointStats] = {}
    for entry in entries:
        name = str(entry["name"])
        histogram = {int(k): int(v) for k, v in entry["response_times"].items()}
        previous = endpoints.get(name)
        if previous is not None:  # one name, two methods: fold together
            for ms, n in histogram.items():
                previous.histogram[ms] = previous.histogram.get(ms, 0) + n
            previous.requests += int(entry["num_requests"])
            previous.failures += int(entry["num_failures"])
            continue
        endpoints[name] = EndpointStats(name, int(entry["num_requests"]),
                                        int(entry["num_failures"]), int(limited.get(name, 0)),
                                        histogram, duration)
    total_hist: dict[int, int] = {}
    for e in endpoints.values():
        for ms, n in e.histogram.items():
            total_hist[ms] = total_hist.get(ms, 0) + n
    total = EndpointStats(TOTAL, sum(e.requests for e in endpoints.values()),
                          sum(e.failures for e in endpoints.values()),
                          sum(e.rate_limited for e in endpoints.values()), total_hist, duration)
    return RunStats(endpoints, total, extras)
