"""SecantusDB: user provisioning (auth off, createUser, restart with --auth) and health."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

MARKER = ".vvgate-users"  # written once the application user exists in that storage


def ping(port: int, timeout_s: float = 0.5) -> bool:
    client: MongoClient[Any] = MongoClient(
        f"mongodb://127.0.0.1:{port}/?directConnection=true",
        serverSelectionTimeoutMS=int(timeout_s * 1000), connectTimeoutMS=int(timeout_s * 1000),
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def provisioned(storage: Path) -> bool:
    return (storage / MARKER).is_file()


def provision(argv_noauth: list[str], env: dict[str, str], storage: Path, port: int,
              log: Path, cwd: Path, user: str, password: str, roles: list[dict[str, str]],
              timeout_s: float = 30.0) -> None:
    """Create the application user with auth off; there is no localhost exception."""
    storage.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        # The component's own environment: it names where `reference` lives (not installed).
        proc = subprocess.Popen(argv_noauth, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while not ping(port):
            if proc.poll() is not None:
                raise RuntimeError("exited during user provisioning")
            if time.monotonic() > deadline:
                raise RuntimeError("did not answer during user provisioning")
            time.sleep(0.1)
        client: MongoClient[Any] = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=5000
        )
        try:
            try:
                client.admin.command("createUser", user, pwd=password, roles=roles)
            except OperationFailure as exc:
                # A provisioning run interrupted after createUser: reset the password instead.
                if "already exists" not in str(exc):
                    raise
                client.admin.command("updateUser", user, pwd=password, roles=roles)
        finally:
            client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    (storage / MARKER).write_text("users created; credentials are in secrets.env\n")
