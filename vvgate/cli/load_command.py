"""`vvgate load`: the load gate alone, with the run shape from the command line.

Caps and the baseline are checked here, before pytest starts, so a refused run costs nothing
and exits 2; the run itself is the gate's own suite module, so reports match `vvgate run`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vvgate.errors import ConfigError
from vvgate.load import plan as load_plan
from vvgate.load.thresholds import read_baseline
from vvgate.paths import DEFAULT_REPORTS_DIR, SUITES_DIR
from vvgate.targets.profile import load_profile

LOAD_SUITE = SUITES_DIR / "staging" / "test_load.py"
ENV = {"users": "VVGATE_LOAD_USERS", "duration": "VVGATE_LOAD_DURATION",
       "force": "VVGATE_LOAD_FORCE", "baseline": "VVGATE_LOAD_BASELINE"}


def add_parser(sub: Any) -> None:
    """Adds `load` to vvgate's subcommands (`sub` is its argparse subparsers action)."""
    load = sub.add_parser("load", help="run the load gate alone (Locust, bounded by caps)")
    load.add_argument("--target", required=True, help="profile name (targets/NAME.yaml) or path")
    load.add_argument("--users", type=int, help="concurrent users (default: the profile's)")
    load.add_argument("--duration", help="run time: seconds, or e.g. 90s, 2m, 1m30s")
    load.add_argument("--force", action="store_true", help="run even beyond the profile's caps")
    load.add_argument("--baseline", help="gates.json of an earlier run: fail on p95 regressions")
    load.add_argument("--report-dir", help="parent folder of per-run reports (default reports/)")


def cmd_load(args: argparse.Namespace, run_gate: Callable[[argparse.Namespace], int]) -> int:
    profile = load_profile(args.target)
    if profile.load is None:
        raise ConfigError(f"target {profile.name!r} has no 'load' section")
    duration = load_plan.parse_duration(args.duration) if args.duration else None
    shape = load_plan.shape(profile.load, args.users, duration, args.force)
    baseline = Path(args.baseline).resolve() if args.baseline else None
    if baseline is not None:
        read_baseline(baseline)
    print(f"vvgate: load: {shape.users} users x {shape.user_rate:g} journeys/s for "
          f"{shape.duration_s} s, at most {shape.max_requests} requests"
          + (" (FORCED past the caps)" if shape.forced else ""))
    values = {"users": str(shape.users), "duration": str(shape.duration_s),
              "force": "1" if args.force else "", "baseline": str(baseline or "")}
    os.environ.update({ENV[k]: v for k, v in values.items()})
    gate_args = argparse.Namespace(
        target=args.target, smoke=False, gate=["load"], report_dir=args.report_dir,
        manifests=None, app_repo=None, paths=[str(LOAD_SUITE)], pytest_args=[])
    code = run_gate(gate_args)
    if code != ConfigError.exit_code:  # a verdict, so `latest` is this run's folder
        parent = Path(args.report_dir) if args.report_dir else DEFAULT_REPORTS_DIR
        print(endpoint_table(parent / "latest" / "gates.json"))
    return code


def endpoint_table(gates_json: Path) -> str:
    """The load figures of a finished run, for the terminal (the report has the same table)."""
    try:
        gates = json.loads(gates_json.read_text("utf-8"))["gates"]
        data = next(g for g in gates if g["name"] == "load")["data"]
        rows = data["endpoints"]
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return "vvgate: load: no figures (the run stopped before Locust finished)"
    lines = [f"{'endpoint':<20} {'requests':>8} {'fail':>5} {'429':>4} {'p50':>6} {'p95':>6} "
             f"{'p99':>6} {'rps':>7}  verdict"]
    for name, r in rows.items():
        lines.append(f"{name:<20} {r['requests']:>8} {r['failures']:>5} {r['rate_limited']:>4} "
                     f"{r['p50_ms']:>6.0f} {r['p95_ms']:>6.0f} {r['p99_ms']:>6.0f} "
                     f"{r['rps']:>7.2f}  {r['verdict']}")
    if data.get("stop_reason"):
        lines.append(f"stopped: {data['stop_reason']}")
    return "\n".join(lines)
