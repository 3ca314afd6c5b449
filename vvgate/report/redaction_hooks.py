"""Reports pass through the redactor before pytest, JUnit or pytest-html see them.

Redacting the report object in makereport covers every consumer at once: the
terminal, junit.xml and report.html all read the same longrepr and sections.
Failed checks also get their evidence attached here.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation

from vvgate.gates.inconclusive import is_inconclusive
from vvgate.gates.run import EVIDENCE, ITEM_REPORTS, RUN
from vvgate.report.redaction import redact


class RedactedRepr:
    """A failure representation whose text has been through the redactor."""

    def __init__(self, text: str, crash: ReprFileLocation | None) -> None:
        self.text = text
        self.reprcrash = crash

    def __str__(self) -> str:
        return self.text

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)


def redact_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        path, lineno, reason = longrepr
        report.longrepr = (path, lineno, redact(reason))
    elif longrepr is not None and not isinstance(longrepr, RedactedRepr):
        crash = getattr(longrepr, "reprcrash", None)
        safe_crash = (ReprFileLocation(crash.path, crash.lineno, redact(crash.message))
                      if crash is not None else None)
        report.longrepr = RedactedRepr(redact(str(longrepr)), safe_crash)  # type: ignore[assignment]
    report.sections = [(title, redact(content)) for title, content in report.sections]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if item.config.stash.get(RUN, None) is None:
        return
    redact_report(report)
    item.stash.setdefault(ITEM_REPORTS, []).append(report)
    collected = item.stash.get(EVIDENCE, None)
    if (report.failed or is_inconclusive(report)) and collected is not None and collected.items:
        from pytest_html import extras

        attached = list(getattr(report, "extras", []))
        for ev in collected.items:
            attached.append(extras.json(ev.content, name=ev.name) if ev.kind == "json"
                            else extras.text(ev.content, name=ev.name))
        report.extras = attached  # type: ignore[attr-defined]
        report.sections.append(
            ("evidence", "\n\n".join(f"== {ev.name} ==\n{ev.content}" for ev in collected.items))
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    if collector.config.stash.get(RUN, None) is not None:
        redact_report(outcome.get_result())
