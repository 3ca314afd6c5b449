"""MongoDB in the local cluster's pods: SecantusDB behind mongod's flags, its root user made
as the official image's entrypoint makes it, its readiness probe, and the rs-init Jobs' local
form.

    reference/bin/mongod [--bind_ip_all | --bind_ip IP] [--port N] [--dbpath DIR] [--auth]
                         [--wiredTigerCacheSizeGB GB]
    python -m reference.mongo_entry ping [--port N]    # the readiness probe
    python -m reference.mongo_entry check-members      # the rs-init Jobs' local form

The server: on a volume this entrypoint has not provisioned yet, it starts SecantusDB with
auth off on 127.0.0.1 only, on a port of its own (SecantusDB has no localhost exception: users
are made with auth off), creates MONGO_INITDB_ROOT_USERNAME with MONGO_INITDB_ROOT_PASSWORD as
root, stops it and marks the volume; then it becomes the server (exec), with --auth, on the
pod's address. It never serves without auth beyond loopback, and it refuses what would: no
--noauth, and no credentials on a volume that has no user yet. As with the official image, the
credentials are read only on that first start; later starts keep the volume's user.

SecantusDB has no multi-member replica sets (--replSet is refused): each StatefulSet runs one
member, a standalone server, reached with directConnection=true. The rs-init Job therefore
initiates nothing; it waits for each member and shows that it answers only with auth.

Bad input is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from reference import mongo_users

MARKER = ".vvgate-initdb"  # on the volume, once its root user exists
CONFIG = ".vvgate-secantusd.toml"
PORT = 27017
DBPATH = "/data/db"  # the official image's, where the StatefulSet mounts its claim
ROOT_ROLES = [{"role": "root", "db": "admin"}]
UNAUTHORIZED = 13
# How long the rs-init Job waits for a member before it fails (the Job then retries it).
MEMBER_WAIT_S = 300.0


class UsageError(Exception):
    """Bad input: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    dbpath: Path
    cache_size: str


def parse_server(argv: list[str]) -> Server:
    parser = _Parser(prog="mongod", add_help=False, allow_abbrev=False)
    parser.add_argument("--bind_ip_all", action="store_true")
    parser.add_argument("--bind_ip")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--dbpath", default=DBPATH)
    parser.add_argument("--auth", action="store_true")  # always on; accepted as mongod does
    parser.add_argument("--wiredTigerCacheSizeGB", type=float, default=0.25)
    parser.add_argument("--noauth", action="store_true")
    parser.add_argument("--replSet")
    args = parser.parse_args(argv)
    if args.noauth:
        raise UsageError("--noauth: this server never runs without authentication")
    if args.replSet is not None:
        raise UsageError("--replSet: SecantusDB has no multi-member replica sets; run one "
                         "member, standalone, and connect with directConnection=true")
    if args.bind_ip_all and args.bind_ip:
        raise UsageError("--bind_ip_all and --bind_ip exclude each other")
    if args.bind_ip and "," in args.bind_ip:
        raise UsageError(f"--bind_ip {args.bind_ip}: one address only")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number")
    if args.wiredTigerCacheSizeGB <= 0:
        raise UsageError("--wiredTigerCacheSizeGB must be above 0")
    host = "0.0.0.0" if args.bind_ip_all else (args.bind_ip or "127.0.0.1")
    return Server(host, args.port, Path(args.dbpath),
                  f"{max(1, round(args.wiredTigerCacheSizeGB * 1024))}M")


def provisioned(dbpath: Path) -> bool:
    return (dbpath / MARKER).is_file()


def root_credentials(env: Mapping[str, str]) -> tuple[str, str]:
    user = env.get("MONGO_INITDB_ROOT_USERNAME", "")
    password = env.get("MONGO_INITDB_ROOT_PASSWORD", "")
    for name, value in (("MONGO_INITDB_ROOT_USERNAME", user),
                        ("MONGO_INITDB_ROOT_PASSWORD", password)):
        if not value:
            raise UsageError(f"{name} is not set, and the volume has no user yet: this server "
                             "does not run without authentication")
    return user, password


def provision(server: Server, user: str, password: str) -> None:
    """The root user, made with auth off on loopback only, then the volume marked."""
    from secantus.server import SecantusDBServer

    server.dbpath.mkdir(parents=True, exist_ok=True)
    # Port 0: a loopback port of its own, so neither the probes nor anything else that finds
    # the pod's port ever meets this auth-off server.
    db = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(server.dbpath),
                          require_auth=False, replica_set_name=None,
                          cache_size=server.cache_size)
    db.start()
    try:
        host, port = db.address
        mongo_users.create_or_reset(host, port, user, password, ROOT_ROLES, 10_000)
    finally:
        db.stop()
    (server.dbpath / MARKER).write_text("root user created by reference/mongo_entry.py\n")


def server_argv(server: Server, config: Path) -> list[str]:
    # An explicit config stops secantusd from picking up a secantusd.toml from its folder,
    # $HOME or /etc; the flags decide everything that matters, --auth above all.
    return [sys.executable, "-m", "secantus", "--config", str(config),
            "--host", server.host, "--port", str(server.port),
            "--storage-path", str(server.dbpath), "--auth", "--standalone",
            "--sync-on-commit", "--cache-size", server.cache_size, "--log-level", "WARNING"]


def _empty_config(dbpath: Path) -> Path:
    # On the volume, beside the marker: one file per server, rewritten on every start.
    config = dbpath / CONFIG
    config.write_text("# defaults; the command line decides (reference/mongo_entry.py)\n")
    return config


def serve(argv: list[str], env: Mapping[str, str]) -> NoReturn:
    server = parse_server(argv)
    if not provisioned(server.dbpath):
        user, password = root_credentials(env)
        provision(server, user, password)
        print(f"mongod: root user {user} created on {server.dbpath}", flush=True)
    print(f"mongod: SecantusDB with auth on {server.host}:{server.port}, data {server.dbpath}",
          flush=True)
    # Become the server: it is the container's PID 1 then and gets the kubelet's SIGTERM.
    argv_ = server_argv(server, _empty_config(server.dbpath))
    os.execv(argv_[0], argv_)


def ping(host: str, port: int, timeout_s: float = 2.0) -> str | None:
    """None when the server answers `ping` (open without credentials), else why not."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, Any]] = MongoClient(
        host, port, directConnection=True, serverSelectionTimeoutMS=int(timeout_s * 1000),
        connectTimeoutMS=int(timeout_s * 1000))
    try:
        client.admin.command("ping")
        return None
    except PyMongoError as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    finally:
        client.close()


def answers_only_with_auth(host: str, port: int, user: str, password: str) -> str | None:
    """None when an anonymous command is refused (13) and the user's is served, else why."""
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure, PyMongoError

    def client(username: str | None = None,
               password: str | None = None) -> MongoClient[dict[str, Any]]:
        return MongoClient(host, port, directConnection=True, serverSelectionTimeoutMS=5000,
                           authSource="admin", username=username, password=password)

    anonymous = client()
    try:
        anonymous.admin.command("listDatabases", nameOnly=True)
        return "it serves an unauthenticated client (listDatabases)"
    except OperationFailure as exc:
        if exc.code != UNAUTHORIZED:
            return f"an unauthenticated listDatabases failed with code {exc.code}, not 13"
    except PyMongoError as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    finally:
        anonymous.close()
    signed_in = client(username=user, password=password)
    try:
        signed_in.admin.command("listDatabases", nameOnly=True)
        return None
    except PyMongoError as exc:
        return (f"the root user's listDatabases failed: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:160]}")
    finally:
        signed_in.close()


def _env(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise UsageError(f"{name} is not set")
    return value


def member_address(statefulset: str, service: str, index: int) -> tuple[str, int]:
    """A member's stable name: <statefulset>-<i>.<headless service>, resolved in the pod's
    namespace by the cluster DNS."""
    return f"{statefulset}-{index}.{service}", PORT


def check_members(env: Mapping[str, str], wait_s: float = MEMBER_WAIT_S,
                  address: Callable[[str, str, int], tuple[str, int]] = member_address,
                  ) -> int:
    """The rs-init Job's local form: every member of STATEFULSET (MEMBERS of them, named by
    the headless SERVICE) answers, and only with the root user's credentials."""
    statefulset, service = _env(env, "STATEFULSET"), _env(env, "SERVICE")
    raw = _env(env, "MEMBERS")
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"MEMBERS={raw!r} is not a member count")
    user = _env(env, "MONGO_INITDB_ROOT_USERNAME")
    password = _env(env, "MONGO_INITDB_ROOT_PASSWORD")
    for i in range(int(raw)):
        host, port = address(statefulset, service, i)
        print(f"waiting for {host}:{port}", flush=True)
        deadline = time.monotonic() + wait_s
        while (why := ping(host, port)) is not None:
            if time.monotonic() > deadline:
                print(f"{host}:{port} did not answer in {wait_s:.0f}s: {why}", flush=True)
                return 1
            time.sleep(2.0)
        problem = answers_only_with_auth(host, port, user, password)
        if problem is not None:
            print(f"{host}:{port}: {problem}", flush=True)
            return 1
        print(f"{host}:{port} answers, and only with authentication", flush=True)
    print(f"{statefulset}: {raw} member(s) ready (SecantusDB: one standalone member each, "
          "no replica set to initiate)", flush=True)
    return 0


def main(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    environ = os.environ if env is None else env
    what = {"ping": "readiness probe", "check-members": "rs-init"}.get(argv[0] if argv else "",
                                                                     "mongod")
    try:
        if argv[:1] == ["ping"]:
            parser = _Parser(prog="mongo_entry ping", add_help=False, allow_abbrev=False)
            parser.add_argument("--host", default="127.0.0.1")
            parser.add_argument("--port", type=int, default=PORT)
            args = parser.parse_args(argv[1:])
            why = ping(args.host, args.port)
            if why is not None:
                print(f"mongod at {args.host}:{args.port} does not answer: {why}", flush=True)
            return 0 if why is None else 1
        if argv[:1] == ["check-members"]:
            if argv[1:]:
                raise UsageError(f"check-members takes no arguments, got {' '.join(argv[1:])}")
            return check_members(environ)
        serve(argv, environ)
    except UsageError as exc:
        sys.stderr.write(f"{what}: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
