"""What a check claims to verify: its @pytest.mark.plan(...) items, under one name per check."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from vvgate.plan.items import Plan, check_claims

MARKER = "plan"
_PARAMS = re.compile(r"\[.*\]$")


@dataclass(frozen=True)
class Claim:
    # The check as the plan's coverage names it: a static rule's id, else the test's node id
    # without its parameters (one test function is one check, whatever it is run for).
    check: str
    ids: tuple[str, ...]
    gate: str | None
    destructive: bool


def check_name(item: pytest.Item) -> str:
    named = item.get_closest_marker(MARKER)
    given = named.kwargs.get("check") if named is not None else None
    return str(given) if given else _PARAMS.sub("", item.nodeid)


def claim_of(item: pytest.Item, plan: Plan) -> Claim | None:
    """The item's claim, or None when it names no plan item; ConfigError for a bad id. The
    closest marker counts: a test's own overrides its module's."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    ids = tuple(dict.fromkeys(str(a) for a in marker.args))
    check_claims(plan, ids, item.nodeid)
    gates = [m.args[0] for m in item.iter_markers("gate") if m.args]
    return Claim(check_name(item), ids, gates[0] if len(gates) == 1 else None,
                 item.get_closest_marker("destructive") is not None)


def short_name(check: str) -> str:
    """`suites/staging/test_auth.py::test_x` -> `test_auth::test_x`; rule ids stay."""
    path, sep, name = check.partition("::")
    return f"{path.rsplit('/', 1)[-1].removesuffix('.py')}::{name}" if sep else check
