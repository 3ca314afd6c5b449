"""A MongoDB client to one StatefulSet member through a Kubernetes port-forward.

Whatever way the profile reaches MongoDB otherwise (a direct URI on the local target, a
Service port-forward on staging), this goes to the member pod itself, as an operator's
`kubectl port-forward pod/...` would; on the local cluster kwok sends it on to the local
SecantusDB server.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import MongoClient

from vvgate.kube.port_forward import port_forward
from vvgate.report.redaction import REDACTOR
from vvgate.targets.profile import DirectMongo, MongoInstance, Profile
from vvgate.targets.secret_store import SecretStore

MONGO_PORT = 27017
SERVER_SELECTION_MS = 5000


def credentials(instance: MongoInstance, secrets: SecretStore) -> tuple[str, str, str]:
    """(user, password, authSource) from whichever secrets the profile names."""
    access = instance.access
    if isinstance(access, DirectMongo):
        parts = urllib.parse.urlsplit(secrets.get(access.uri_secret))
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        query = dict(urllib.parse.parse_qsl(parts.query))
        source = query.get("authSource") or parts.path.strip("/") or "admin"
        user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
    else:
        user = secrets.get(access.username_secret)
        password = secrets.get(access.password_secret)
        source = access.auth_source
    REDACTOR.register(password)
    return user, password, source


@contextmanager
def member_client(profile: Profile, secrets: SecretStore, instance: MongoInstance, pod: str,
                  namespace: str) -> Iterator[MongoClient[dict[str, Any]]]:
    user, password, source = credentials(instance, secrets)
    with port_forward(profile, f"pod/{pod}", MONGO_PORT, namespace=namespace) as port:
        client: MongoClient[dict[str, Any]] = MongoClient(
            "127.0.0.1", port, directConnection=True, username=user, password=password,
            authSource=source, serverSelectionTimeoutMS=SERVER_SELECTION_MS)
        try:
            yield client
        finally:
            client.close()
