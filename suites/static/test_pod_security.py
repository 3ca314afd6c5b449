"""Static gate, category "pod-security": one test per workload, judged against Pod Security
restricted by kube-apiserver's admission code where the gate can run one (else by its rules).

These run after the other static modules, so the server the gate starts at the end of
collection comes up while they run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vvgate.rules.engine import Case

pytestmark = [pytest.mark.gate("manifests")]
CATEGORY = "pod-security"


def test_pod_security(manifest_case: Case, judge: Callable[[Case], None]) -> None:
    judge(manifest_case)
