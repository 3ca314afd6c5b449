"""Static gate, category "overlay": one test per rule and object (see fixtures/manifest_rules/)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fixtures.manifest_engine import Case

pytestmark = [pytest.mark.gate("manifests")]
CATEGORY = "overlay"


def test_overlay_consistency(manifest_case: Case, judge: Callable[[Case], None]) -> None:
    judge(manifest_case)
