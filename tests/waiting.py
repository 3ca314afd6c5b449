"""Waiting in selftests for something a separate process or a cluster makes true."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float,
             log: Path | None = None, interval_s: float = 0.3) -> T:
    """`probe()`'s first answer that is not None; after `timeout_s` the test fails naming
    `what`, with the end of `log` when one is given."""
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
            pytest.fail(f"no {what} after {timeout_s:.0f}s\n{tail}".rstrip())
        time.sleep(interval_s)
    return found
