"""The third outcome of a check: it could not be carried out, so it proves nothing either way.

A check or fixture raises `Inconclusive` when it cannot do what it set out to: the target
rejected the request in validation, set-up could not create its data, the target answered
5xx or rate-limited the suite. The gate plugin records the check as inconclusive, never as a
defect and never as a pass. pytest itself sees a skip, so JUnit readers see "not run".
"""

from __future__ import annotations

from typing import NoReturn

# The class pytest.skip raises (public as pytest.skip.Exception, which mypy cannot see).
from _pytest.outcomes import Skipped


class Inconclusive(Skipped):
    """The check could not be carried out; `reason` says why, in the target's terms."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, pytrace=False)
        self.reason = reason


# As pytest does for its own outcomes: reports then read "Inconclusive: <reason>".
Inconclusive.__module__ = "builtins"

MARKER = "Inconclusive: "
# Set on a report the gate plugin counts as inconclusive (vvgate.gates.outcome_hooks).
INCONCLUSIVE_ATTR = "vvgate_inconclusive"


def inconclusive(reason: str) -> NoReturn:
    raise Inconclusive(reason)


def is_inconclusive(report: object) -> bool:
    return bool(getattr(report, INCONCLUSIVE_ATTR, False))
