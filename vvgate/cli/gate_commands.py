"""`vvgate`: run the release gate against a target, list targets, drive the local target."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest

from vvgate.cli import load_command, plan_command
from vvgate.cli.main import run_local
from vvgate.errors import ConfigError
from vvgate.gates.catalog import GATES, unknown_gates
from vvgate.gates.run import RUN
from vvgate.gates.verdicts import ExitCode
from vvgate.paths import PROJECT_ROOT, SUITES_DIR
from vvgate.targets.profile import TARGET_ENV, list_profiles, load_profile, profile_name

GATE_EXIT_CODES = {int(c) for c in ExitCode if c is not ExitCode.CONFIG_ERROR}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vvgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser(
        "run", help="run the gate suites against a target and write reports",
        usage="vvgate run --target T [options] [PATHS ...] [-- PYTEST ARGS ...]",
        epilog="Whatever follows `--` goes to pytest unchanged, e.g. "
               "`vvgate run --target staging -- -x -k tls`.")
    env_target = os.environ.get(TARGET_ENV) or None
    run.add_argument("--target", required=env_target is None, default=env_target,
                     help=f"profile name (targets/NAME.yaml) or path (default: ${TARGET_ENV})")
    run.add_argument("--smoke", action="store_true", help="only the fast smoke subset")
    run.add_argument("--gate", action="append", default=[], help="only this gate; repeatable")
    run.add_argument("--report-dir", help="parent folder of per-run reports (default reports/)")
    run.add_argument("--manifests", help="Kustomize overlay or manifests root for the static gate")
    run.add_argument("--app-repo", help="application checkout for the static gate")
    run.add_argument("paths", nargs="*", help="suite paths (default: by target kind)")

    sub.add_parser("targets", help="list and validate target profiles")

    load_command.add_parser(sub)
    plan_command.add_parser(sub)

    local = sub.add_parser("local", help="the local embedded target (up, down, status, logs, "
                                         "faults)", add_help=False)
    local.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def default_paths(kind: str) -> list[Path]:
    """Every target gets the static and live suites; production adds its own read-only checks.

    Against production the live suite is read-only: destructive checks are
    deselected and checks that need synthetic users skip with the reason.
    """
    paths = [SUITES_DIR / "static", SUITES_DIR / "staging"]
    if kind == "production":
        paths.append(SUITES_DIR / "production")
    return paths


class _RunCapture:
    """Picks up the finished run's report folder from inside pytest."""

    def __init__(self) -> None:
        self.report_dir: Path | None = None
        self.error: str | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        run = session.config.stash.get(RUN, None)
        if run is not None:
            self.report_dir = run.report_dir
            self.error = run.error


def cmd_run(args: argparse.Namespace) -> int:
    profile = load_profile(args.target)
    unknown = unknown_gates(args.gate)
    if unknown:
        raise ConfigError(f"unknown gate {unknown[0]!r}; known gates: {', '.join(GATES)}")
    paths = [Path(p) for p in args.paths] or default_paths(profile.kind.value)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"suite path {missing[0]} does not exist")
    for option in ("manifests", "app_repo"):
        given = getattr(args, option)
        if given and not Path(given).expanduser().exists():
            raise ConfigError(f"--{option.replace('_', '-')} {given} does not exist")
    pytest_args: list[str] = [
        *map(str, paths),
        "-p", "vvgate.gates.plugin",
        "-c", str(PROJECT_ROOT / "pyproject.toml"),
        "--rootdir", str(PROJECT_ROOT),
        "--target", args.target,
    ]
    for gate in args.gate:
        pytest_args += ["--gate", gate]
    if args.smoke:
        pytest_args += ["-m", "smoke"]
    for option in ("report_dir", "manifests", "app_repo"):
        value = getattr(args, option)
        if value:
            pytest_args += [f"--{option.replace('_', '-')}", value]
    pytest_args += args.pytest_args
    capture = _RunCapture()
    code = int(pytest.main(pytest_args, plugins=[capture]))
    if capture.report_dir is not None:
        print(f"vvgate: report: {capture.report_dir / 'report.html'}")
        print(f"vvgate: gates:  {capture.report_dir / 'gates.json'}")
    if capture.error is not None:
        raise ConfigError(capture.error)
    # pytest's own usage and internal errors are configuration problems to the user
    return code if code in GATE_EXIT_CODES else ConfigError.exit_code


def cmd_targets(_: argparse.Namespace) -> int:
    bad = 0
    rows: list[tuple[str, ...]] = [("target", "kind", "host", "file", "status")]
    for path in list_profiles():
        name = profile_name(path)
        try:
            p = load_profile(str(path))
            rows.append((name, p.kind.value, p.host, _short(path), "ok"))
        except ConfigError as exc:
            bad += 1
            rows.append((name, "?", "?", _short(path), f"INVALID: {exc.one_line()}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return ConfigError.exit_code if bad else 0


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def cmd_local(args: argparse.Namespace) -> int:
    return run_local(args.args)


def cmd_load(args: argparse.Namespace) -> int:
    return load_command.cmd_load(args, cmd_run)


COMMANDS: dict[str, Any] = {"run": cmd_run, "targets": cmd_targets, "local": cmd_local,
                            "load": cmd_load, "plan": plan_command.cmd_plan}


def main(argv: list[str]) -> int:
    # `vvgate run ... -- -x -k tls` passes what follows `--` to pytest unchanged
    passthrough: list[str] = []
    if argv[:1] == ["run"] and "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    try:
        args = _parser().parse_args(argv)
        args.pytest_args = passthrough
        return int(COMMANDS[args.command](args))
    except ConfigError as exc:
        print(f"vvgate: error: {exc.one_line()}", file=sys.stderr)
        return ConfigError.exit_code
