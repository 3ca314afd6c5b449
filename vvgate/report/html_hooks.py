"""How a run presents itself: report title and summary, metadata, terminal lines."""

from __future__ import annotations

import html
from typing import Any

import pytest

from vvgate.gates.run import RUN
from vvgate.report.redaction import redact
from vvgate.report.summary import html_table, run_banner, text_table


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or run.result is None or run.exit_code is None:
        return
    target = {**{k: v for k, v in run.profile.summary().items() if v is not None},
              "run id": run.run_id}
    if run.https_trust is not None:
        target["https trust"] = run.https_trust["note"]
    for n, note in enumerate(run.notes, 1):
        target[f"note {n}"] = note
    prefix.extend([html_table(run.result, run.exit_code),
                   f'<h3>Target</h3>{_rows("target", target)}',
                   f'<h3>Environment</h3>{_rows("run-environment", run.environment)}'])


def _rows(table_id: str, values: dict[str, Any]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(redact(str(v)))}</td></tr>"
                    for k, v in values.items())
    return f'<table id="{table_id}">{cells}</table>'


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: Any) -> None:
    # pytest-html passes only its report data, which keeps the config it was built with
    config = getattr(report, "_config", None)
    run = config.stash.get(RUN, None) if config is not None else None
    if run is not None:
        report.title = f"Vinyl Vault release gate: {run.profile.name} ({run.profile.host})"


@pytest.hookimpl(optionalhook=True, trylast=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    # The report opens with the gate table; the environment follows it, in the summary.
    run = config.stash.get(RUN, None)
    if run is None:
        return
    run.environment = {k: v for k, v in metadata.items() if k not in {"Plugins", "Packages"}}
    metadata.clear()


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(RUN, None)
    if run is None:
        return []
    p = run.profile
    return [f"vvgate target: {p.name} ({p.kind.value}) {p.base_url}"
            + (f" via {p.address_override}" if p.address_override else ""),
            f"vvgate report: {run.report_dir}"]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or run.result is None:
        return
    terminalreporter.write_sep("=", "release gates")
    terminalreporter.write_line(text_table(run.result))
    for note in run.notes:
        terminalreporter.write_line(f"note: {redact(note)}")
    verdict = run_banner(run.exit_code or 0)
    interrupted = f", interrupted by {run.interrupted_by}" if run.interrupted_by else ""
    terminalreporter.write_line(f"gate verdict: {verdict} (exit {run.exit_code}{interrupted}); "
                                f"report: {run.report_dir}")
