"""Mutations of a temporary copy of the project's manifests, one per rule.

Each mutation breaks exactly one rule; the selftests render the mutated copy
and check that this rule, and no other, reports a finding.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from vvgate.kube.kustomize import discover
from vvgate.rules.engine import build_tree
from vvgate.rules.model import Tree

PROJECT = Path(__file__).resolve().parents[2]
MANIFESTS = PROJECT / "manifests"


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str
    count: int = 1  # occurrences expected; -1: at least one, replace all


@dataclass(frozen=True)
class Mutation:
    rule: str
    why: str
    edits: tuple[Edit, ...] = ()
    # Strategic-merge patches added to base/kustomization.yaml.
    base_patches: tuple[str, ...] = ()
    # (kind, name, JSON6902 ops as YAML) added to base/kustomization.yaml.
    json_patches: tuple[tuple[str, str, str], ...] = ()
    extra_resource: str | None = None
    trees: tuple[str, ...] = ("staging", "production")
    expected_subjects: tuple[str, ...] = field(default=())
    # Set when a rule has more than one mutation (the same defect in base and in an overlay).
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.variant}" if self.variant else self.rule


def copy_manifests(dest: Path) -> Path:
    """The project's manifests without any real secret files."""
    root = dest / "manifests"
    shutil.copytree(MANIFESTS, root, ignore=shutil.ignore_patterns("secrets"))
    return root


def _edit(root: Path, edit: Edit) -> None:
    path = root / edit.file
    text = path.read_text()
    found = text.count(edit.old)
    if edit.count == -1:
        assert found >= 1, f"{edit.file}: {edit.old!r} not found"
    else:
        assert found == edit.count, f"{edit.file}: {edit.old!r} found {found}x, not {edit.count}x"
    path.write_text(text.replace(edit.old, edit.new))


def apply(root: Path, mutation: Mutation) -> None:
    for edit in mutation.edits:
        _edit(root, edit)
    base = root / "base"
    entries = []
    for i, patch in enumerate(mutation.base_patches):
        (base / f"selftest-patch-{i}.yaml").write_text(patch)
        entries.append(f"  - path: selftest-patch-{i}.yaml\n")
    for i, (kind, name, ops) in enumerate(mutation.json_patches):
        (base / f"selftest-json-{i}.yaml").write_text(ops)
        entries.append(f"  - path: selftest-json-{i}.yaml\n    target:\n      kind: {kind}\n"
                       f"      name: {name}\n")
    kustomization = base / "kustomization.yaml"
    text = kustomization.read_text()
    if entries:
        text += "\npatches:\n" + "".join(entries)
    if mutation.extra_resource is not None:
        (base / "selftest-extra.yaml").write_text(mutation.extra_resource)
        text = text.replace("resources:\n", "resources:\n  - selftest-extra.yaml\n", 1)
    kustomization.write_text(text)


def trees(root: Path, names: tuple[str, ...]) -> list[Tree]:
    targets = [t for t in discover(root) if t.name in names]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(build_tree, targets))
