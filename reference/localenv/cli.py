"""Argument parsing for `python -m reference.localenv` (what `vvgate local` runs)."""

from __future__ import annotations

import argparse
import sys

from reference import dialects, faults
from reference.localcluster import hook as cluster
from reference.localenv import lifecycle, report, state


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line and exit 2, like every other failure of this command.
        sys.stderr.write(f"vvgate local: {message}\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vvgate local", description="Run the reference target locally.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    up = sub.add_parser("up", help="start (or reconcile) the local target")
    up.add_argument("--fault", default=None, help="comma-separated fault switches (see `faults`)")
    up.add_argument("--dialect", default=None,
                    help="comma-separated dialects, or `all` (see `dialects`)")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
    up.add_argument("--https-port", type=int, default=None, help="pin the HTTPS port")
    up.add_argument("--http-port", type=int, default=None, help="pin the HTTP port")
    up.add_argument("--cluster", action="store_true",
                    help="also start the local Kubernetes control plane (reference/localcluster)")
    up.add_argument("--node", action="store_true",
                    help="with --cluster: also run one real node (containerd, kubelet, "
                         "kube-proxy, kube-router, CoreDNS) beside the kwok nodes; root only, "
                         "one per machine (scripts/bootstrap-node, scripts/bootstrap-cluster)")
    down = sub.add_parser("down", help="stop everything the local target started")
    down.add_argument("--purge", action="store_true", help="also delete data, CA and secrets")
    sub.add_parser("status", help="each component's PID, port and health")
    logs = sub.add_parser("logs", help="tail component logs")
    logs.add_argument("component", nargs="?")
    logs.add_argument("-n", "--lines", type=int, default=40)
    sub.add_parser("faults", help="list the fault switches and the gate each trips")
    sub.add_parser("dialects", help="list the dialects: how a correct deployment may differ")
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "up" and args.node and not args.cluster:
        parser.error("--node needs --cluster (the node joins the local cluster)")
    try:
        if args.command == "up":
            pins = {k: v for k, v in (("https", args.https_port), ("http", args.http_port))
                    if v is not None}
            if args.node:
                cluster.check_node()  # refuses before anything starts
            code = lifecycle.up(args.fault, args.timeout, pins, args.dialect)
            return cluster.up(args.timeout, args.node) if code == 0 and args.cluster else code
        if args.command == "down":
            return _down(args.purge)
        if args.command == "status":
            code = report.status()
            return 3 if code == 0 and cluster.status() is False else code
        if args.command == "logs":
            return report.logs(args.component, args.lines)
        if args.command == "dialects":
            return report.list_dialects()
        return report.list_faults()
    except (state.LocalEnvError, faults.UnknownFaultError,
            faults.ConflictingFaultsError, dialects.UnknownDialectError) as exc:
        sys.stderr.write(f"vvgate local: {exc}\n")
        return 2
    except KeyboardInterrupt:
        done = "; what this up started was stopped" if args.command == "up" else ""
        sys.stderr.write(f"vvgate local: interrupted{done}\n")
        return 2


def _down(purge: bool) -> int:
    """The cluster (and its node) first: --purge removes the cluster's state with the
    target's, which must not happen while the node still has mounts in it."""
    try:
        cluster.down()
    except state.LocalEnvError:
        lifecycle.down(purge=False)  # the target still stops; its data stays
        raise
    return lifecycle.down(purge)
