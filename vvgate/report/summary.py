"""Renders gate verdicts: gates.json (the machine contract), Markdown, HTML and a text table.

gates.json is versioned; a consumer checks `schema` and `schema_version`. Any
change that removes or renames a field bumps the version; adding fields does not.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from vvgate.gates.catalog import GATES
from vvgate.gates.verdicts import GateResult, Tally, Verdict
from vvgate.report.redaction import redact
from vvgate.targets.profile import Profile, Waiver

SCHEMA = "vinylvault-gate/gates"
SCHEMA_VERSION = 1


def _waiver(w: Waiver, expired: bool) -> dict[str, Any]:
    return {
        "subject": w.subject,
        "gate": w.gate,
        "test": w.test,
        "reason": w.reason,
        "expires": w.expires.isoformat(),
        "expired": expired,
    }


GATE_DATA_DIR = "gate-data"


def write_gate_data(report_dir: Path, gate: str, data: dict[str, Any]) -> Path:
    """Figures a gate's checks leave for gates.json (`gates[].data`), e.g. load statistics."""
    folder = report_dir / GATE_DATA_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"{gate}.json"
    write_json(path, data)
    return path


def _gate_data(report_dir: str | None, gate: str) -> Any:
    if not report_dir:
        return None
    path = Path(report_dir) / GATE_DATA_DIR / f"{gate}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _gate(r: GateResult, report_dir: str | None = None) -> dict[str, Any]:
    return {
        "name": r.name,
        "summary": GATES[r.name].summary,
        "severity": r.severity.value,
        "verdict": r.verdict.value,
        "blocking_failure": r.blocks,
        "counts": {
            "passed": r.count("passed"),
            "failed": r.count("failed"),
            "error": r.count("error"),
            "skipped": r.count("skipped"),
            "waived": r.waived,
        },
        "duration_s": round(r.duration_s, 3),
        "waivers": [_waiver(w, False) for w in r.waivers]
        + [_waiver(w, True) for w in r.expired_waivers],
        "failures": [
            {"test": o.nodeid, "outcome": o.outcome, "message": redact(o.message)}
            for o in r.failures()
        ],
        "skips": [
            {"test": o.nodeid, "reason": redact(o.message)}
            for o in r.outcomes
            if o.outcome == "skipped"
        ],
        "data": _gate_data(report_dir, r.name),
    }


def gates_document(
    profile: Profile,
    result: Tally,
    run: dict[str, Any],
    exit_code: int,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "target": profile.summary(),
        "run": run,
        "verdict": "pass" if exit_code == 0 else "fail",
        "exit_code": exit_code,
        "error": redact(error) if error else None,
        "failing_gates": [r.name for r in result.gates if r.blocks],
        "gates": [_gate(r, run.get("report_dir")) for r in result.gates],
        "expired_waivers_not_run": [_waiver(w, True) for w in result.orphan_expired],
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(redact(json.dumps(document, indent=2, sort_keys=False)) + "\n", "utf-8")
    tmp.replace(path)


def _row(r: GateResult) -> tuple[str, ...]:
    c = _gate(r)["counts"]
    mark = {"pass": "PASS", "fail": "FAIL", "waived": "WAIVED", "empty": "EMPTY"}[r.verdict.value]
    if r.verdict is Verdict.FAIL and not r.blocks:
        mark = "FAIL (advisory)"
    waivers = "; ".join(
        [f"{w.subject} until {w.expires}" for w in r.waivers]
        + [f"EXPIRED {w.expires}: {w.subject}" for w in r.expired_waivers]
    )
    return (
        r.name, r.severity.value, mark, str(c["passed"]), str(c["failed"] + c["error"]),
        str(c["skipped"]), str(c["waived"]), f"{r.duration_s:.1f}s", waivers or "-",
    )


HEADER = ("gate", "severity", "verdict", "passed", "failed", "skipped", "waived", "time",
          "waivers")


def text_table(result: Tally) -> str:
    rows = [HEADER, *(_row(r) for r in result.gates)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.extend(f"EXPIRED waiver for a test that did not run: {w.subject} ({w.expires})"
                 for w in result.orphan_expired)
    return "\n".join(lines)


def markdown(profile: Profile, result: Tally, exit_code: int, report_dir: str) -> str:
    verdict = "passed" if exit_code == 0 else "FAILED"
    out = [f"### Release gate for `{profile.name}` ({profile.host}): {verdict}", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in _row(r)) + " |"
               for r in result.gates)
    out.extend(f"\n**Expired waiver** for a test that did not run: {w.subject} ({w.expires})"
               for w in result.orphan_expired)
    out.append(f"\nReport: `{report_dir}`\n")
    return redact("\n".join(out))


def html_table(result: Tally, exit_code: int) -> str:
    colours = {"pass": "#1a7f37", "fail": "#cf222e", "waived": "#9a6700", "empty": "#6e7781"}
    cells = []
    for r in result.gates:
        row = _row(r)
        style = f"color:{colours[r.verdict.value]};font-weight:bold"
        tds = "".join(
            f'<td style="{style}">{html.escape(c)}</td>' if i == 2 else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        cells.append(f"<tr>{tds}</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    verdict = "PASS" if exit_code == 0 else "FAIL"
    orphans = "".join(
        f"<p><b>Expired waiver</b> for a test that did not run: {html.escape(w.subject)} "
        f"({w.expires})</p>" for w in result.orphan_expired
    )
    return redact(
        f'<h2 id="gate-summary">Release gate: {verdict}</h2>'
        f'<table id="gates" border="1" cellpadding="4" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody></table>{orphans}"
    )
