"""Static checks of an application checkout (seed plan phases 1, 2 and 6).

Dockerfiles, .dockerignore, .env.sample and GitHub workflows; the rules are
data (id, title, hint) plus a check over one file of the checkout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vvgate.errors import ConfigError
from vvgate.rules.model import Finding, NotApplicable, RuleInfo, Violation, findings

SKIP_DIRS = frozenset({".git", "node_modules", "dist", "build", ".venv"})
LOCK_FILES = ("pnpm-lock.yaml", "package-lock.json", "yarn.lock", "npm-shrinkwrap.json")
MANIFEST_FILES = (*LOCK_FILES, "package.json", "pnpm-workspace.yaml", ".npmrc", ".yarnrc.yml")
INSTALL = re.compile(r"\b(pnpm (install|i)\b|npm (ci|install|i)\b|yarn( install)?\s*($|&&|--))")
UNPINNED_PM = re.compile(
    r"\b(pnpm|npm|yarn|corepack)@latest\b|\bnpm (install|i) (-g|--global) (pnpm|yarn)(\s|$)"
    r"|\bcorepack prepare (pnpm|yarn)(\s|$)"
)
DOCKERIGNORE_MUST = ("node_modules", ".git", "dist")
# Seed plan phase 1.4 names the first four; the rest are what the contract wires in.
ENV_SAMPLE_MUST = (
    "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY_PATH", "GITHUB_APP_WEBHOOK_SECRET",
    "GITHUB_APP_INSTALLATION_URL", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET",
    "SESSION_SECRET", "JWT_SECRET", "MONGODB_URI", "MONGODB_REGISTRY_URI", "MONGODB_URI_BASE",
)
DEPLOY = re.compile(r"\b(kubectl\s+apply|kustomize\s+build|helm\s+(upgrade|install)|kubectl\s+set)")
PRODUCTION = re.compile(r"overlays/production|vinylvault-production|\bproduction\b", re.I)
IMAGE_BUILD = re.compile(r"docker/build-push-action|\bdocker\s+(build|push)\b|buildx\s+build")
# However the workflow computes the commit: the context, the env var, metadata-action's
# type=sha, or git itself ($(git rev-parse --short HEAD), `git log -1 --format=%h`).
SHA_TAG = re.compile(r"github\.sha|type=sha\b|GITHUB_SHA|git\s+rev-parse\b[^\n]*HEAD"
                     r"|git\s+log\b[^\n]*--(?:format|pretty)[= ]\S*%h")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments dropped."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full and not full.startswith("#"):
            keyword, _, args = full.partition(" ")
            out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


def _stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM" or not stages:
            stages.append([])
        stages[-1].append(ins)
    return stages


def _final_stage(text: str) -> list[Instruction]:
    stages = _stages(dockerfile_instructions(text))
    return stages[-1] if stages else []


def check_docker_user(path: Path, text: str) -> Iterator[Violation]:
    users = [i for i in _final_stage(text) if i.keyword == "USER"]
    if not users:
        yield Violation("USER", "the final stage has no USER: the container runs as root")
    elif users[-1].args.split(":")[0] in ("root", "0"):
        yield Violation(f"line {users[-1].line}", f"USER {users[-1].args} is root")


def check_docker_healthcheck(path: Path, text: str) -> Iterator[Violation]:
    checks = [i for i in _final_stage(text) if i.keyword == "HEALTHCHECK"]
    if not checks:
        yield Violation("HEALTHCHECK", "the final stage has no HEALTHCHECK")
    elif checks[-1].args.upper().startswith("NONE"):
        yield Violation(f"line {checks[-1].line}", "HEALTHCHECK NONE disables the check")


def check_docker_pm_pinned(path: Path, text: str) -> Iterator[Violation]:
    for ins in dockerfile_instructions(text):
        if ins.keyword in ("RUN", "ENV", "ARG") and UNPINNED_PM.search(ins.args):
            yield Violation(f"line {ins.line}", f"unpinned package manager: {ins.args[:80]}")


def _copies_lock(ins: Instruction) -> bool:
    return any(lock in ins.args for lock in LOCK_FILES)


def _broad_copy(ins: Instruction) -> bool:
    """A COPY from the build context of more than package manifests and lock files."""
    words = [w for w in ins.args.split() if not w.startswith("--")]
    if ins.args.startswith("--from") or "--from=" in ins.args or len(words) < 2:
        return False
    sources = words[:-1]
    return any(Path(s).name not in MANIFEST_FILES for s in sources)


def check_docker_lockfile_first(path: Path, text: str) -> Iterator[Violation]:
    for stage in _stages(dockerfile_instructions(text)):
        install = next((i for i in stage if i.keyword == "RUN" and INSTALL.search(i.args)), None)
        if install is None:
            continue
        before = [i for i in stage if i.keyword in ("COPY", "ADD") and i.line < install.line]
        lock = next((i for i in before if _copies_lock(i)), None)
        broad = next((i for i in before if _broad_copy(i)), None)
        if lock is None:
            yield Violation(f"line {install.line}",
                            "dependencies are installed without copying a lock file first")
        elif broad is not None and broad.line < lock.line:
            yield Violation(f"line {broad.line}", "sources are copied before the lock file: "
                                                  "every source change re-installs dependencies")
        elif broad is not None:
            yield Violation(f"line {broad.line}", "sources are copied before the dependency "
                                                  "install: the install layer is never cached")


def check_dockerignore(path: Path, text: str) -> Iterator[Violation]:
    patterns = {ln.strip().strip("/").removeprefix("**/").rstrip("/")
                for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}
    for must in DOCKERIGNORE_MUST:
        if must not in patterns:
            yield Violation(".dockerignore", f"{must} is not excluded from the build context")


def check_env_sample(path: Path, text: str) -> Iterator[Violation]:
    present = {ln.split("=", 1)[0].strip().removeprefix("export ")
               for ln in text.splitlines() if "=" in ln and not ln.lstrip().startswith("#")}
    for name in ENV_SAMPLE_MUST:
        if name not in present:
            yield Violation(name, f".env.sample does not list {name}")


class MalformedWorkflow(Exception):
    """A workflow GitHub would refuse too: a finding about the checkout, not a usage error."""


def _workflow(text: str, path: Path) -> dict[Any, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MalformedWorkflow(f"malformed workflow YAML: {exc}".splitlines()[0]) from None
    return doc if isinstance(doc, dict) else {}


def _triggers(doc: dict[Any, Any]) -> set[str]:
    # PyYAML reads the bare key `on` as the boolean True.
    on = doc.get("on", doc.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(t) for t in on}
    return {str(t) for t in on} if isinstance(on, dict) else set()


def _job_text(job: Any) -> str:
    return yaml.safe_dump(job) if isinstance(job, dict) else ""


def _production_jobs(doc: dict[Any, Any]) -> list[tuple[str, dict[Any, Any]]]:
    jobs = doc.get("jobs") or {}
    out = []
    for name, job in jobs.items() if isinstance(jobs, dict) else []:
        text = _job_text(job)
        if DEPLOY.search(text) and (PRODUCTION.search(text) or PRODUCTION.search(str(name))):
            out.append((str(name), job))
    return out


def _environment(job: dict[Any, Any]) -> str:
    env = job.get("environment")
    return str(env.get("name", "")) if isinstance(env, dict) else str(env or "")


def check_workflow_production(path: Path, text: str) -> Iterator[Violation]:
    try:
        doc = _workflow(text, path)
    except MalformedWorkflow as exc:
        yield Violation("(file)", str(exc))
        return
    jobs = _production_jobs(doc)
    if not jobs:
        raise NotApplicable("this workflow does not deploy to production")
    if _triggers(doc) == {"workflow_dispatch"}:
        return
    for name, job in jobs:
        if "prod" not in _environment(job).lower():
            yield Violation(f"jobs.{name}.environment",
                            f"job {name} deploys to production on {sorted(_triggers(doc))} "
                            "without a protected environment")


def check_workflow_sha_tags(path: Path, text: str) -> Iterator[Violation]:
    if not IMAGE_BUILD.search(text):
        raise NotApplicable("this workflow builds no image")
    if not SHA_TAG.search(text):
        yield Violation("jobs", "images are built without a commit-SHA tag (sha-<commit>)")


FileCheck = Callable[[Path, str], Iterator[Violation]]


@dataclass(frozen=True)
class AppRule:
    info: RuleInfo
    # Which files of the checkout the rule judges.
    files: Callable[[Path], list[Path]]
    check: FileCheck
    # Said when the checkout has none of those files.
    missing: str


def _walk(root: Path) -> Iterator[Path]:
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            if entry.name not in SKIP_DIRS:
                yield from _walk(entry)
        else:
            yield entry


def dockerfiles(root: Path) -> list[Path]:
    return [p for p in _walk(root) if p.name == "Dockerfile" or p.name.startswith("Dockerfile.")
            or p.name.endswith(".Dockerfile")]


def workflows(root: Path) -> list[Path]:
    folder = root / ".github" / "workflows"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))


def _single(name: str) -> Callable[[Path], list[Path]]:
    return lambda root: [root / name]


def _info(rule_id: str, title: str, hint: str) -> RuleInfo:
    return RuleInfo(rule_id, title, hint, "app-repo")


APP_RULES: tuple[AppRule, ...] = (
    AppRule(_info("APP-DOCKER-USER", "Images run as a non-root USER",
                  "add `USER node` (or another non-root user) to the final stage"),
            dockerfiles, check_docker_user, "no Dockerfile in the checkout"),
    AppRule(_info("APP-DOCKER-HEALTHCHECK", "Images declare a HEALTHCHECK",
                  "add HEALTHCHECK CMD ... probing /health (bff, backend) or / (frontend)"),
            dockerfiles, check_docker_healthcheck, "no Dockerfile in the checkout"),
    AppRule(_info("APP-DOCKER-PM-PINNED", "The package manager version is pinned",
                  "use pnpm@<version> (corepack prepare pnpm@9.x.y --activate), never @latest"),
            dockerfiles, check_docker_pm_pinned, "no Dockerfile in the checkout"),
    AppRule(_info("APP-DOCKER-LOCKFILE-FIRST", "Lock files are copied before sources",
                  "COPY package.json pnpm-lock.yaml first, install, then COPY the sources"),
            dockerfiles, check_docker_lockfile_first, "no Dockerfile in the checkout"),
    AppRule(_info("APP-DOCKERIGNORE", ".dockerignore excludes node_modules, .git and dist",
                  "add node_modules, .git and dist to .dockerignore"),
            _single(".dockerignore"), check_dockerignore, "no .dockerignore at the root"),
    AppRule(_info("APP-ENV-SAMPLE", ".env.sample lists the variables the seed names",
                  "add the missing variables with empty or example values"),
            _single(".env.sample"), check_env_sample, "no .env.sample at the root"),
    AppRule(_info("APP-WORKFLOW-PROD-GATED", "Production deploys need dispatch or approval",
                  "trigger production deploys by workflow_dispatch only, or give the "
                            "job `environment: production` with required reviewers"),
            workflows, check_workflow_production, "no workflows in .github/workflows"),
    AppRule(_info("APP-WORKFLOW-SHA-TAGS", "Images are tagged with the commit SHA",
                  "tag images sha-${{ github.sha }} (or docker/metadata-action type=sha)"),
            workflows, check_workflow_sha_tags, "no workflows in .github/workflows"),
)


@dataclass(frozen=True)
class AppCase:
    info: RuleInfo
    subject: str
    run: Callable[[], list[Finding]]

    @property
    def id(self) -> str:
        return f"{self.info.id}:{self.subject}"


def _case(rule: AppRule, root: Path, file: Path | None) -> AppCase:
    repo = root.name
    if file is None or not file.is_file():
        subject = f"app:{repo}/{file.relative_to(root) if file else '(files)'}"

        def missing() -> list[Finding]:
            return findings(rule.info, subject, [Violation("(file)", rule.missing)])
        return AppCase(rule.info, subject, missing)
    rel = file.relative_to(root)
    subject = f"app:{repo}/{rel}"

    def run() -> list[Finding]:
        text = file.read_text(encoding="utf-8", errors="replace")
        return findings(rule.info, subject, rule.check(file, text), str(file))
    return AppCase(rule.info, subject, run)


def app_cases(root: Path) -> list[AppCase]:
    root = root.expanduser()
    if not root.is_dir():
        raise ConfigError(f"--app-repo {root}: no such directory")
    root = root.resolve()
    out: list[AppCase] = []
    for rule in APP_RULES:
        files = rule.files(root)
        out.extend(_case(rule, root, f) for f in files) if files else out.append(
            _case(rule, root, None))
    return out


def evaluate_app(root: Path) -> list[Finding]:
    out: list[Finding] = []
    for case in app_cases(root):
        try:
            out.extend(case.run())
        except NotApplicable:
            continue
    return out
