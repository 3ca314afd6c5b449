"""Traefik configuration: loopback-only entrypoints, TLS from the local CA, contract routing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BFF_PREFIXES = ("/auth", "/graphql", "/webhook", "/health")


@dataclass(frozen=True)
class IngressPorts:
    http: int
    https: int
    ping: int
    bff: int
    frontend: int
    backend: int


def _prefix_rule(prefix: str) -> str:
    # PathPrefix alone would also send /authority or /healthz to the BFF.
    return f"Path(`{prefix}`) || PathPrefix(`{prefix}/`)"


def static_config(ports: IngressPorts, dynamic_file: Path,
                  permanent_redirect: bool = True) -> dict[str, Any]:
    def entrypoint(port: int, **extra: Any) -> dict[str, Any]:
        http = {"aliasHeadersStrategy": "delete", **extra}
        return {"address": f"127.0.0.1:{port}", "http": http}

    # Fault no-https-redirect turns the 301 into a 302 Found.
    redirect = {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https",
                                                "permanent": permanent_redirect}}}
    return {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {
            "web": entrypoint(ports.http, **redirect),
            "websecure": entrypoint(ports.https),
            # Pinned too: enabling ping otherwise binds :8080 on every interface.
            "traefik": entrypoint(ports.ping),
        },
        "ping": {"entryPoint": "traefik"},
        "providers": {"file": {"filename": str(dynamic_file), "watch": False}},
        "log": {"level": "INFO", "noColor": True},
    }


# TLS 1.2 suites the ingress offers: AEAD with ECDHE only, for an ECDSA or an RSA leaf (the
# weak-leaf-key fault's). TLS 1.3 suites are not configurable and are all AEAD.
AEAD_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)
# Fault weak-ciphers: RC4 as well (weak: the tls gate's). Fault cbc-suites: Go's CBC suites as
# well (not weak, but not AEAD: the advisory tls-suites gate's).
FAULT_SUITES = {
    "weak-ciphers": ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",),
    # TLS 1.0 and 1.1 have no AEAD suite: a server that speaks them offers CBC (under 1.2 too).
    "tls10": ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",),
    "cbc-suites": ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
}


def dynamic_config(host: str, ports: IngressPorts, cert: Path, key: Path,
                   min_tls: str, expose_backend: bool,
                   extra_suites: tuple[str, ...] = ()) -> dict[str, Any]:
    bff_rule = " || ".join(f"({_prefix_rule(p)})" for p in BFF_PREFIXES)
    routers: dict[str, Any] = {
        "bff": {"rule": f"Host(`{host}`) && ({bff_rule})", "service": "bff",
                "entryPoints": ["websecure"], "tls": {}, "priority": 100},
        "frontend": {"rule": f"Host(`{host}`)", "service": "frontend",
                     "entryPoints": ["websecure"], "tls": {}, "priority": 1},
    }
    services: dict[str, Any] = {
        "bff": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{ports.bff}"}]}},
        "frontend": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{ports.frontend}"}]}},
    }
    middlewares: dict[str, Any] = {}
    if expose_backend:
        # Fault backend-exposed: the backend answers at /backend/* from outside.
        routers["backend"] = {"rule": f"Host(`{host}`) && ({_prefix_rule('/backend')})",
                              "service": "backend", "entryPoints": ["websecure"], "tls": {},
                              "priority": 200, "middlewares": ["strip-backend"]}
        services["backend"] = {
            "loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{ports.backend}"}]}}
        middlewares["strip-backend"] = {"stripPrefix": {"prefixes": ["/backend"]}}
    http: dict[str, Any] = {"routers": routers, "services": services}
    if middlewares:
        http["middlewares"] = middlewares
    options: dict[str, Any] = {"minVersion": min_tls, "sniStrict": True,
                               "cipherSuites": [*AEAD_SUITES, *extra_suites]}
    return {
        "http": http,
        "tls": {
            "certificates": [{"certFile": str(cert), "keyFile": str(key)}],
            "options": {"default": options},
        },
    }


def render(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)
