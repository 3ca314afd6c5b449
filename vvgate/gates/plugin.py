"""The gate plugin: targets, gate bookkeeping, deselection, redaction and reports.

Active for every run of the suites (and any run given --target); inert for the
project's own selftests under tests/, which start suite runs as subprocesses.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import logging
import os
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from vvgate.errors import ConfigError
from vvgate.gates import termination
from vvgate.gates.catalog import GATES, PHASES, unknown_gates
from vvgate.gates.inconclusive import MARKER, is_inconclusive
from vvgate.gates.run import EVIDENCE, ITEM_REPORTS, RUN, GateRun, gate_of
from vvgate.gates.verdicts import FAILED, INCONCLUSIVE, PASSED, SKIPPED, Outcome, tally
from vvgate.paths import DEFAULT_REPORTS_DIR, SELFTESTS_DIR, SUITES_DIR
from vvgate.plan import coverage_index
from vvgate.plan.items import load_plan
from vvgate.plan.states import RunChecks, plan_markdown, trace
from vvgate.report.evidence import Evidence
from vvgate.report.redaction import RedactingFilter, redact
from vvgate.report.run_dir import create_run_dir, point_latest
from vvgate.report.summary import gates_document, markdown, write_json
from vvgate.targets import preflight
from vvgate.targets.profile import TARGET_ENV, Kind, Profile, load_profile
from vvgate.targets.secret_store import SecretStore

# The outcome and report hooks load wherever the plugin does. Order matters: the outcome
# hooks' report wrapper must sit inside the redaction hooks' one.
pytest_plugins = ["vvgate.gates.outcome_hooks", "vvgate.report.redaction_hooks",
                  "vvgate.report.html_hooks", "vvgate.plan.hooks"]
# The suites' fixtures live in the checkout's fixtures/ package, on sys.path through the
# pytest `pythonpath` setting. The root conftest.py registers them for runs in this tree;
# a suite outside it gets them from here.
FIXTURES_PACKAGE = "fixtures"

REPORT_CSS = Path(__file__).parents[1] / "report" / "style.css"
DEFAULT_TARGET = "local"
RESTORE_SIGTERM = pytest.StashKey[termination.Restore]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vvgate", "Vinyl Vault release gate")
    group.addoption("--target", help=f"target profile name or path (env {TARGET_ENV}; "
                                     f"default {DEFAULT_TARGET})")
    group.addoption("--report-dir", help="parent folder of per-run reports (default reports/)")
    group.addoption("--gate", action="append", default=[], dest="gate",
                    help="run only this gate; repeatable")
    group.addoption("--manifests", help="Kustomize overlay or manifests root to check statically")
    group.addoption("--app-repo", dest="app_repo", help="application checkout to check statically")
    group.addoption("--keep", action="store_true", help="leave deployed objects in place")


def _register_markers(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "smoke: fast checks that the deployment is up and secure")
    config.addinivalue_line("markers", f"gate(name): the release gate a check belongs to; one of "
                                       f"{', '.join(GATES)}")
    config.addinivalue_line("markers", "destructive: changes or exhausts state on the target")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    for phase in PHASES:
        config.addinivalue_line("markers", f"{phase}: deployment-plan {phase}")


def _all_args_within(config: pytest.Config, folder: Path) -> bool:
    """Whether every path the run was given lies in `folder` (no paths: `suites`)."""
    args = [a.split("::")[0] for a in config.args] or ["suites"]
    paths = [Path(config.invocation_params.dir, a).resolve() for a in args]
    return all(p == folder or folder in p.parents for p in paths)


def _is_selftest_run(config: pytest.Config) -> bool:
    return not config.getoption("target") and _all_args_within(config, SELFTESTS_DIR)


def _static_only(config: pytest.Config) -> bool:
    return _all_args_within(config, SUITES_DIR / "static")


# The static suite needs no live target: without an explicit one it checks the
# manifests against this stand-in instead of demanding a running local target.
OFFLINE_PROFILE = Profile(name="offline", kind=Kind.LOCAL, host="offline.invalid",
                          base_url="https://offline.invalid")


def _fail_config(message: str) -> None:
    pytest.exit(f"vvgate: error: {message}", returncode=ConfigError.exit_code)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _register_markers(config)
    if _is_selftest_run(config):
        return
    for name in importlib.import_module(FIXTURES_PACKAGE).PLUGINS:
        config.pluginmanager.import_plugin(name)
    explicit = config.getoption("target") or os.environ.get(TARGET_ENV)
    try:
        profile = load_profile(explicit or DEFAULT_TARGET)
    except ConfigError as exc:
        if explicit or not _static_only(config):
            _fail_config(exc.one_line())
            return
        profile = OFFLINE_PROFILE
    gates = config.getoption("gate")
    unknown = unknown_gates(gates)
    if unknown:
        _fail_config(f"unknown gate {unknown[0]!r}; known gates: {', '.join(GATES)}")
    app_repo = config.getoption("app_repo")
    # graphql-core, httpx and the rest of what reads a schema cost a static run a tenth of its
    # time: imported only here, after the static suite's Pod Security server was launched.
    from vvgate.access import schema_source

    try:
        schema = schema_source.load(profile, Path(app_repo) if app_repo else None)
    except ConfigError as exc:
        _fail_config(exc.one_line())
        return
    parent = Path(config.getoption("report_dir") or DEFAULT_REPORTS_DIR)
    run = GateRun(profile, Path(), list(dict.fromkeys(gates)), SecretStore(profile))
    run.schema = schema
    run.notes.extend(profile.notes)
    run.notes.append(schema.note)
    try:
        run.report_dir = create_run_dir(parent, profile.name, run.started)
    except OSError as exc:
        _fail_config(f"cannot create a report folder under --report-dir {parent}: "
                     f"{exc.strerror or exc}")
        return
    config.stash[RUN] = run
    config.stash[RESTORE_SIGTERM] = termination.install()
    # Both plugins read these options in their own pytest_configure, which runs after ours.
    config.option.htmlpath = str(run.report_dir / "report.html")
    config.option.self_contained_html = True
    config.option.css = [*(config.getoption("css") or []), str(REPORT_CSS)]
    config.option.xmlpath = str(run.report_dir / "junit.xml")


def pytest_sessionstart(session: pytest.Session) -> None:
    if RUN not in session.config.stash:
        return
    logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    for name in ("caplog_handler", "report_handler", "log_cli_handler", "log_file_handler"):
        handler = getattr(logging_plugin, name, None)
        if isinstance(handler, logging.Handler):
            handler.addFilter(RedactingFilter())


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    problems = []
    for item in items:
        try:
            gate_of(item)
        except ConfigError as exc:
            problems.append(exc.one_line())
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        run.error = problems[0] + more
        _fail_config(run.error)
    keep, dropped = [], []
    read_only = run.profile.production or not run.profile.allow_destructive
    for item in items:
        wanted = not run.requested_gates or gate_of(item) in run.requested_gates
        if not wanted or (read_only and item.get_closest_marker("destructive")):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    destructive = sum(1 for i in dropped if i.get_closest_marker("destructive"))
    if read_only and destructive:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            why = "production" if run.profile.production else "allow_destructive is false"
            reporter.write_line(f"vvgate: deselected {destructive} destructive check(s): "
                                f"target {run.profile.name!r} is read-only ({why})")


def pytest_collection_finish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    # pytest calls this even when collection was stopped by a configuration error; a
    # collect-only run (vvgate plan --write-index) reaches nothing.
    if run is None or not session.items or run.error is not None \
            or session.config.option.collectonly:
        return
    try:
        run.selected = dict(Counter(gate_of(i) for i in session.items))
        preflight.run(run.profile, set(run.selected), run.secrets)
    except ConfigError as exc:
        run.error = exc.one_line()
        _fail_config(run.error)


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        # the outcome itself is recorded apart; its name in front of the reason is noise
        return str(longrepr[2]).removeprefix("Skipped: ").removeprefix(MARKER)
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(longrepr or "")


def _outcome(reports: list[pytest.TestReport]) -> tuple[str, str]:
    """A check's outcome over its set-up, call and clean-up: a failure anywhere wins, then
    an inconclusive phase, then a skip."""
    failed = next((r for r in reports if r.failed), None)
    if failed is not None:
        return FAILED, _message(failed)
    unsure = next((r for r in reports if is_inconclusive(r)), None)
    if unsure is not None:
        return INCONCLUSIVE, _message(unsure)
    skipped = next((r for r in reports if r.skipped), None)
    if skipped is not None:
        return SKIPPED, _message(skipped)
    return PASSED, ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, Any, None]:
    run = item.config.stash.get(RUN, None)
    if run is not None:
        item.stash[ITEM_REPORTS] = []
        # Whatever the check and its fixtures record, set-up included, is its evidence.
        run.current_evidence = item.stash[EVIDENCE] = Evidence()
    yield
    if run is None:
        return
    run.current_evidence = None
    reports = item.stash.get(ITEM_REPORTS, [])
    # A check cut short by an interrupt has no clean-up report: it did not finish.
    if not any(r.when == "teardown" for r in reports):
        return
    status, message = _outcome(reports)
    duration = sum(r.duration for r in reports)
    run.outcomes[item.nodeid] = Outcome(item.nodeid, gate_of(item), status, duration, message)


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # pytest reports collection errors (Session.Interrupted) and pytest.exit here too.
    if not isinstance(excinfo.value, pytest.Session.Interrupted | pytest.exit.Exception):
        termination.note_keyboard_interrupt()


def _finish(session: pytest.Session, run: GateRun) -> None:
    pytest_status = int(session.exitstatus)
    run.interrupted_by = termination.interrupted_by()
    interrupted = run.interrupted_by is not None
    run.result = tally(run.profile, list(run.outcomes.values()), run.requested_gates,
                       dt.date.today(), run.selected, interrupted=interrupted)
    if run.error is not None or (pytest_status not in (0, 1, 5) and not interrupted):
        run.exit_code = ConfigError.exit_code if run.error else pytest_status
    elif pytest_status == 5 and not run.requested_gates:
        run.error = "no checks were selected (check the paths, -m and --gate)"
        run.exit_code = ConfigError.exit_code
    else:
        run.exit_code = int(run.result.exit_code)
    finished = dt.datetime.now(dt.UTC)
    document = gates_document(
        run.profile,
        run.result,
        {
            "id": run.run_id,
            "started_at": run.started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - run.started_monotonic, 3),
            "report_dir": str(run.report_dir),
            "files": {"html": "report.html", "junit": "junit.xml", "gates": "gates.json"},
            "args": [redact(a) for a in session.config.invocation_params.args],
            "markexpr": session.config.option.markexpr or None,
            "requested_gates": run.requested_gates,
            "pytest_exit_status": pytest_status,
            "interrupted_by": run.interrupted_by,
            "counters": run.counters,
            "https_trust": run.https_trust,
            "notes": run.notes,
        },
        run.exit_code,
        run.error,
    )
    run.plan = trace(load_plan(), RunChecks(run.plan_claims, run.plan_deselected, run.outcomes,
                                            coverage_index.read()))
    document["plan"] = run.plan.document()
    write_json(run.report_dir / "gates.json", document)
    point_latest(run.report_dir.parent, run.report_dir)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(markdown(run.profile, run.result, run.exit_code, str(run.report_dir)))
            fh.write(plan_markdown(run.plan))
    session.exitstatus = run.exit_code


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None:
        _finish(session, run)


def pytest_unconfigure(config: pytest.Config) -> None:
    restore = config.stash.get(RESTORE_SIGTERM, None)
    if restore is not None:
        restore()
    if RUN in config.stash:
        # The run is over and its reports written. What it holds (schemas, clients, a report
        # per check) goes with the process; frozen, the interpreter's last collections skip
        # it, which spares a static run a fifth of its time.
        gc.freeze()
