"""How a run presents itself: report.html's title and summary (vvgate/report/sections.py),
terminal lines."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_metadata.plugin import metadata_key

from vvgate.gates.run import RUN
from vvgate.report import sections
from vvgate.report.redaction import redact
from vvgate.report.summary import run_banner, text_table
from vvgate.report.view import ReportView

# Rows of pytest-html's table of all checks that start collapsed: the summary above it has
# every failure's cause and evidence, and a long run's passes and skips would bury it.
COLLAPSED = ["passed", "skipped"]
PYTEST_HTML_DEFAULT_COLLAPSED = "passed"


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    view = ReportView.of(session)
    if view is None:
        return
    top, bottom = sections.compose(view)
    prefix.extend(top)
    postfix.extend(bottom)


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: Any) -> None:
    # pytest-html calls this once its report data exists, so this is where the gate run's
    # choices for that data go: pytest-metadata's environment moves to the bottom section,
    # and the table of all checks starts with passes and skips collapsed.
    config = report.config
    run = config.stash.get(RUN, None)
    if run is None:
        return
    report.title = f"Vinyl Vault release gate: {run.profile.name} ({run.profile.host})"
    environment = config.stash.get(metadata_key, {})
    run.environment = dict(environment)
    report.set_data("environment", {})
    # An explicit `-o render_collapsed=...` wins; only pytest-html's default is replaced.
    if config.getini("render_collapsed") == PYTEST_HTML_DEFAULT_COLLAPSED:
        report.set_data("renderCollapsed", COLLAPSED)


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
