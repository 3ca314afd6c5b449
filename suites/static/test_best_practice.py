"""Static gate, category "best-practice": one test per rule and object."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vvgate.rules.engine import Case

pytestmark = [pytest.mark.gate("manifests")]
CATEGORY = "best-practice"


def test_best_practice(manifest_case: Case, judge: Callable[[Case], None]) -> None:
    judge(manifest_case)
