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
from vvgate.gates.run import report_dir_of
from vvgate.paths import PROJECT_ROOT
from vvgate.report import sarif
from vvgate.rules.app_repo import APP_RULES, AppCase, app_cases
from vvgate.rules.engine import Case, cases, load_trees
from vvgate.rules.manifest import ALL_RULES
from vvgate.rules.model import Finding, NotApplicable, Settings
from vvgate.rules.schema_validation import DEFAULT_VERSION

DEFAULT_MANIFESTS = PROJECT_ROOT / "manifests"
SARIF_FILE = "findings.sarif"

_CASES = pytest.StashKey[list[Case]]()
_APP_CASES = pytest.StashKey[list[AppCase]]()
_FINDINGS = pytest.StashKey[list[Finding]]()
_ERROR = pytest.StashKey[str]()


def _exit(config: pytest.Config, exc: ConfigError) -> None:
    # pytest.exit inside a collector becomes a collection error per module; the
    # message is kept and the run ends once, after collection (see below).
    config.stash.setdefault(_ERROR, exc.one_line())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config) -> None:
    if _ERROR in config.stash:
        pytest.exit(f"vvgate: error: {config.stash[_ERROR]}", returncode=ConfigError.exit_code)


def manifest_cases(config: pytest.Config) -> list[Case]:
    if _CASES not in config.stash:
        option = config.getoption("manifests", None)
        path = Path(option) if option else DEFAULT_MANIFESTS
        try:
            config.stash[_CASES] = cases(load_trees(path))
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


def _param(case: Case | AppCase) -> Any:
    phase = case.phase if isinstance(case, Case) else case.info.phase
    return pytest.param(case, id=case.id, marks=[getattr(pytest.mark, phase)])


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
                None, id=rule.info.id, marks=[getattr(pytest.mark, rule.info.phase),
                                              pytest.mark.skip(reason=reason)])
                for rule in APP_RULES])
        else:
            metafunc.parametrize("app_case", [_param(c) for c in found])


@pytest.fixture(scope="session")
def rule_settings(request: pytest.FixtureRequest) -> Settings:
    """The profile's facts the rules use; defaults when no profile plugin is active."""
    try:
        profile = request.getfixturevalue("profile")
    except pytest.FixtureLookupError:
        return Settings(DEFAULT_VERSION)
    kube = profile.kubernetes
    return Settings(
        k8s_version=kube.version if kube else DEFAULT_VERSION,
        profile_name=profile.name,
        host=profile.host,
        namespace=kube.namespace if kube else None,
        storage_class=kube.storage_class if kube else None,
        image_registries=profile.image_registries,
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
    if _CASES not in config.stash and _APP_CASES not in config.stash:
        return
    target = report_dir_of(config)
    if target is None:
        return
    rules = [r.info for r in ALL_RULES] + [r.info for r in APP_RULES]
    sarif.write(target / SARIF_FILE, config.stash.get(_FINDINGS, []), rules, PROJECT_ROOT)
