"""A small, explicit rule set for custom resources that have no bundled JSON schema.

Each known kind lists the fields it cannot work without. A kind that is
neither here nor in the bundled schemas is a finding: nothing passes unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from vvgate.rules.model import ManifestObject, Violation

CrdCheck = Callable[[Mapping[str, Any]], Iterator[Violation]]

TRAEFIK_GROUPS = ("traefik.io", "traefik.containo.us")
TRAEFIK_MIDDLEWARES = frozenset({
    "addPrefix", "basicAuth", "buffering", "chain", "circuitBreaker", "compress",
    "contentType", "digestAuth", "errors", "forwardAuth", "grpcWeb", "headers",
    "ipAllowList", "ipWhiteList", "inFlightReq", "passTLSClientCert", "plugin", "rateLimit",
    "redirectRegex", "redirectScheme", "replacePath", "replacePathRegex", "retry",
    "stripPrefix", "stripPrefixRegex",
})
ISSUER_TYPES = frozenset({"acme", "ca", "selfSigned", "vault", "venafi"})


def _need(spec: Mapping[str, Any], dotted: str) -> Iterator[Violation]:
    node: Any = spec
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if node in (None, "", [], {}):
        yield Violation(f"spec.{dotted}", f"required field spec.{dotted} is missing or empty")


def _certificate(spec: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _need(spec, "secretName")
    yield from _need(spec, "issuerRef.name")
    if not spec.get("dnsNames") and not spec.get("commonName"):
        yield Violation("spec.dnsNames", "a Certificate needs dnsNames (or commonName)")


def _issuer(spec: Mapping[str, Any]) -> Iterator[Violation]:
    kinds = [k for k in ISSUER_TYPES if k in spec]
    if len(kinds) != 1:
        yield Violation("spec", f"an issuer has exactly one of {sorted(ISSUER_TYPES)}; "
                                f"found {sorted(kinds) or 'none'}")
    if "acme" in spec:
        for field in ("server", "privateKeySecretRef.name", "solvers"):
            yield from _need(spec, f"acme.{field}")


def _middleware(spec: Mapping[str, Any]) -> Iterator[Violation]:
    keys = set(spec)
    unknown = keys - TRAEFIK_MIDDLEWARES
    if unknown:
        yield Violation("spec", f"unknown middleware type(s) {sorted(unknown)}")
    if len(keys & TRAEFIK_MIDDLEWARES) != 1:
        yield Violation("spec", "a Middleware configures exactly one middleware type")


def _ingress_route(spec: Mapping[str, Any]) -> Iterator[Violation]:
    routes = spec.get("routes")
    if not isinstance(routes, list) or not routes:
        yield Violation("spec.routes", "an IngressRoute needs at least one route")
        return
    for i, route in enumerate(routes):
        if not isinstance(route, Mapping) or not route.get("match"):
            yield Violation(f"spec.routes[{i}].match", "every route needs a match rule")
        elif not route.get("services"):
            yield Violation(f"spec.routes[{i}].services", "every route needs a service")
    unknown = set(spec.get("entryPoints") or []) - {"web", "websecure"}
    if unknown:
        yield Violation("spec.entryPoints", f"unknown entrypoint(s) {sorted(unknown)}")


CRD_RULES: dict[tuple[str, str], CrdCheck] = {
    ("cert-manager.io", "Certificate"): _certificate,
    ("cert-manager.io", "Issuer"): _issuer,
    ("cert-manager.io", "ClusterIssuer"): _issuer,
    **{(g, "Middleware"): _middleware for g in TRAEFIK_GROUPS},
    **{(g, "IngressRoute"): _ingress_route for g in TRAEFIK_GROUPS},
}


def check_custom_resource(obj: ManifestObject) -> Iterator[Violation]:
    rule = CRD_RULES.get((obj.group, obj.kind))
    if rule is None:
        yield Violation("(object)", f"{obj.api_version}/{obj.kind} has no bundled schema and "
                                    "no rule set here: it cannot be checked")
        return
    if not obj.name:
        yield Violation("metadata.name", "metadata.name is missing")
    yield from rule(obj.spec)
