"""What an app process learns from its environment: where to listen, its secrets, its peers.

Two shapes, told apart by what the process is given:

- The process target (`vvgate local up`, reference/localenv/components.py) gives VV_PORT,
  VV_PUBLIC_URL, VV_BACKEND_URL and names a 0600 env file in VV_SECRETS_FILE, never secrets on
  argv, so they do not show in `ps`. The app listens on loopback. Nothing here is checked
  beyond what it always was: that path behaves as it did.
- A pod (the local overlay on the cluster's real node) gives what the deployment's manifests
  give the real application (manifests/base/app/*.yaml and the overlay's ConfigMap
  vinylvault-config): PORT, MONGODB_URI, SESSION_SECRET, BACKEND_URL, ... The app listens on
  every address. A required variable that is missing or empty, or malformed, stops the app at
  start with one line naming it (exit 2): a misspelt name in the manifests then crash-loops
  the pod, and the rollout gate reports it with the cluster's evidence.
"""

from __future__ import annotations

import os
import re
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reference import envfile

PROCESS_VARS = ("VV_SECRETS_FILE", "VV_PORT")
POD_HOST = "0.0.0.0"  # a pod's address is its own; the kubelet and Services reach it there
CALLBACK_PATH = "/auth/github/callback"
# The app's own name in the one-line refusal (the container's log is all a reader sees).
_PROGRAM = {"bff": "reference.bff", "backend": "reference.backend",
            "frontend": "reference.frontend"}
# LOG_LEVEL as the real application's logger spells it, as uvicorn names it.
_LOG_LEVELS = {"error": "error", "warn": "warning", "warning": "warning", "info": "info",
               "http": "info", "verbose": "debug", "debug": "debug"}
_UNEXPANDED = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class ConfigError(Exception):
    """A setting a pod needs is missing or malformed: one line that names it, never a value
    that may be secret."""


@dataclass(frozen=True)
class PodApp:
    """What one application reads in a pod: the contract's port (contract §1), and the
    variables it cannot run without, by the manifests' names."""

    port: int
    # manifest name -> the key this program's code asks Runtime.secret() for
    secrets: Mapping[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()  # required settings that are http(s) URLs
    mongo: tuple[str, ...] = ()  # secrets that are MongoDB connection strings


POD_APPS = {
    "bff": PodApp(
        3000,
        {"MONGODB_URI": "MONGODB_BFF_URI", "SESSION_SECRET": "SESSION_SECRET",
         "JWT_SECRET": "JWT_SECRET", "GITHUB_CLIENT_ID": "GITHUB_CLIENT_ID",
         "GITHUB_CLIENT_SECRET": "GITHUB_CLIENT_SECRET",
         "GITHUB_APP_WEBHOOK_SECRET": "GITHUB_APP_WEBHOOK_SECRET"},
        ("BACKEND_URL", "FRONTEND_URL", "GITHUB_CALLBACK_URL"), ("MONGODB_URI",)),
    # The registry URI names the registry database; the base URI serves the tenant databases.
    "backend": PodApp(
        4000,
        {"MONGODB_REGISTRY_URI": "MONGODB_BACKEND_URI", "MONGODB_URI_BASE": "MONGODB_TENANT_URI",
         "JWT_SECRET": "JWT_SECRET"},
        (), ("MONGODB_REGISTRY_URI", "MONGODB_URI_BASE")),
    # nginx's port; the real frontend image reads nothing else.
    "frontend": PodApp(80),
}


@dataclass(frozen=True)
class Runtime:
    port: int
    secrets: dict[str, str]
    public_url: str
    # Where the BFF posts GraphQL to the backend (the backend's /graphql endpoint).
    backend_url: str
    host: str = "127.0.0.1"
    # The OAuth redirect_uri registered with GitHub (GITHUB_CALLBACK_URL in a pod).
    callback_url: str = ""
    log_level: str = "info"
    # NODE_ENV other than production in a pod: what Apollo Server then does by default
    # (introspection on), so a manifest that forgets NODE_ENV is seen by the graphql gate.
    development: bool = False

    def secret(self, key: str) -> str:
        value = self.secrets.get(key)
        if not value:
            raise RuntimeError(f"secret {key} is missing from the secrets file")
        return value


def in_pod(environ: Mapping[str, str]) -> bool:
    """The process target always names its port and secrets file; a pod names neither."""
    return not any(environ.get(name) for name in PROCESS_VARS)


def load(app: str | None = None, environ: Mapping[str, str] | None = None) -> Runtime:
    """The runtime of `app` (bff, backend or frontend); raises ConfigError in a pod whose
    environment lacks what the app needs. Without `app` (the GitHub stand-in, which only the
    process target runs), the process target's variables alone, as always."""
    env = os.environ if environ is None else environ
    return _from_pod(app, env) if app is not None and in_pod(env) else _from_process(env)


def load_or_exit(app: str) -> Runtime:
    """load(), or exit 2 with one line on stderr naming what is wrong: the pod's log."""
    try:
        return load(app)
    except ConfigError as exc:
        sys.stderr.write(f"{_PROGRAM.get(app, app)}: {exc}\n")
        raise SystemExit(2) from None


def _from_process(env: Mapping[str, str]) -> Runtime:
    secrets_file = env.get("VV_SECRETS_FILE")
    secrets = envfile.read(Path(secrets_file)) if secrets_file else {}
    public_url = env.get("VV_PUBLIC_URL", "https://vinylvault.local.test")
    backend = env.get("VV_BACKEND_URL", "http://127.0.0.1:4000")
    return Runtime(
        port=int(env.get("VV_PORT", "0")),
        secrets=secrets,
        public_url=public_url,
        backend_url=f"{backend}/graphql",
        callback_url=f"{public_url}{CALLBACK_PATH}",
    )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if value is None:
        raise ConfigError(f"{name} is not set (the deployment must give it; see "
                          "manifests/base/app and the overlay's ConfigMap vinylvault-config)")
    if not value.strip():
        raise ConfigError(f"{name} is set but empty")
    unexpanded = _UNEXPANDED.search(value)
    if unexpanded:
        # The kubelet leaves $(VAR) as it is when the container defines no VAR before it.
        raise ConfigError(f"{name} refers to $({unexpanded.group(1)}), which the container's "
                          "environment does not define before it")
    return value


def _port(env: Mapping[str, str], default: int) -> int:
    raw = env.get("PORT")
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"PORT={raw!r} is not a port number")
    return int(raw)


def _url(name: str, value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value.rstrip("/")


def _mongo_uri(name: str, value: str) -> None:
    # pymongo is what every app that reads a URI imports anyway.
    from pymongo.errors import PyMongoError
    from pymongo.uri_parser import parse_uri

    try:
        parse_uri(value)
    except (PyMongoError, ValueError) as exc:
        # The message may quote the URI, which holds the password: name only its kind.
        raise ConfigError(f"{name} is not a MongoDB connection string "
                          f"({type(exc).__name__})") from None


def _log_level(env: Mapping[str, str]) -> str:
    raw = env.get("LOG_LEVEL", "info")
    level = _LOG_LEVELS.get(raw.strip().lower())
    if level is None:
        raise ConfigError(f"LOG_LEVEL={raw!r} is none of {', '.join(_LOG_LEVELS)}")
    return level


def _from_pod(app: str, env: Mapping[str, str]) -> Runtime:
    spec = POD_APPS[app]
    secrets = {key: _required(env, name) for name, key in spec.secrets.items()}
    for name in spec.mongo:
        _mongo_uri(name, env[name])
    urls = {name: _url(name, _required(env, name)) for name in spec.urls}
    public_url = urls.get("FRONTEND_URL", "")
    return Runtime(
        port=_port(env, spec.port),
        secrets=secrets,
        public_url=public_url,
        backend_url=urls.get("BACKEND_URL", ""),
        host=POD_HOST,
        callback_url=urls.get("GITHUB_CALLBACK_URL", f"{public_url}{CALLBACK_PATH}"),
        log_level=_log_level(env),
        development=env.get("NODE_ENV") != "production",
    )
