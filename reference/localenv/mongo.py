"""SecantusDB: user provisioning (auth off, createUser, restart with --auth) and health."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from reference import mongo_users

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


def without_auth(argv: list[str]) -> list[str]:
    return [a for a in argv if a != "--auth"]


def create_user(port: int, serving: Callable[[], bool], user: str, password: str,
                roles: list[dict[str, str]], timeout_s: float = 30.0) -> None:
    """Create the application user on a server started with auth off (there is no localhost
    exception); `serving` says whether that server still runs."""
    deadline = time.monotonic() + timeout_s
    while not ping(port):
        if not serving():
            raise RuntimeError("exited during user provisioning")
        if time.monotonic() > deadline:
            raise RuntimeError("did not answer during user provisioning")
        time.sleep(0.1)
    mongo_users.create_or_reset("127.0.0.1", port, user, password, roles)


def mark_provisioned(storage: Path) -> None:
    (storage / MARKER).write_text("users created; credentials are in secrets.env\n")
