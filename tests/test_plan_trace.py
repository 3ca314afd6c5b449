"""The deployment plan traced: the plan as data, what checks claim, each item's state in a run,
where the states show (gates.json, report, step summary, `vvgate plan`), and coverage that
never drops unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Workspace
from vvgate.errors import ConfigError
from vvgate.gates.verdicts import FAILED, INCONCLUSIVE, PASSED, SKIPPED, Outcome
from vvgate.plan import coverage_index
from vvgate.plan.claims import Claim
from vvgate.plan.coverage_index import IndexedCheck
from vvgate.plan.items import check_claims, load_plan
from vvgate.plan.states import RunChecks, trace
from vvgate.rules.app_repo import APP_RULES
from vvgate.rules.manifest import ALL_RULES
from vvgate.rules.plan_claims import RULE_PLAN

PLAN = load_plan()


def test_the_plan_has_every_phase_with_unique_stable_ids() -> None:
    assert [p.id for p in PLAN.phases] == [str(n) for n in range(10)]
    ids = [i.id for p in PLAN.phases for i in p.items]
    assert len(ids) == len(set(ids))
    assert {"0.2.4", "0.2.6", "3.1.2", "8.6"} <= set(ids)
    # every phase's items are in the plan's order
    for phase in PLAN.phases:
        keys = [tuple(int(n) for n in i.id.split(".")) for i in phase.items]
        assert keys == sorted(keys), phase.id


def test_a_claim_of_an_unknown_or_manual_item_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown plan item '9\.99'"):
        check_claims(PLAN, ("4.1", "9.99"), "t.py::test_x")
    with pytest.raises(ConfigError, match=r"0\.1\.1 is a manual step"):
        check_claims(PLAN, ("0.1.1",), "t.py::test_x")


def test_every_static_rule_names_the_items_it_verifies() -> None:
    rules = {r.info.id for r in ALL_RULES} | {r.info.id for r in APP_RULES}
    assert set(RULE_PLAN) == rules, set(RULE_PLAN) ^ rules
    for rule_id, ids in RULE_PLAN.items():
        check_claims(PLAN, ids, rule_id)


def test_coverage_never_drops_unnoticed() -> None:
    """The committed index is what the suites claim now; an item that had a check and lost its
    last one is named (collecting also fails on a check of the suites that claims nothing)."""
    now = coverage_index.collect()
    committed = coverage_index.read()
    had = set(coverage_index.checks_by_item(committed))
    has = set(coverage_index.checks_by_item(now))
    lost = sorted(had - has)
    assert not lost, (f"plan items lost their last check: {lost} (they were verified by "
                      f"{[c.check for c in committed if set(c.ids) & set(lost)][:5]}); give them "
                      "a check, or drop them from the coverage on purpose with "
                      "`vvgate plan --write-index`")
    assert now == committed, ("vvgate/plan/coverage_index.json is stale: run "
                              "`vvgate plan --write-index` and commit it")


# ---- states ------------------------------------------------------------------------------

def _run(outcomes: dict[str, str], deselected: tuple[str, ...] = (),
         claims: dict[str, tuple[str, ...]] | None = None,
         index: list[IndexedCheck] | None = None) -> dict[str, tuple[str, list[str]]]:
    claims = claims or {}
    found = trace(PLAN, RunChecks(
        {node: Claim(node, ids, "rollout", False) for node, ids in claims.items()},
        set(deselected),
        {n: Outcome(n, "rollout", o, 0.1, f"why {n}") for n, o in outcomes.items()},
        index or []))
    return {i.item.id: (i.state, i.reasons) for p in found.phases for i in p.items}


def test_each_state_follows_from_the_claiming_checks() -> None:
    claims = {"a": ("4.1",), "b": ("4.2",), "c": ("4.2", "4.3"), "d": ("4.4",), "e": ("4.5",),
              "f": ("4.6",), "g": ("4.7",)}
    states = _run({"a": PASSED, "b": PASSED, "c": FAILED, "d": INCONCLUSIVE, "e": SKIPPED},
                  deselected=("f",), claims=claims,
                  index=[IndexedCheck("t::elsewhere", "staging", "tls", False, ("4.8",))])
    assert states["4.1"][0] == "verified"
    assert states["4.2"] == ("failed", ["c: why c"])  # one failure outweighs a pass
    assert states["4.3"][0] == "failed"
    assert states["4.4"] == ("inconclusive", ["d: why d"])
    assert states["4.5"] == ("not run", ["why e"])  # the skip's reason
    assert states["4.6"] == ("not run", ["deselected in this run"])
    assert states["4.7"] == ("not run", ["did not finish (the run was stopped)"])
    assert states["4.8"][0] == "not run" and "t::elsewhere" in states["4.8"][1][0]
    assert states["1.5"] == ("no check", [])  # no check anywhere claims it
    assert states["0.1.1"] == ("manual", [])


# ---- in a run ----------------------------------------------------------------------------

SUITE = """
import pytest
pytestmark = [pytest.mark.gate("rollout")]

@pytest.mark.plan("4.1")
def test_passes(): pass

@pytest.mark.plan("4.2", "4.3")
def test_fails(): assert False, "the Deployment has no probes"

@pytest.mark.plan("4.4")
def test_skips(): pytest.skip("no frontend in this overlay")
"""


def test_a_run_reports_each_items_state_everywhere(ws: Workspace, tmp_path: Path) -> None:
    ws.write_profile()
    ws.write_test("test_plan_states.py", SUITE)
    summary = tmp_path / "summary.md"
    run = ws.run(env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 1, run.output[-2000:]
    plan = run.gates()["plan"]
    items = {i["id"]: i for p in plan["phases"] for i in p["items"]}
    assert items["4.1"]["state"] == "verified" and items["4.1"]["checks"]
    assert items["4.2"]["state"] == "failed"
    assert "the Deployment has no probes" in items["4.2"]["reasons"][0]
    assert items["4.4"]["state"] == "not run"
    assert items["4.4"]["reasons"] == ["no frontend in this overlay"]
    assert items["0.1.1"]["state"] == "manual"
    assert items["3.1.6"]["deviation"]  # a documented deviation travels with its item
    phase4 = next(p for p in plan["phases"] if p["id"] == "4")
    assert phase4["counts"]["verified"] == 1 and phase4["counts"]["failed"] == 2
    assert sum(plan["counts"].values()) == len(PLAN.by_id)
    # the step summary: a line per phase
    text = summary.read_text()
    # 4.5-4.8 have checks in the project's suites, none of them in this run
    assert "- phase 4 Kubernetes base manifests: 1 verified, 2 failed, 5 not run" in text
    assert text.count("- phase ") == 10
    # the report: the Plan section, each item with its state
    page = (run.run_dir / "report.html").read_text()
    assert 'id="plan"' in page and 'data-state="failed"' in page
    assert "documented deviation" in page


def test_a_check_claiming_an_unknown_item_stops_the_run(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_bad_claim.py", """
        import pytest
        @pytest.mark.gate("rollout")
        @pytest.mark.plan("4.99")
        def test_x(): pass
    """)
    run = ws.run()
    assert run.code == 2, run.output[-2000:]
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown plan item '4.99'" in lines[0], run.stderr
    assert "Traceback" not in run.output


def test_phase_markers_follow_the_claims(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_plan_states.py", SUITE)
    run = ws.run(pytest_args=("-m", "phase4 and not phase0",))
    assert run.code == 1
    counts = run.gate("rollout")["counts"]
    assert counts["passed"] == 1 and counts["failed"] == 1


# ---- vvgate plan ---------------------------------------------------------------------------

def test_vvgate_plan_lists_coverage_and_the_missing_items(ws: Workspace) -> None:
    everything = ws.vvgate("plan")
    assert everything.code == 0, everything.output
    assert "0.2.6  checked" in everything.stdout and "test_storage::" in everything.stdout
    assert "deviation: " in everything.stdout
    missing = ws.vvgate("plan", "--missing")
    assert missing.code == 0
    shown = {ln.split()[0] for ln in missing.stdout.splitlines() if ln.startswith("  ")}
    assert "1.5" in shown and "0.2.6" not in shown and "0.1.1" not in shown
    production = ws.vvgate("plan", "--target", "production")
    # production never runs a destructive check: the load test is not counted there
    assert "8.7    not on this target" in production.stdout
    assert "8.7    checked" in everything.stdout
    unknown = ws.vvgate("plan", "--target", "nowhere")
    assert unknown.code == 2 and unknown.stderr.count("\n") == 1


def test_the_index_reads_what_it_wrote(tmp_path: Path) -> None:
    checks = [IndexedCheck("suites/staging/t.py::test_a", "staging", "auth", False, ("1.6",))]
    coverage_index.write(checks, tmp_path / "i.json")
    assert coverage_index.read(tmp_path / "i.json") == checks
    assert json.loads((tmp_path / "i.json").read_text())["checks"][0]["ids"] == ["1.6"]
