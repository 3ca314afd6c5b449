"""Static gate, category "overlay": one test per rule and object (see vvgate/rules/manifest/)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vvgate.rules.engine import Case

pytestmark = [pytest.mark.gate("manifests")]
CATEGORY = "overlay"


def test_overlay_consistency(manifest_case: Case, judge: Callable[[Case], None]) -> None:
    judge(manifest_case)
