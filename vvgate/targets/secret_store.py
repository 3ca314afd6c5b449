"""Resolves the secrets a profile points at, registering each with the redactor."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vvgate.errors import ConfigError
from vvgate.report.redaction import REDACTOR
from vvgate.targets.profile import EnvSecret, FileSecret, KubernetesSecret, Profile

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


class SecretStore:
    """Looks secrets up lazily and once; a missing one is a ConfigError naming it."""

    def __init__(self, profile: Profile, core_api: CoreV1Api | None = None) -> None:
        self._profile = profile
        self._core_api = core_api
        self._cache: dict[str, str] = {}

    def names(self) -> list[str]:
        return list(self._profile.secrets)

    def get(self, name: str) -> str:
        if name in self._cache:
            return self._cache[name]
        source = self._profile.secrets.get(name)
        if source is None:
            raise ConfigError(
                f"target {self._profile.name!r} declares no source for secret {name}"
            )
        value = self._fetch(name, source)
        if not value:
            raise ConfigError(f"secret {name} is empty ({_describe(source)})")
        REDACTOR.register(value)
        self._cache[name] = value
        return value

    def resolve_all(self) -> None:
        for name in self._profile.secrets:
            self.get(name)

    def _fetch(self, name: str, source: EnvSecret | FileSecret | KubernetesSecret) -> str:
        if isinstance(source, EnvSecret):
            value = os.environ.get(source.env)
            if value is None:
                raise ConfigError(f"secret {name} is missing: environment variable {source.env} "
                                  "is not set")
            return value
        if isinstance(source, FileSecret):
            if not source.file.is_file():
                raise ConfigError(f"secret {name} is missing: file {source.file} does not exist")
            values = read_env_file(source.file)
            if source.key not in values:
                raise ConfigError(f"secret {name} is missing: no {source.key} in {source.file}")
            return values[source.key]
        return self._from_kubernetes(name, source)

    def _from_kubernetes(self, name: str, source: KubernetesSecret) -> str:
        ref = source.kubernetes
        kube = self._profile.kubernetes
        namespace = ref.namespace or (kube.namespace if kube else "default")
        if self._core_api is None:
            from vvgate.kube.client import core_api

            self._core_api = core_api(self._profile)
        from kubernetes.client.exceptions import ApiException

        try:
            secret = self._core_api.read_namespaced_secret(ref.secret, namespace)
        except ApiException as exc:
            raise ConfigError(
                f"secret {name} is missing: cannot read Secret {namespace}/{ref.secret} "
                f"(HTTP {exc.status} {exc.reason})"
            ) from None
        data = secret.data or {}
        if ref.key not in data:
            raise ConfigError(f"secret {name} is missing: Secret {namespace}/{ref.secret} "
                              f"has no key {ref.key}")
        return base64.b64decode(data[ref.key]).decode("utf-8")


def _describe(source: EnvSecret | FileSecret | KubernetesSecret) -> str:
    if isinstance(source, EnvSecret):
        return f"environment variable {source.env}"
    if isinstance(source, FileSecret):
        return f"{source.key} in {source.file}"
    return f"Secret {source.kubernetes.secret} key {source.kubernetes.key}"
