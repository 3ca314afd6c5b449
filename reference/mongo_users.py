"""The one user a server is provisioned with, made on a server that runs with auth off (there is
no localhost exception): by the local target's databases and by the image's mongod entrypoint."""

from __future__ import annotations

from typing import Any


def create_or_reset(host: str, port: int, user: str, password: str,
                    roles: list[dict[str, str]], timeout_ms: int = 5000) -> None:
    # pymongo here, not at import: the entrypoint's usage errors must not wait for it.
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[dict[str, Any]] = MongoClient(
        host, port, directConnection=True, serverSelectionTimeoutMS=timeout_ms)
    try:
        try:
            client.admin.command("createUser", user, pwd=password, roles=roles)
        except OperationFailure as exc:
            # An earlier provisioning died after createUser, before its marker: set it again.
            if "already exists" not in str(exc):
                raise
            client.admin.command("updateUser", user, pwd=password, roles=roles)
    finally:
        client.close()
