"""Each manifest rule fails on a copy of the manifests mutated to break it, and only it."""

from __future__ import annotations

from pathlib import Path

import pytest
from static_mutations import Mutation, apply, copy_manifests, trees
from static_rule_mutations import MUTATIONS

from vvgate.rules.engine import evaluate, load_trees
from vvgate.rules.manifest import ALL_RULES
from vvgate.rules.model import Settings

SETTINGS = Settings("1.33")


def test_every_rule_has_a_mutation() -> None:
    assert sorted(m.rule for m in MUTATIONS) == sorted(r.info.id for r in ALL_RULES)


def test_own_manifests_pass_every_rule() -> None:
    found = evaluate(load_trees(Path(__file__).resolve().parents[2] / "manifests"), SETTINGS)
    assert [f.line() for f in found] == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.rule for m in MUTATIONS])
def test_mutation_breaks_exactly_its_rule(mutation: Mutation, tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    apply(root, mutation)
    found = evaluate(trees(root, mutation.trees), SETTINGS)
    failing = {f.rule for f in found}
    assert failing == {mutation.rule}, "\n".join(f.line() for f in found) or "no finding"
    for finding in found:
        assert finding.subject and finding.path and finding.message and finding.hint
