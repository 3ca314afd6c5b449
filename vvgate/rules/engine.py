"""Turn rendered trees and the rule set into cases: one (rule, subject) pair per test."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vvgate.kube.kustomize import KustomizeTarget, discover, kustomization_file, render_cached
from vvgate.rules.manifest import ALL_RULES, roles
from vvgate.rules.model import (
    Finding,
    ManifestObject,
    NotApplicable,
    ObjectRule,
    PairRule,
    RuleInfo,
    Settings,
    Tree,
    TreeRule,
    findings,
)

SECRETS_DOC = "SECRETS.md"
PAIR = ("staging", "production")
# `kubectl [-n NS] create secret generic|tls|docker-registry NAME`, flags anywhere before NAME.
_KUBECTL_SECRET = re.compile(
    r"kubectl\s+(?:(?:-n|--namespace)[ =]\S+\s+)?create\s+secret\s+"
    r"(?:generic|tls|docker-registry)\s+(?:(?:-n|--namespace)[ =]\S+\s+)?([a-z0-9][a-z0-9.-]*)")
_TABLE_NAME = re.compile(r"`([a-z0-9][a-z0-9.-]*)`")


@dataclass(frozen=True)
class Case:
    info: RuleInfo
    subject: str
    run: Callable[[Settings], list[Finding]]
    # The deployment-plan items the case verifies (the rule's, unless the object says more).
    plan: tuple[str, ...] = ()
    # The object an object rule judges (None for tree and pair rules).
    obj: ManifestObject | None = None

    def __post_init__(self) -> None:
        if not self.plan:
            object.__setattr__(self, "plan", self.info.plan)

    @property
    def id(self) -> str:
        return f"{self.info.id}:{self.subject}"


def _secret_docs(root: Path | None, directory: Path | None) -> list[Path]:
    """SECRETS.md at the manifests root, and any Markdown file in the tree's own folder."""
    found = [root / SECRETS_DOC] if root is not None else []
    if directory is not None:
        found += sorted(directory.glob("*.md"))
    return list(dict.fromkeys(p for p in found if p.is_file()))


def documented_secrets(root: Path | None, directory: Path | None = None) -> frozenset[str]:
    """Secret names a tree's documentation gives: the first column of SECRETS.md's tables,
    and the names of `kubectl create secret` commands in any Markdown beside the tree."""
    names: set[str] = set()
    for doc in _secret_docs(root, directory):
        text = doc.read_text(encoding="utf-8", errors="replace")
        names.update(_KUBECTL_SECRET.findall(text))
        if doc.name != SECRETS_DOC:
            continue
        for line in text.splitlines():
            cells = line.split("|")
            if line.startswith("|") and len(cells) > 2:
                names.update(_TABLE_NAME.findall(cells[1]))
    return frozenset(names)


def build_tree(target: KustomizeTarget) -> Tree:
    rendered = render_cached(target)
    origins = rendered.origins or (None,) * len(rendered.documents)
    objects = tuple(ManifestObject(target.name, doc, origin)
                    for doc, origin in zip(rendered.documents, origins, strict=True))
    return Tree(target.name, objects, target.directory, target.root,
                documented_secrets(target.root, target.directory))


def load_trees(path: Path) -> list[Tree]:
    targets = discover(path)
    # kubectl runs as a subprocess, so threads render the targets in parallel.
    with ThreadPoolExecutor(max_workers=min(len(targets), os.cpu_count() or 1, 4)) as pool:
        return list(pool.map(build_tree, targets))


def _source(tree: Tree) -> str | None:
    """The tree's kustomization file: code scanning anchors results to files, not folders."""
    if tree.source is None:
        return None
    file = kustomization_file(tree.source)
    return str(file or tree.source)


def object_plan(rule: RuleInfo, obj: ManifestObject, tree: Tree) -> tuple[str, ...]:
    """Generic rules verify the plan items of the object they judge: the provisioner's and
    the StorageClass's (phase 0), the MongoDB StatefulSets' (phase 3), else the rule's own."""
    if rule.category not in ("schema", "best-practice", "pod-security"):
        return rule.plan
    if tree.name == "storage":
        return ("0.2.4",)
    if obj.kind == "StorageClass":
        return ("0.3.1",)
    return ("3.1.2", "3.1.3") if roles.is_mongo(obj) else rule.plan


def _object_case(rule: ObjectRule, obj: ManifestObject, tree: Tree) -> Case:
    def run(s: Settings) -> list[Finding]:
        source = str(obj.source) if obj.source else _source(tree)
        return findings(rule.info, obj.ref, rule.check(obj, tree, s), source)
    return Case(rule.info, obj.ref, run, object_plan(rule.info, obj, tree), obj)


def _tree_case(rule: TreeRule, tree: Tree) -> Case:
    def run(s: Settings) -> list[Finding]:
        return findings(rule.info, tree.name, rule.check(tree, s), _source(tree))
    return Case(rule.info, tree.name, run)


def _pair_case(rule: PairRule, trees: dict[str, Tree]) -> Case:
    def run(s: Settings) -> list[Finding]:
        if not all(name in trees for name in PAIR):
            raise NotApplicable("needs both the staging and the production overlay: pass a "
                                "manifests root (with overlays/) to --manifests")
        staging, prod = trees[PAIR[0]], trees[PAIR[1]]
        return findings(rule.info, f"{staging.name}->{prod.name}",
                        rule.check(staging, prod, s), _source(prod))
    return Case(rule.info, "->".join(PAIR), run)


def cases(trees: Iterable[Tree]) -> list[Case]:
    trees = list(trees)
    by_name = {t.name: t for t in trees}
    out: list[Case] = []
    for rule in ALL_RULES:
        if isinstance(rule, ObjectRule):
            out.extend(_object_case(rule, o, t) for t in trees for o in t.objects
                       if rule.applies(o))
        elif isinstance(rule, TreeRule):
            out.extend(_tree_case(rule, t) for t in trees if rule.applies(t))
        else:
            out.append(_pair_case(rule, by_name))
    return out


def evaluate(trees: Iterable[Tree], settings: Settings) -> list[Finding]:
    """Every finding of every applicable case; cases that cannot judge are left out."""
    out: list[Finding] = []
    for case in cases(trees):
        try:
            out.extend(case.run(settings))
        except NotApplicable:
            continue
    return out
