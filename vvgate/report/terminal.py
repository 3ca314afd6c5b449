"""Progress lines for the person watching a run."""

from __future__ import annotations

import pytest


def say(config: pytest.Config, line: str) -> None:
    """A line on the terminal even while pytest captures the check's output."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)
