"""The fault switches: each one breaks exactly one contract property.

This table is the single source of truth: the lifecycle validates `--fault` names against it,
components ask `active()` whether to misbehave, and selftests iterate it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FAULTS_ENV = "VV_FAULTS"


@dataclass(frozen=True)
class Fault:
    name: str
    gate: str  # the gate (fixtures/gates.py) this fault must make fail
    breaks: str
    # Components whose behaviour the fault changes; only these restart when it is toggled.
    components: tuple[str, ...]


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("introspection-on", "auth",
              "GraphQL introspection (__schema) is answered instead of refused with 400",
              ("bff", "backend")),
        Fault("anonymous-mutation", "auth",
              "mutation upsertUser runs for an anonymous caller", ("backend",)),
        Fault("tenant-leak", "tenancy",
              "query record(id) searches every tenant database, ignoring the active tenant",
              ("backend",)),
        Fault("role-escalation", "tenancy",
              "addUserToTenant checks ADMIN in the caller's active tenant, not the target tenant",
              ("backend",)),
        Fault("no-revocation", "tenancy",
              "the backend trusts the role in the session's JWT, so removed roles stay effective",
              ("backend",)),
        Fault("weak-cookie", "headers",
              "the session cookie vinylvault.sid is set without HttpOnly", ("bff",)),
        Fault("unsigned-webhook", "auth",
              "POST /webhook/github accepts a missing or wrong X-Hub-Signature-256", ("bff",)),
        Fault("no-hsts", "headers",
              "BFF responses carry no Strict-Transport-Security header", ("bff",)),
        Fault("powered-by", "headers",
              "BFF responses carry X-Powered-By: Express", ("bff",)),
        Fault("cors-reflect", "headers",
              "Access-Control-Allow-Origin echoes any request Origin", ("bff",)),
        Fault("expired-cert", "tls",
              "the ingress serves a certificate whose notAfter is in the past", ("traefik",)),
        Fault("tls10", "tls",
              "the ingress accepts TLS 1.0 and 1.1 (minVersion VersionTLS10)", ("traefik",)),
        Fault("mongo-noauth", "database",
              "both SecantusDB servers run without --auth (anonymous access)",
              ("mongo-bff", "mongo-backend")),
        Fault("backend-exposed", "auth",
              "the ingress routes /backend/* (prefix stripped) to the backend", ("traefik",)),
        Fault("slow-records", "load",
              "query records sleeps 600 ms before answering", ("backend",)),
    )
}


class UnknownFaultError(ValueError):
    pass


def parse(spec: str | None) -> tuple[str, ...]:
    """`a,b` -> ('a', 'b') in table order; raises UnknownFaultError on a name not in FAULTS."""
    if not spec:
        return ()
    names = {n.strip() for n in spec.split(",") if n.strip()}
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise UnknownFaultError(
            f"unknown fault {unknown[0]!r}; known: {', '.join(FAULTS)}"
        )
    return tuple(n for n in FAULTS if n in names)


def for_component(component: str, active_faults: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in active_faults if component in FAULTS[n].components)


def active(name: str) -> bool:
    """Whether this process was started with fault `name` (components read VV_FAULTS)."""
    if name not in FAULTS:
        raise KeyError(name)
    return name in os.environ.get(FAULTS_ENV, "").split(",")
