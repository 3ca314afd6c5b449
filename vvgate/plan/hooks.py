"""The plan marker in a gate run: checked at collection, phase markers derived from it,
claims and deselections recorded for the run's plan trace (vvgate/plan/states.py)."""

from __future__ import annotations

import pytest

from vvgate.errors import ConfigError
from vvgate.gates.run import RUN
from vvgate.plan.claims import MARKER, claim_of
from vvgate.plan.items import load_plan, phase_marker


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*ids, check=None): the deployment-plan items a check verifies "
                   "(ids of vvgate/plan/deployment_plan.yaml)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # First, so that -m phaseN selects by the phases the claims name.
    run = config.stash.get(RUN, None)
    plan = load_plan()
    for item in items:
        try:
            claim = claim_of(item, plan)
        except ConfigError as exc:
            if run is not None:
                run.error = exc.one_line()
            pytest.exit(f"vvgate: error: {exc.one_line()}", returncode=ConfigError.exit_code)
        if claim is None:
            continue
        for phase in dict.fromkeys(phase_marker(i) for i in claim.ids):
            item.add_marker(phase)
        if run is not None:
            run.plan_claims[item.nodeid] = claim


def pytest_deselected(items: list[pytest.Item]) -> None:
    if not items:
        return
    run = items[0].config.stash.get(RUN, None)
    if run is not None:
        run.plan_deselected.update(item.nodeid for item in items)
