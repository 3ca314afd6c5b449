"""Fails fast, in one line, when the target cannot be reached at all.

Checks only what the selected gates need, so a static-only run needs no live
target, and an unreachable host is a configuration error (exit 2), not a page
of failing checks.
"""

from __future__ import annotations

import socket
import urllib.parse

from vvgate.errors import ConfigError
from vvgate.gates.catalog import GATES, Needs
from vvgate.targets.profile import DirectMongo, Kind, Profile
from vvgate.targets.secret_store import SecretStore

CONNECT_TIMEOUT_S = 3.0


def needs_of(gates: set[str]) -> set[Needs]:
    return {need for g in gates for need in GATES[g].needs} - {Needs.NOTHING}


def _tcp(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_https(profile: Profile) -> None:
    host, port = profile.connect_address()
    problem = _tcp(host, port)
    if problem is None:
        return
    if profile.kind is Kind.LOCAL:
        raise ConfigError(
            f"the local target is not running (no answer at {host}:{port}: {problem}); "
            "start it with: vvgate local up"
        )
    via = f" via address_override {profile.address_override}" if profile.address_override else ""
    raise ConfigError(f"target {profile.name!r}: host {profile.host}{via} unreachable at "
                      f"{host}:{port} ({problem})")


def check_kubernetes(profile: Profile) -> None:
    from kubernetes.client import VersionApi

    from vvgate.kube.client import api_client

    client = api_client(profile)
    try:
        VersionApi(client).get_code(_request_timeout=CONNECT_TIMEOUT_S * 2)
    except Exception as exc:  # any failure to answer /version means unreachable
        server = client.configuration.host
        reason = " ".join(str(exc).split())[:160]
        raise ConfigError(f"target {profile.name!r}: Kubernetes API {server} unreachable "
                          f"({type(exc).__name__}: {reason})") from None
    finally:
        client.close()  # type: ignore[no-untyped-call]


def check_mongodb(profile: Profile, secrets: SecretStore) -> None:
    if profile.mongodb is None:
        raise ConfigError(f"target {profile.name!r} has no 'mongodb' section")
    for role, instance in (("bff", profile.mongodb.bff), ("backend", profile.mongodb.backend)):
        access = instance.access
        if isinstance(access, DirectMongo):
            uri = secrets.get(access.uri_secret)
            netloc = urllib.parse.urlsplit(uri).netloc.rpartition("@")[2]
            host, _, port = netloc.split(",")[0].rpartition(":")
            problem = _tcp(host or netloc, int(port or 27017))
            if problem is not None:
                raise ConfigError(f"target {profile.name!r}: MongoDB ({role}) unreachable at "
                                  f"{host}:{port} ({problem})")
        else:
            secrets.get(access.username_secret)
            secrets.get(access.password_secret)


def run(profile: Profile, gates: set[str], secrets: SecretStore) -> None:
    needs = needs_of(gates)
    if not needs:
        return
    mongo = profile.mongodb
    port_forwarded = mongo is not None and any(
        not isinstance(i.access, DirectMongo) for i in (mongo.bff, mongo.backend)
    )
    # Without a kubernetes section the Kubernetes checks skip with that reason (a target
    # like the plain local one still runs every other gate), so there is nothing to reach.
    kube_checks = Needs.KUBERNETES in needs and profile.kubernetes is not None
    if kube_checks or (Needs.MONGODB in needs and port_forwarded):
        check_kubernetes(profile)
    secrets.resolve_all()
    if Needs.HTTPS in needs:
        check_https(profile)
    if Needs.MONGODB in needs:
        check_mongodb(profile, secrets)
