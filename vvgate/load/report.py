"""The load gate's evidence: a per-endpoint HTML table, a PNG chart and the gates.json data.

The report stays self-contained: the chart is embedded as base64 PNG; Locust's own HTML
report sits next to report.html and is linked relatively.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from vvgate.load.run import LoadRun
from vvgate.load.steps import STEPS, TOTAL
from vvgate.load.thresholds import EndpointVerdict
from vvgate.report.redaction import redact

COLUMNS = ("endpoint", "requests", "failures", "429", "p50 ms", "p95 ms", "p99 ms", "RPS",
           "verdict")


def _verdict_text(v: EndpointVerdict | None) -> str:
    if v is None or not v.has_slo:
        return "no SLO"
    if v.ok:
        return "pass"
    return "FAIL: " + "; ".join(c.describe().partition(": ")[2] for c in v.failed())


def table_html(run: LoadRun, verdicts: dict[str, EndpointVerdict]) -> str:
    rows = []
    for name, row in run.stats.rows().items():
        verdict = verdicts.get(name)
        text = _verdict_text(verdict)
        colour = "#cf222e" if text.startswith("FAIL") else "#1a7f37" if text == "pass" else ""
        cells = [name, row["requests"], row["failures"], row["rate_limited"], row["p50_ms"],
                 row["p95_ms"], row["p99_ms"], row["rps"]]
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        tds += f'<td style="color:{colour}">{html.escape(text)}</td>'
        title = html.escape(STEPS[name].what) if name in STEPS else "all requests"
        rows.append(f'<tr title="{title}">{tds}</tr>')
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    shape = run.shape
    stopped = run.stop_reason or "ran its full duration"
    caption = (f"{shape.users} users, {shape.user_rate:g} journeys/s each, "
               f"{shape.duration_s} s planned, {run.stats.duration_s:.1f} s run; {stopped}")
    return redact(
        f'<h3 id="load-table">Load: per-endpoint results</h3><p>{html.escape(caption)}</p>'
        f'<table border="1" cellpadding="4" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def chart_png(timeline: list[dict[str, float]]) -> bytes:
    """Latency percentiles and throughput over the run, one point per second."""
    # Figure without pyplot: no global state and no display backend in the test process.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=90)
    latency, throughput = figure.subplots(2, 1, sharex=True)
    t = [p["t"] for p in timeline]
    for key, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        latency.plot(t, [p[key] for p in timeline], style, label=key)
    latency.set_ylabel("latency ms")
    latency.legend(loc="upper left", fontsize="small")
    latency.grid(alpha=0.3)
    throughput.plot(t, [p["rps"] for p in timeline], "-", label="requests/s")
    throughput.plot(t, [p["fails_per_s"] for p in timeline], "-", color="#cf222e",
                    label="failures/s")
    throughput.set_ylabel("per second")
    throughput.set_xlabel("seconds since start")
    throughput.legend(loc="upper left", fontsize="small")
    throughput.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def chart_base64(timeline: list[dict[str, float]]) -> str:
    return base64.b64encode(chart_png(timeline)).decode()


def gate_data(run: LoadRun, verdicts: dict[str, EndpointVerdict],
              locust_html: str) -> dict[str, Any]:
    """`gates[load].data` in gates.json; a later run's --baseline reads `endpoints.*.p95_ms`."""
    endpoints = {}
    for name, row in run.stats.rows().items():
        verdict = verdicts.get(name)
        endpoints[name] = {
            **row,
            "verdict": ("no-slo" if verdict is None or not verdict.has_slo
                        else "pass" if verdict.ok else "fail"),
            "checks": [c.as_dict() for c in verdict.checks] if verdict else [],
        }
    shape = run.shape
    extras = run.stats.extras
    return {
        "shape": {"users": shape.users, "spawn_rate": shape.spawn_rate,
                  "duration_s": shape.duration_s, "user_rate": shape.user_rate,
                  "max_requests": shape.max_requests, "forced": shape.forced},
        "duration_s": run.stats.duration_s,
        "stop_reason": run.stop_reason,
        "aborted": run.aborted,
        "requests_sent": extras.get("sent"),
        "skipped": extras.get("skipped", {}),
        "endpoints": endpoints,
        "total_verdict": "pass" if verdicts[TOTAL].ok else "fail",
        "files": {"locust_html": locust_html},
    }
