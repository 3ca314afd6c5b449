"""The load gate's evidence: a per-endpoint HTML table, a PNG chart and the gates.json data.

The report stays self-contained: the chart is embedded as base64 PNG; Locust's own HTML
report sits next to report.html and is linked relatively. report.html's load section is drawn
from the gate's figures in gates.json and the run's timeline, so it needs nothing of the
check that made them.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vvgate.gates.verdicts import Outcome
from vvgate.load.run import LoadRun
from vvgate.load.steps import STEPS, TOTAL
from vvgate.load.thresholds import Check, EndpointVerdict
from vvgate.report.redaction import redact

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMNS = ("endpoint", "requests", "failures", "429", "p50 ms", "p95 ms", "p99 ms",
           "SLO p95 / p99 ms", "RPS", "verdict")
CHART_ID = "load-chart"
TABLE_ID = "load-table"
TIMELINE = "timeline.json"
# The chart's SLO lines (colour of their percentile's line, dash), in the table's column order.
SLO_STYLE = {"p95_ms": ("#bc4c00", (0, (6, 3))), "p99_ms": ("#cf222e", (0, (2, 2)))}


def row_id(endpoint: str) -> str:
    return f"load-endpoint-{endpoint}"


def _limits(checks: list[dict[str, Any]]) -> dict[str, float]:
    return {c["metric"]: float(c["limit"]) for c in checks if c["metric"] in SLO_STYLE}


def _slo_cell(checks: list[dict[str, Any]]) -> str:
    limits = _limits(checks)
    if not limits:
        return "-"
    return " / ".join(f"{limits[m]:g}" if m in limits else "-" for m in SLO_STYLE)


def _verdict_text(endpoint: dict[str, Any]) -> str:
    verdict = str(endpoint["verdict"])
    if verdict != "fail":
        return "no SLO" if verdict == "no-slo" else verdict
    failed = [Check(TOTAL, **c) for c in endpoint.get("checks", []) if not c["ok"]]
    return "FAIL: " + "; ".join(c.describe().partition(": ")[2] for c in failed)


def table_from_data(data: dict[str, Any], anchors: bool = True) -> str:
    """The per-endpoint table from the gate's figures (`gates[load].data`).

    With anchors, the table and each row carry ids that failure cards link to; the copy in
    pytest-html's table of all checks goes without, so every id stays unique on the page.
    """
    rows = []
    for name, row in data["endpoints"].items():
        text = _verdict_text(row)
        kind = "fail" if text.startswith("FAIL") else "pass" if text == "pass" else "none"
        cells = [row["requests"], row["failures"], row["rate_limited"], row["p50_ms"],
                 row["p95_ms"], row["p99_ms"], _slo_cell(row.get("checks", [])), row["rps"]]
        tds = f'<th scope="row">{html.escape(name)}</th>'
        tds += "".join(f'<td class="num">{html.escape(str(c))}</td>' for c in cells)
        tds += f'<td class="load-{kind}">{html.escape(text)}</td>'
        title = html.escape(STEPS[name].what) if name in STEPS else "all requests"
        anchor = f' id="{html.escape(row_id(name))}"' if anchors else ""
        rows.append(f'<tr{anchor} class="load-row-{kind}" title="{title}">{tds}</tr>')
    head = "".join(f'<th scope="col">{c}</th>' for c in COLUMNS)
    shape = data["shape"]
    stopped = data.get("stop_reason") or "ran its full duration"
    caption = (f"{shape['users']} users, {shape['user_rate']:g} journeys/s each, "
               f"{shape['duration_s']} s planned, {data['duration_s']:.1f} s run; {stopped}")
    heading_id = f' id="{TABLE_ID}"' if anchors else ""
    return redact(
        f"<h3{heading_id}>Load: per-endpoint results</h3><p>{html.escape(caption)}</p>"
        f'<table class="load-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def table_html(run: LoadRun, verdicts: dict[str, EndpointVerdict]) -> str:
    """The table for the check's own row in pytest-html's table (no anchors: see above)."""
    return table_from_data(gate_data(run, verdicts, ""), anchors=False)


def chart_figure(timeline: list[dict[str, float]],
                 limits: dict[str, float] | None = None) -> Figure:
    """Latency percentiles and throughput over the run, one point per second; `limits` (the
    total's `p95_ms`, `p99_ms`) are drawn as the SLO lines the percentiles are judged by."""
    # Figure without pyplot: no global state and no display backend in the test process.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5), dpi=90, layout="constrained")
    latency, throughput = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    t = [p["t"] for p in timeline]
    # top to bottom as the legend lists them; a wider p99 still shows where p95 runs on it
    for key, colour, width in (("p99", "#cf222e", 2.4), ("p95", "#bc4c00", 1.4),
                               ("p50", "#0969da", 1.4)):
        latency.plot(t, [p[key] for p in timeline], "-", color=colour, label=key,
                     linewidth=width)
    for metric, limit in sorted((limits or {}).items()):
        colour, dash = SLO_STYLE[metric]
        latency.axhline(limit, color=colour, linestyle=dash, linewidth=1.2,
                        label=f"{metric.removesuffix('_ms')} SLO {limit:g} ms")
    latency.set_ylabel("latency ms (all requests)")
    latency.set_ylim(bottom=0)
    latency.grid(alpha=0.3)
    throughput.plot(t, [p["rps"] for p in timeline], "-", color="#1a7f37", label="requests/s")
    throughput.plot(t, [p["fails_per_s"] for p in timeline], "-", color="#cf222e",
                    label="failures/s")
    throughput.set_ylabel("per second")
    throughput.set_xlabel("seconds since start")
    throughput.set_ylim(bottom=0)
    throughput.grid(alpha=0.3)
    # beside the plots, so no line or SLO hides under a legend
    for axes in (latency, throughput):
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return figure


def chart_png(timeline: list[dict[str, float]], limits: dict[str, float] | None = None) -> bytes:
    out = io.BytesIO()
    chart_figure(timeline, limits).savefig(out, format="png")
    return out.getvalue()


def chart_base64(timeline: list[dict[str, float]], limits: dict[str, float] | None = None) -> str:
    return base64.b64encode(chart_png(timeline, limits)).decode()


def _timeline(report_dir: Path, data: dict[str, Any]) -> list[dict[str, float]]:
    # Locust's files sit together in the run's load folder, which gates.json names.
    locust_html = data.get("files", {}).get("locust_html") or "load/locust.html"
    try:
        extras = json.loads((report_dir / Path(locust_html).parent / TIMELINE).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    timeline = extras.get("timeline") if isinstance(extras, dict) else None
    return timeline if isinstance(timeline, list) else []


def figures_html(report_dir: Path, data: dict[str, Any]) -> str:
    """report.html's load figures: the chart with its SLO lines, the table, Locust's report."""
    timeline = _timeline(report_dir, data)
    total = data["endpoints"].get(TOTAL, {})
    if timeline:
        png = chart_base64(timeline, _limits(total.get("checks", [])))
        chart = (f'<figure id="{CHART_ID}"><img alt="latency percentiles and throughput per '
                 f'second, with the SLO lines of all requests" src="data:image/png;base64,{png}">'
                 "<figcaption>Latency percentiles of all requests per second, with the total's "
                 "p95 and p99 SLOs as lines; throughput and failures below.</figcaption></figure>")
    else:
        chart = f'<p id="{CHART_ID}">No timeline was recorded, so there is no chart.</p>'
    locust = data.get("files", {}).get("locust_html")
    link = (f'<p><a href="{html.escape(locust)}">Locust\'s own report</a></p>'
            if locust else "")
    return f'<div class="load-figures">{chart}{table_from_data(data)}{link}</div>'


_PARAM = re.compile(r"\[([^\]]+)\]$")


def card_links(outcome: Outcome) -> list[tuple[str, str]]:
    """Where a failing load check's card points: the chart, and its endpoint's row."""
    links = [(f"#{CHART_ID}", "the load chart, with the SLO lines")]
    match = _PARAM.search(outcome.nodeid)
    if match:
        endpoint = match.group(1)
        links.append((f"#{row_id(endpoint)}", f"{endpoint} in the per-endpoint table"))
    return links


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
