"""Hardening rules beyond the common linters' core: what a mutation of a real tree slipped
past before. Workloads are found by role (vvgate/rules/manifest/roles.py), never by name."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from vvgate.rules.manifest import plan_expectations as plan
from vvgate.rules.manifest import roles
from vvgate.rules.manifest.best_practice import is_workload
from vvgate.rules.manifest.workload import containers, pod_labels, selector_matches
from vvgate.rules.model import (
    ManifestObject,
    ObjectRule,
    RuleInfo,
    Settings,
    Tree,
    TreeRule,
    Violation,
)

PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in
                       ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
INTERNAL_ROLES = ("backend", roles.MONGO_ROLE)


def _info(rule_id: str, title: str, hint: str, category: str) -> RuleInfo:
    return RuleInfo(rule_id, title, hint, category)


# --- Services and images ------------------------------------------------------

def check_internal_services(tree: Tree, s: Settings) -> Iterator[Violation]:
    internal = roles.workloads_with_role(tree, *INTERNAL_ROLES)
    for svc in tree.of_kind("Service"):
        selector = svc.spec.get("selector")
        if not selector:
            continue
        reached = [o for o in internal if o.namespace == svc.namespace
                   and selector_matches({"matchLabels": selector}, pod_labels(o))]
        if not reached:
            continue
        what = ", ".join(sorted({f"{roles.role_of(o)} ({o.name})" for o in reached}))
        kind = svc.spec.get("type") or "ClusterIP"
        if kind != "ClusterIP":
            yield Violation("spec.type", f"Service of type {kind} exposes {what} outside the "
                                         "cluster", subject=svc.ref)
        if svc.spec.get("externalIPs"):
            yield Violation("spec.externalIPs", f"externalIPs expose {what}", subject=svc.ref)


def registry_path(image: str) -> str:
    """The image as registry/path, as a runtime resolves it: `mongo:7` is
    docker.io/library/mongo:7, `bitnami/mongodb` docker.io/bitnami/mongodb."""
    first, _, rest = image.partition("/")
    if not rest:
        return f"docker.io/library/{image}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


def check_registries(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    # The profile's registries, and for the local overlay alone its node's own (the reference
    # image, imported as vvgate.local/: plan_expectations), whatever profile judges the tree.
    allowed = plan.allowed_registries(tree.name, s)
    for path, c in containers(obj):
        image = str(c.get("image") or "")
        if image and not registry_path(image).startswith(allowed):
            yield Violation(f"{path}.image", f"image {image!r} comes from none of the allowed "
                                             f"registries {list(allowed)}")


# --- MongoDB and the applications ---------------------------------------------

def _flag_value(words: list[str], flag: str) -> str | None:
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(f"{flag}="):
            return word.split("=", 1)[1]
    return None


def _env_names(container: Mapping[str, Any]) -> set[str]:
    return {str(e.get("name")) for e in container.get("env") or [] if isinstance(e, Mapping)}


def check_mongo_auth(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, c in roles.mongod_containers(obj):
        words = roles.command_words(c)
        if "--noauth" in words or "--transitionToAuth" in words:
            yield Violation(f"{path}.args", "mongod starts with authentication switched off")
            continue
        if _flag_value(words, "--replSet") is not None:
            if _flag_value(words, "--keyFile") is None:
                yield Violation(f"{path}.args", "replica-set member without --keyFile: members "
                                                "do not authenticate each other, and mongod "
                                                "runs without access control")
        elif "--auth" not in words and "MONGO_INITDB_ROOT_USERNAME" not in _env_names(c):
            yield Violation(f"{path}.args", "standalone mongod without --auth (nor a root user "
                                            "for the image's entrypoint to enable it)")


def _config_values(tree: Tree, obj: ManifestObject, container: Mapping[str, Any]
                   ) -> dict[str, str]:
    """Env values a container gets from ConfigMaps of the tree (envFrom), then its own."""
    values: dict[str, str] = {}
    for ref in container.get("envFrom") or []:
        name = (ref.get("configMapRef") or {}).get("name") if isinstance(ref, Mapping) else None
        cm = next((o for o in tree.of_kind("ConfigMap") if o.name == name
                   and o.namespace == obj.namespace), None)
        if cm is not None:
            values.update({str(k): str(v) for k, v in (cm.doc.get("data") or {}).items()})
    for e in container.get("env") or []:
        if isinstance(e, Mapping) and "value" in e:
            values[str(e.get("name"))] = str(e.get("value"))
    return values


def check_node_env(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    node_app = roles.app_role(obj) in ("bff", "backend")
    for path, c in containers(obj, init=False):
        value = _config_values(tree, obj, c).get("NODE_ENV")
        if value is not None and value != "production":
            yield Violation(f"{path}.env", f"NODE_ENV={value}: development error pages, "
                                           "introspection and stack traces")
        elif value is None and node_app:
            yield Violation(f"{path}.env", "NODE_ENV is not set to production (Express and "
                                           "Apollo default to development)")


# --- NetworkPolicies and namespaces -------------------------------------------

def _open_peer(peer: Any, direction: str) -> str | None:
    """Why a peer admits everything, or None."""
    if not isinstance(peer, Mapping) or not peer:
        return "an empty peer matches every source and destination"
    if set(peer) == {"namespaceSelector"} and not peer["namespaceSelector"]:
        return "namespaceSelector: {} matches every pod of every namespace"
    block = peer.get("ipBlock")
    if isinstance(block, Mapping):
        try:
            network = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        except ValueError:
            return None
        if network.prefixlen == 0:
            kept_out = [ipaddress.ip_network(str(e), strict=False)
                        for e in block.get("except") or []]
            v4_out = [e for e in kept_out if isinstance(e, ipaddress.IPv4Network)]
            closed = network.version == 6 or all(
                any(r.subnet_of(e) for e in v4_out) for r in PRIVATE_RANGES)
            # Egress to the internet (GitHub) with the private ranges kept out is a flow the
            # contract has; anything else from or to all addresses is open.
            if direction == "Ingress" or not closed:
                return f"ipBlock {network} admits every address"
    return None


def check_netpol_open(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for direction, key, peers_key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
        for i, rule in enumerate(obj.spec.get(key) or []):
            peers = rule.get(peers_key) if isinstance(rule, Mapping) else None
            if not peers:
                yield Violation(f"spec.{key}[{i}].{peers_key}",
                                f"{direction.lower()} rule without `{peers_key}` admits "
                                "every peer")
                continue
            for j, peer in enumerate(peers):
                why = _open_peer(peer, direction)
                if why:
                    yield Violation(f"spec.{key}[{i}].{peers_key}[{j}]", why)


def check_pss_labels(tree: Tree, s: Settings) -> Iterator[Violation]:
    used = sorted({o.namespace for o in tree.objects if is_workload(o) and o.namespace})
    namespaces = {o.name: o for o in tree.of_kind("Namespace")}
    for name in used:
        ns = namespaces.get(name)
        if ns is None:
            continue  # a namespace the tree does not create is OVL-NAMESPACE's finding
        labels = ns.metadata.get("labels") or {}
        level = labels.get(PSS_ENFORCE) if isinstance(labels, Mapping) else None
        if level != "restricted":
            yield Violation(f"metadata.labels[{PSS_ENFORCE}]",
                            f"Pod Security enforce level {level or 'unset'}, expected "
                            "restricted", subject=ns.ref)


def _is(kind: str) -> Any:
    return lambda obj: obj.kind == kind


def _has_workloads(tree: Tree) -> bool:
    return any(is_workload(o) for o in tree.objects)


RULES: list[ObjectRule | TreeRule] = [
    TreeRule(_info("BP-INTERNAL-CLUSTERIP", "The backend and MongoDB are reachable only inside "
                   "the cluster", "make their Services type ClusterIP, without externalIPs",
                   "best-practice"), check_internal_services,
             lambda tree: any(True for _ in tree.of_kind("Service"))),
    ObjectRule(_info("BP-IMAGE-REGISTRY", "Images come from the allowed registries",
                     "pull from the project's registry (profile image_registries)",
                     "best-practice"), is_workload, check_registries),
    ObjectRule(_info("BP-NETPOL-OPEN", "No NetworkPolicy rule admits every peer",
                     "name the peers in from/to (podSelector, namespaceSelector, a narrow "
                     "ipBlock)", "best-practice"),
               _is("NetworkPolicy"), check_netpol_open),
    TreeRule(_info("BP-PSS-ENFORCE", "The namespaces enforce Pod Security restricted",
                   f"label the Namespace {PSS_ENFORCE}: restricted",
                   "best-practice"), check_pss_labels, _has_workloads),
    ObjectRule(_info("PLAN-MONGO-AUTH", "Every mongod starts with authentication",
                     "run replica-set members with --keyFile (standalone: --auth)",
                     "plan"), roles.is_mongo, check_mongo_auth),
    ObjectRule(_info("PLAN-NODE-ENV", "The applications run in production mode",
                     "set NODE_ENV=production (the overlay's ConfigMap or the env)",
                     "plan"), lambda o: is_workload(o), check_node_env),
]

