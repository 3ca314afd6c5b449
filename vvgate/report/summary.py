"""Renders gate verdicts: gates.json (the machine contract), Markdown, HTML and a text table.

gates.json is versioned; a consumer checks `schema` and `schema_version`. Any
change that removes or renames a field bumps the version; adding fields does not.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from vvgate.gates.catalog import GATES, Severity
from vvgate.gates.verdicts import (
    FAILED,
    INCONCLUSIVE,
    PASSED,
    SKIPPED,
    GateResult,
    Tally,
    Verdict,
)
from vvgate.report.redaction import redact
from vvgate.targets.profile import Profile, Waiver

SCHEMA = "vinylvault-gate/gates"
# 2: verdicts inconclusive, not-run and interrupted; counts.error became counts.inconclusive;
# gates[].blocking_failure became gates[].blocks; failures lost their outcome field.
SCHEMA_VERSION = 2
VERDICT_WORDS = {0: "passed", 1: "FAILED", 2: "ERROR", 3: "NOT VERIFIED", 130: "INTERRUPTED"}


def run_banner(exit_code: int) -> str:
    return {0: "PASS", 1: "FAIL", 2: "ERROR", 3: "INCONCLUSIVE",
            130: "INTERRUPTED"}.get(exit_code, "ERROR")


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


def gate_data_of(report_dir: str | None, gate: str) -> Any:
    """The figures a gate left in this run's report folder, or None."""
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
        "blocks": r.blocks,
        "not_verified": redact(why) if (why := r.why_not_verified()) else None,
        "counts": {
            "passed": r.count(PASSED),
            "failed": r.count(FAILED),
            "inconclusive": r.count(INCONCLUSIVE),
            "skipped": r.count(SKIPPED),
            "waived": r.waived,
            "unfinished": r.unfinished,
        },
        "duration_s": round(r.duration_s, 3),
        "waivers": [_waiver(w, False) for w in r.waivers]
        + [_waiver(w, True) for w in r.expired_waivers],
        "failures": [{"test": o.nodeid, "message": redact(o.message)} for o in r.failures()],
        "inconclusive": [{"test": o.nodeid, "reason": redact(o.message)}
                         for o in r.inconclusive()],
        "skips": [
            {"test": o.nodeid, "reason": redact(o.message)}
            for o in r.outcomes
            if o.outcome == SKIPPED
        ],
        "data": gate_data_of(report_dir, r.name),
    }


def run_verdict(result: Tally, error: str | None) -> str:
    return "error" if error else result.verdict


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
        "verdict": run_verdict(result, error),
        "exit_code": exit_code,
        "error": redact(error) if error else None,
        "interrupted": result.interrupted,
        "failing_gates": [r.name for r in result.gates
                          if r.blocks and r.verdict is Verdict.FAIL],
        "unverified_gates": [r.name for r in result.gates
                             if r.blocks and r.verdict is not Verdict.FAIL],
        "gates": [_gate(r, run.get("report_dir")) for r in result.gates],
        "expired_waivers_not_run": [_waiver(w, True) for w in result.orphan_expired],
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(redact(json.dumps(document, indent=2, sort_keys=False)) + "\n", "utf-8")
    tmp.replace(path)


MARKS = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.WAIVED: "WAIVED",
         Verdict.INCONCLUSIVE: "INCONCLUSIVE", Verdict.NOT_RUN: "NOT-RUN",
         Verdict.INTERRUPTED: "INTERRUPTED"}


def _mark(r: GateResult) -> str:
    mark = MARKS[r.verdict]
    if r.verdict in {Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.NOT_RUN} and not r.blocks:
        mark += " (advisory)" if r.severity is Severity.ADVISORY else " (not blocking)"
    return mark


def _row(r: GateResult) -> tuple[str, ...]:
    waivers = "; ".join(
        [f"{w.subject} until {w.expires}" for w in r.waivers]
        + [f"EXPIRED {w.expires}: {w.subject}" for w in r.expired_waivers]
    )
    return (
        r.name, r.severity.value, _mark(r), str(r.count(PASSED)), str(r.count(FAILED)),
        str(r.count(INCONCLUSIVE)), str(r.count(SKIPPED)), str(r.waived),
        f"{r.duration_s:.1f}s", waivers or "-",
    )


HEADER = ("gate", "severity", "verdict", "passed", "failed", "inconclusive", "skipped",
          "waived", "time", "waivers")


def _not_verified_lines(result: Tally, skip: Collection[str] = ()) -> list[str]:
    return [f"{r.name} {MARKS[r.verdict]}: not verified: {why}"
            for r in result.gates if r.name not in skip and (why := r.why_not_verified())]


def text_table(result: Tally) -> str:
    rows = [HEADER, *(_row(r) for r in result.gates)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.extend(f"EXPIRED waiver for a test that did not run: {w.subject} ({w.expires})"
                 for w in result.orphan_expired)
    lines.extend(redact(line) for line in _not_verified_lines(result))
    return "\n".join(lines)


def markdown(profile: Profile, result: Tally, exit_code: int, report_dir: str) -> str:
    verdict = VERDICT_WORDS.get(exit_code, "FAILED")
    out = [f"### Release gate for `{profile.name}` ({profile.host}): {verdict}", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in _row(r)) + " |"
               for r in result.gates)
    out.extend(f"\n{line}" for line in _not_verified_lines(result))
    out.extend(f"\n**Expired waiver** for a test that did not run: {w.subject} ({w.expires})"
               for w in result.orphan_expired)
    out.append(f"\nReport: `{report_dir}`\n")
    return redact("\n".join(out))


def html_table(result: Tally, sections: Collection[str] = ()) -> str:
    """The gate table for report.html; a gate named in `sections` links to its own section,
    which also says why it is not verified."""
    cells = []
    for r in result.gates:
        row = _row(r)
        name = html.escape(r.name)
        if r.name in sections:
            name = f'<a href="#gate-{name}">{name}</a>'
        kind = f"chip v-{r.verdict.value}" + ("" if r.blocks or r.verdict is Verdict.PASS
                                               else " nonblocking")
        tds = [f'<th scope="row">{name}</th>', f"<td>{html.escape(row[1])}</td>",
               f'<td class="verdict"><span class="{kind}">{html.escape(row[2])}</span></td>']
        tds += [f'<td class="num">{html.escape(c)}</td>' for c in row[3:9]]
        tds.append(f"<td>{html.escape(row[9])}</td>")
        cells.append(f'<tr class="gate-{r.verdict.value}">{"".join(tds)}</tr>')
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in HEADER)
    notes = "".join(
        f'<p class="vv-note"><b>Expired waiver</b> for a test that did not run: '
        f"{html.escape(w.subject)} ({w.expires})</p>" for w in result.orphan_expired
    ) + "".join(f'<p class="vv-note">{html.escape(redact(line))}</p>'
                for line in _not_verified_lines(result, sections))
    return redact(
        f'<table id="gates"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(cells)}</tbody></table>{notes}"
    )
