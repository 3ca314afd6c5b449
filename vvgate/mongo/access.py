"""pymongo clients for the BFF store and the backend's registry and tenant databases."""

from __future__ import annotations

import urllib.parse
from contextlib import ExitStack
from typing import Any

from pymongo import MongoClient

from vvgate.errors import ConfigError
from vvgate.kube.port_forward import port_forward
from vvgate.report.redaction import REDACTOR
from vvgate.targets.profile import DirectMongo, MongoInstance, Profile
from vvgate.targets.secret_store import SecretStore

SERVER_SELECTION_MS = 5000


class MongoAccess:
    """Both MongoDB instances of a target, reached directly or through a port-forward."""

    def __init__(self, profile: Profile, secrets: SecretStore) -> None:
        if profile.mongodb is None:
            raise ConfigError(f"target {profile.name!r} has no 'mongodb' section")
        self.profile = profile
        self.layout = profile.mongodb
        self._secrets = secrets
        self._stack = ExitStack()
        self.bff: MongoClient[dict[str, Any]] = self._connect("bff", self.layout.bff)
        self.backend: MongoClient[dict[str, Any]] = self._connect("backend", self.layout.backend)

    def uri(self, role: str, instance: MongoInstance, *, credentials: bool = True) -> str:
        """The connection string; without credentials it probes anonymous access."""
        access = instance.access
        if isinstance(access, DirectMongo):
            uri = self._secrets.get(access.uri_secret)
            if credentials:
                return uri
            parts = urllib.parse.urlsplit(uri)
            host = parts.netloc.rpartition("@")[2]
            query = urllib.parse.urlencode(
                [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "authSource"])
            return urllib.parse.urlunsplit((parts.scheme, host, "/", query, ""))
        port = self._stack.enter_context(
            port_forward(self.profile, f"svc/{access.service}", access.port))
        base = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        if not credentials:
            return base
        user = urllib.parse.quote(self._secrets.get(access.username_secret), safe="")
        password = urllib.parse.quote(self._secrets.get(access.password_secret), safe="")
        REDACTOR.register(password)
        return (f"mongodb://{user}:{password}@127.0.0.1:{port}/?directConnection=true"
                f"&authSource={access.auth_source}")

    def _connect(self, role: str, instance: MongoInstance) -> MongoClient[dict[str, Any]]:
        client: MongoClient[dict[str, Any]] = MongoClient(
            self.uri(role, instance), serverSelectionTimeoutMS=SERVER_SELECTION_MS,
            tz_aware=True)
        self._stack.callback(client.close)
        return client

    def client(self, role: str, *, credentials: bool = True,
               password: str | None = None) -> MongoClient[dict[str, Any]]:
        """A separate client, for probing auth: anonymous, or with a chosen password."""
        instance = self.layout.bff if role == "bff" else self.layout.backend
        uri = self.uri(role, instance, credentials=credentials and password is None)
        if password is not None:
            parts = urllib.parse.urlsplit(self.uri(role, instance))
            user = parts.netloc.rpartition("@")[0].partition(":")[0]
            host = parts.netloc.rpartition("@")[2]
            uri = urllib.parse.urlunsplit(
                (parts.scheme, f"{user}:{urllib.parse.quote(password)}@{host}", parts.path,
                 parts.query, ""))
        client: MongoClient[dict[str, Any]] = MongoClient(
            uri, serverSelectionTimeoutMS=SERVER_SELECTION_MS, tz_aware=True)
        self._stack.callback(client.close)
        return client

    @property
    def sessions(self) -> Any:
        return self.bff[self.layout.session_database]["sessions"]

    @property
    def registry(self) -> Any:
        return self.backend[self.layout.registry_database]

    def tenant_db(self, database_name: str) -> Any:
        return self.backend[database_name]

    def close(self) -> None:
        self._stack.close()
