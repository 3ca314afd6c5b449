"""The report's frame: the verdict banner on top, the run's facts, the heading of pytest-html's
table of all checks, and the environment at the bottom."""

from __future__ import annotations

from typing import Any

from vvgate.report.view import ReportView, esc

BANNER_WORDS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE",
                "interrupted": "INTERRUPTED", "error": "ERROR"}
_WHY = {"pass": "every blocking gate passed or is waived",
        "fail": "a blocking gate failed: a defect was observed",
        "inconclusive": "no defect seen, but a blocking gate is not verified",
        "interrupted": "the run was stopped before every gate had finished",
        "error": "nothing was checked"}


def banner(view: ReportView) -> str:
    run, verdict = view.run, view.verdict
    blocking = ", ".join(f"{r.name} {r.verdict.value}" for r in view.result.gates if r.blocks)
    started = run.started.strftime("%Y-%m-%d %H:%M:%S UTC")
    facts = [f"target <b>{esc(run.profile.name)}</b> ({esc(run.profile.host)})",
             f"run <code>{esc(run.run_id)}</code>", f"started {esc(started)}",
             f"exit code {view.exit_code}"]
    why = _WHY.get(verdict, "")
    if blocking:
        why += f" ({blocking})"
    if run.interrupted_by:
        why += f"; interrupted by {run.interrupted_by}"
    return (f'<section id="verdict" class="vv banner v-{esc(verdict)}">'
            f'<h2 id="gate-summary">Release gate: {BANNER_WORDS.get(verdict, "ERROR")}</h2>'
            f'<p class="facts">{" · ".join(facts)}</p><p class="why">{esc(why)}</p></section>')


def _rows(table_id: str, values: dict[str, Any]) -> str:
    cells = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{_value(v)}</td></tr>'
                    for k, v in values.items())
    return f'<table id="{table_id}" class="facts-table">{cells}</table>'


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{esc(k)} {esc(v)}" for k, v in value.items())
    return esc(value)


def run_facts(view: ReportView) -> str:
    run = view.run
    target = {**{k: v for k, v in run.profile.summary().items() if v is not None},
              "run id": run.run_id}
    if run.https_trust is not None:
        target["https trust"] = run.https_trust["note"]
    for n, note in enumerate(run.notes, 1):
        target[f"note {n}"] = note
    return (f'<section id="run" class="vv"><h2>Target and run</h2>'
            f'{_rows("target", target)}</section>')


def all_checks_heading(view: ReportView) -> str:
    return ('<section id="all-checks" class="vv"><h2>All checks</h2>'
            "<p>pytest-html's table of every check, with its full output and traceback; passed "
            "and skipped rows (inconclusive checks are listed as skipped) start collapsed."
            "</p></section>")


def environment(view: ReportView) -> str:
    values = view.run.environment
    if not values:
        return ""
    return (f'<section id="environment-section" class="vv"><h2>Environment</h2>'
            f'{_rows("run-environment", values)}</section>')
