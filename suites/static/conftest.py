"""Collection of the static gate: render each tree once, one test per (rule, object).

Tests are generated at collection time from the rendered trees, so the report
reads like a lint table. Findings are also written as SARIF next to the gate
report (findings.sarif) for code-scanning upload.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vvgate.errors import ConfigError
from vvgate.gates.plugin import OFFLINE_PROFILE
from vvgate.gates.run import RUN, report_dir_of
from vvgate.paths import PROJECT_ROOT
from vvgate.report import sarif
from vvgate.rules.admission import AdmissionJudge
from vvgate.rules.app_repo import APP_RULES, AppCase, app_cases
from vvgate.rules.engine import Case, cases, load_trees
from vvgate.rules.manifest import ALL_RULES
from vvgate.rules.manifest.plan_expectations import profile_overlay
from vvgate.rules.manifest.pod_security import RULE_ID
from vvgate.rules.model import Finding, ManifestObject, NotApplicable, RuleInfo, Settings
from vvgate.rules.schema_validation import DEFAULT_VERSION

DEFAULT_MANIFESTS = PROJECT_ROOT / "manifests"
SARIF_FILE = "findings.sarif"

_CASES = pytest.StashKey[list[Case]]()
_APP_CASES = pytest.StashKey[list[AppCase]]()
_FINDINGS = pytest.StashKey[list[Finding]]()
_ERROR = pytest.StashKey[str]()
_TREE_NAMES = pytest.StashKey[list[str]]()
_JUDGE = pytest.StashKey[AdmissionJudge]()


def _exit(config: pytest.Config, exc: ConfigError) -> None:
    # pytest.exit inside a collector becomes a collection error per module; the
    # message is kept and the run ends once, after collection (see below).
    config.stash.setdefault(_ERROR, exc.one_line())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _ERROR in config.stash:
        pytest.exit(f"vvgate: error: {config.stash[_ERROR]}", returncode=ConfigError.exit_code)
    # Pod Security's verdicts come from a server that takes a second or two to start: its
    # checks run last, so every other check runs meanwhile instead of waiting behind them.
    items.sort(key=lambda item: _pod_security_case(item) is not None)


def manifest_cases(config: pytest.Config) -> list[Case]:
    if _CASES not in config.stash:
        option = config.getoption("manifests", None)
        path = Path(option) if option else DEFAULT_MANIFESTS
        try:
            trees = load_trees(path)
            config.stash[_TREE_NAMES] = [t.name for t in trees]
            config.stash[_CASES] = cases(trees)
        except ConfigError as exc:
            _exit(config, exc)
            config.stash[_CASES] = []
    return config.stash[_CASES]


def repo_cases(config: pytest.Config) -> list[AppCase] | None:
    option = config.getoption("app_repo", None)
    if not option:
        return None
    if _APP_CASES not in config.stash:
        try:
            config.stash[_APP_CASES] = app_cases(Path(option))
        except ConfigError as exc:
            _exit(config, exc)
            config.stash[_APP_CASES] = []
    return config.stash[_APP_CASES]


def _claims(info: RuleInfo, plan: tuple[str, ...] | None = None) -> pytest.MarkDecorator:
    """The plan items a rule's cases verify; the rule id names the check in the plan's
    coverage."""
    return pytest.mark.plan(*(plan or info.plan), check=info.id)


def _param(case: Case | AppCase) -> Any:
    plan = case.plan if isinstance(case, Case) else None
    return pytest.param(case, id=case.id, marks=[_claims(case.info, plan)])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "manifest_case" in metafunc.fixturenames:
        category = metafunc.module.CATEGORY
        chosen = [c for c in manifest_cases(metafunc.config) if c.info.category == category]
        metafunc.parametrize("manifest_case", [_param(c) for c in chosen])
    if "app_case" in metafunc.fixturenames:
        found = repo_cases(metafunc.config)
        if found is None:
            reason = "no --app-repo given: the application checkout checks did not run"
            metafunc.parametrize("app_case", [pytest.param(
                None, id=rule.info.id, marks=[_claims(rule.info), pytest.mark.skip(reason=reason)])
                for rule in APP_RULES])
        else:
            metafunc.parametrize("app_case", [_param(c) for c in found])


def pod_judge(config: pytest.Config) -> AdmissionJudge:
    """The run's one Pod Security judge (its version and notes come with the run, below)."""
    if _JUDGE not in config.stash:
        config.stash[_JUDGE] = AdmissionJudge(DEFAULT_VERSION)
    return config.stash[_JUDGE]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # The judge's server takes a second or two to come up: launch it first, so it does while
    # the gate plugin loads the profile and the trees render and the other checks run.
    if not config.option.collectonly:
        pod_judge(config).prepare()


def pytest_sessionstart(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    kube = run.profile.kubernetes if run else None
    pod_judge(session.config).attach(kube.version if kube else DEFAULT_VERSION,
                                     run.notes.append if run else lambda note: None)


def _pod_security_case(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("manifest_case") if callspec is not None else None
    return case if isinstance(case, Case) and case.info.id == RULE_ID else None


def _selected_pods(items: list[pytest.Item]) -> list[ManifestObject]:
    """The workloads whose Pod Security cases survived selection."""
    cases = (_pod_security_case(item) for item in items)
    return [case.obj for case in cases if case is not None and case.obj is not None]


def pytest_collection_finish(session: pytest.Session) -> None:
    pods = _selected_pods(session.items)
    if pods and not session.config.option.collectonly:
        pod_judge(session.config).judge_ahead(pods)
    else:
        pod_judge(session.config).close()  # no Pod Security case survived selection


@pytest.fixture(scope="session")
def rule_settings(request: pytest.FixtureRequest) -> Settings:
    """The profile's facts the rules use (defaults when no profile plugin is active), and the
    admission code that judges Pod Security."""
    judge = pod_judge(request.config)
    try:
        profile = request.getfixturevalue("profile")
    except pytest.FixtureLookupError:
        return Settings(DEFAULT_VERSION, pod_security=judge)
    if profile is OFFLINE_PROFILE:
        # No target named: each overlay is held to the seed's values for its own name, not
        # to the stand-in's placeholder host.
        return Settings(DEFAULT_VERSION, pod_security=judge)
    kube = profile.kubernetes
    names = request.config.stash.get(_TREE_NAMES, [])
    return Settings(
        k8s_version=kube.version if kube else DEFAULT_VERSION,
        profile_overlay=profile_overlay(names, profile.kind.value, profile.name),
        profile_kind=profile.kind.value,
        cluster_issuer=kube.cluster_issuer if kube else None,
        host=profile.host,
        namespace=kube.namespace if kube else None,
        storage_class=kube.storage_class if kube else None,
        image_registries=profile.image_registries,
        pod_security=judge,
    )


def _record(config: pytest.Config, found: list[Finding]) -> None:
    config.stash.setdefault(_FINDINGS, []).extend(found)


def _verdict(found: list[Finding]) -> None:
    if found:
        pytest.fail("\n".join(f.line() for f in found), pytrace=False)


@pytest.fixture
def judge(request: pytest.FixtureRequest, rule_settings: Settings) -> Callable[[Case], None]:
    def run(case: Case) -> None:
        try:
            found = case.run(rule_settings)
        except NotApplicable as exc:
            pytest.skip(f"{case.info.id}: {exc}")
        _record(request.config, found)
        _verdict(found)
    return run


@pytest.fixture
def judge_app(request: pytest.FixtureRequest) -> Callable[[AppCase], None]:
    def run(case: AppCase) -> None:
        try:
            found = case.run()
        except NotApplicable as exc:
            pytest.skip(f"{case.info.id}: {exc}")
        _record(request.config, found)
        _verdict(found)
    return run


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _JUDGE in config.stash:
        config.stash[_JUDGE].close()
    if _CASES not in config.stash and _APP_CASES not in config.stash:
        return
    target = report_dir_of(config)
    if target is None:
        return
    rules = [r.info for r in ALL_RULES] + [r.info for r in APP_RULES]
    sarif.write(target / SARIF_FILE, config.stash.get(_FINDINGS, []), rules, PROJECT_ROOT)
