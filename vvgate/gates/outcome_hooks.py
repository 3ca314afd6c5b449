"""Which of the three outcomes a check's report stands for.

A failed assertion (or `pytest.fail`) is a defect observed: the check failed, unless the
target answered one of its requests with 429. `Inconclusive`, and any other exception, means
the check could not be carried out: the report becomes an
inconclusive one, its traceback kept as a section for whoever debugs the check. Registered
before the redaction hooks, so they redact and collect the report as rewritten here.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from vvgate.gates.inconclusive import INCONCLUSIVE_ATTR, MARKER, Inconclusive, is_inconclusive
from vvgate.gates.run import EVIDENCE, RUN

# Exceptions that mean "the check looked and saw a defect".
DEFECT = (AssertionError, pytest.fail.Exception)


def _as_inconclusive(report: pytest.TestReport, item: pytest.Item, why: str) -> None:
    traceback = str(report.longrepr or "")
    if traceback:
        report.sections.append(("traceback", traceback))
    path, line = item.reportinfo()[:2]
    report.outcome = "skipped"
    report.longrepr = (str(path), (line or 0) + 1, MARKER + why)
    setattr(report, INCONCLUSIVE_ATTR, True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    excinfo = call.excinfo
    if item.config.stash.get(RUN, None) is None or excinfo is None:
        return
    if excinfo.errisinstance(Inconclusive):
        setattr(report, INCONCLUSIVE_ATTR, True)
        return
    evidence = item.stash.get(EVIDENCE, None)
    limited = evidence.rate_limited if evidence is not None else []
    if report.failed and limited:
        # Whatever it asserted, the check met the rate limit on the way: a window another run
        # (or user) spent says nothing of the property, so it is not judged.
        more = f" (and {len(limited) - 1} more)" if len(limited) > 1 else ""
        _as_inconclusive(report, item, f"the target answered {limited[0]} with 429 (rate "
                                       f"limit){more}: the check was not judged")
    elif report.failed and not excinfo.errisinstance(DEFECT):
        phase = {"setup": "in set-up", "call": "", "teardown": "in clean-up"}[call.when]
        where = f" {phase}" if phase else ""
        _as_inconclusive(report, item,
                         f"the check could not be carried out{where}: {excinfo.exconly()}")


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    if is_inconclusive(report):
        return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
    return None
