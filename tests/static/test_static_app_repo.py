"""Each --app-repo rule passes on the good fixture checkout and fails, alone, on a mutated copy."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from vvgate.errors import ConfigError
from vvgate.rules.app_repo import APP_RULES, app_cases, dockerfile_instructions, evaluate_app

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD, BAD = DATA / "app-repo-good", DATA / "app-repo-bad"


@dataclass(frozen=True)
class RepoEdit:
    rule: str
    file: str
    old: str
    new: str
    also: tuple[tuple[str, str], ...] = ()


EDITS = [
    RepoEdit("APP-DOCKER-USER", "packages/backend/Dockerfile", "USER node\n", ""),
    RepoEdit("APP-DOCKER-HEALTHCHECK", "packages/frontend/Dockerfile",
             "HEALTHCHECK CMD wget -qO- http://127.0.0.1:8080/ || exit 1\n", ""),
    RepoEdit("APP-DOCKER-PM-PINNED", "packages/backend/Dockerfile", "pnpm@9.12.3", "pnpm@latest"),
    RepoEdit("APP-DOCKER-LOCKFILE-FIRST", "packages/backend/Dockerfile",
             "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./\n", "COPY . ./\n"),
    RepoEdit("APP-DOCKERIGNORE", ".dockerignore", "dist\n**/dist\n", ""),
    RepoEdit("APP-ENV-SAMPLE", ".env.sample", "JWT_SECRET=\n", ""),
    RepoEdit("APP-WORKFLOW-PROD-GATED", ".github/workflows/deploy-production.yml",
             "  workflow_dispatch:\n    inputs:\n      sha: {description: \"commit to promote\", "
             "required: true}\n", "  push:\n    branches: [main]\n",
             also=(("    environment: production\n", ""),)),
    RepoEdit("APP-WORKFLOW-SHA-TAGS", ".github/workflows/build.yml",
             ":sha-${{ github.sha }}", ":latest"),
]


def test_every_app_rule_has_an_edit() -> None:
    assert sorted(e.rule for e in EDITS) == sorted(r.info.id for r in APP_RULES)


def test_good_checkout_passes_every_rule() -> None:
    assert [f.line() for f in evaluate_app(GOOD)] == []


def test_bad_checkout_fails_every_rule() -> None:
    assert {f.rule for f in evaluate_app(BAD)} == {r.info.id for r in APP_RULES}


@pytest.mark.parametrize("edit", EDITS, ids=[e.rule for e in EDITS])
def test_edit_breaks_exactly_its_rule(edit: RepoEdit, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOOD, repo)
    target = repo / edit.file
    text = target.read_text()
    assert text.count(edit.old) == 1
    text = text.replace(edit.old, edit.new)
    for old, new in edit.also:
        assert text.count(old) == 1
        text = text.replace(old, new)
    target.write_text(text)
    found = evaluate_app(repo)
    assert {f.rule for f in found} == {edit.rule}, "\n".join(f.line() for f in found)


def test_production_deploy_with_protected_environment_passes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOOD, repo)
    wf = repo / ".github/workflows/deploy-production.yml"
    wf.write_text(wf.read_text().replace("  workflow_dispatch:\n", "  push:\n    branches: [main]\n"
                                         "  workflow_dispatch:\n"))
    assert evaluate_app(repo) == []


def test_missing_files_are_findings_not_silence(tmp_path: Path) -> None:
    found = evaluate_app(tmp_path)
    assert {f.rule for f in found} == {r.info.id for r in APP_RULES}
    assert all(f.path == "(file)" for f in found)


def test_missing_checkout_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        app_cases(tmp_path / "nope")


def test_dockerfile_continuations_are_joined() -> None:
    ins = dockerfile_instructions("FROM a\n# c\nRUN x \\\n  && y\nUSER node\n")
    assert [(i.line, i.keyword, i.args) for i in ins] == [
        (1, "FROM", "a"), (3, "RUN", "x  && y"), (5, "USER", "node")]


def test_malformed_workflow_is_a_finding(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOOD, repo)
    (repo / ".github/workflows/broken.yml").write_text("on: [push\njobs: {\n")
    found = evaluate_app(repo)
    assert [(f.rule, f.path) for f in found] == [("APP-WORKFLOW-PROD-GATED", "(file)")]
    assert "malformed workflow YAML" in found[0].message
