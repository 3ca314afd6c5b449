"""Static gate, application checkout (--app-repo): Dockerfiles, .dockerignore, .env.sample,
workflows. Skipped, with the reason shown, when no checkout is given."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vvgate.rules.app_repo import AppCase

pytestmark = [pytest.mark.gate("manifests")]


def test_app_repo(app_case: AppCase, judge_app: Callable[[AppCase], None]) -> None:
    judge_app(app_case)
