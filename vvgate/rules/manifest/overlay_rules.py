"""Overlay consistency: staging and production differ only where they should."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from vvgate.rules.manifest import plan_expectations as plan
from vvgate.rules.manifest.best_practice import image_tag
from vvgate.rules.manifest.quantity import parse
from vvgate.rules.manifest.workload import POD_SPEC_PATH, containers, get, replicas
from vvgate.rules.model import (
    ManifestObject,
    NotApplicable,
    PairRule,
    RuleInfo,
    Settings,
    Tree,
    TreeRule,
    Violation,
    advice,
)

# Kustomize's generator suffix: a dash and ten characters of its own alphabet.
GENERATED_SUFFIX = re.compile(r"-[bcdfghkmntz2456789]{10}\b")
CLUSTER_SCOPED = frozenset({"Namespace", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                            "PersistentVolume", "ClusterIssuer", "PriorityClass",
                            "CustomResourceDefinition", "IngressClass"})
MAX_PATHS_SHOWN = 5


def _info(rule_id: str, title: str, hint: str) -> RuleInfo:
    return RuleInfo(rule_id, title, hint, "overlay")


def check_namespace(tree: Tree, s: Settings) -> Iterator[Violation]:
    env = plan.environment(tree.name, s)
    namespaced = [o for o in tree.objects if o.kind not in CLUSTER_SCOPED]
    found = sorted({o.namespace or "" for o in namespaced})
    want = env.namespace if env else (found[0] if len(found) == 1 else None)
    for obj in namespaced:
        if want is None or obj.namespace != want:
            yield Violation("metadata.namespace", f"namespace {obj.namespace!r}, expected "
                            f"{want or 'one namespace for the whole overlay'}", subject=obj.ref)
    if want and tree.find("Namespace", want) is None:
        yield Violation("(object)", f"the overlay does not create Namespace {want}",
                        subject=f"{tree.name}/Namespace/{want}")


def check_no_staging_images(tree: Tree, s: Settings) -> Iterator[Violation]:
    for obj in tree.objects:
        for path, c in containers(obj):
            tag = image_tag(str(c.get("image") or "")) or ""
            if tag == plan.PROMOTION_IMAGE_TAG or tag.startswith("latest"):
                yield Violation(f"{path}.image", f"production runs the mutable tag {tag!r}",
                                subject=obj.ref)


def _tokens(tree: Tree, s: Settings) -> list[tuple[str, str]]:
    env = plan.environment(tree.name, s)
    if env is None:
        raise NotApplicable(f"no expectations for overlay {tree.name!r}")
    # Longest first, so a namespace is not half-replaced by the overlay's name.
    pairs = [(env.tls_secret, "<tls-secret>"), (env.namespace, "<namespace>"),
             (env.host, "<host>"), (env.issuer, "<issuer>")]
    return sorted(pairs, key=lambda p: -len(p[0]))


def _blank(doc: dict[str, Any]) -> dict[str, Any]:
    """Remove the fields overlays may set differently: replicas, resources, tags, sizes."""
    spec = doc.get("spec")
    if isinstance(spec, dict):
        spec.pop("replicas", None)
        if doc.get("kind") == "HorizontalPodAutoscaler":
            spec.pop("minReplicas", None)
            spec.pop("maxReplicas", None)
        for claim in spec.get("volumeClaimTemplates") or []:
            (get(claim, "spec.resources") or {}).pop("requests", None)
    pod = get(doc, POD_SPEC_PATH.get(str(doc.get("kind")), "-"))
    if isinstance(pod, dict):
        for key in ("initContainers", "containers"):
            for c in pod.get(key) or []:
                c.pop("resources", None)
                if isinstance(c.get("image"), str):
                    c["image"] = re.split(r"[@]|:(?=[^/]*$)", c["image"])[0]
    return doc


def _normalised(tree: Tree, s: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    tokens = _tokens(tree, s)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in tree.objects:
        text = GENERATED_SUFFIX.sub("", json.dumps(obj.doc, sort_keys=True))
        for value, token in tokens:
            text = text.replace(value, token)
        doc = _blank(json.loads(text))
        name = str(get(doc, "metadata.name"))
        out[(obj.kind, name)] = doc
    return out


def _diff(a: Any, b: Any, path: str = "") -> Iterator[str]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            yield from _diff(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield path or "(object)"


def check_only_expected_diffs(staging: Tree, prod: Tree, s: Settings) -> Iterator[Violation]:
    left, right = _normalised(staging, s), _normalised(prod, s)
    for key in sorted(set(left) | set(right)):
        subject = f"{prod.name}/{key[0]}/{key[1]}"
        if key not in right:
            yield Violation("(object)", f"{key[0]} {key[1]} exists only in {staging.name}",
                            subject=subject)
        elif key not in left:
            yield Violation("(object)", f"{key[0]} {key[1]} exists only in {prod.name}",
                            subject=subject)
        else:
            paths = list(_diff(left[key], right[key]))
            if paths:
                shown = ", ".join(paths[:MAX_PATHS_SHOWN])
                more = f" (+{len(paths) - MAX_PATHS_SHOWN} more)" if len(
                    paths) > MAX_PATHS_SHOWN else ""
                yield Violation(paths[0], f"differs from {staging.name} beyond namespace, host, "
                                          f"TLS secret, replicas, resources, volume sizes "
                                          f"and image tags: {shown}{more}",
                                subject=subject)


def _smaller(prod_value: Any, staging_value: Any) -> bool:
    p, st = parse(prod_value), parse(staging_value)
    if st is None:
        return False
    return p is None or p < st


def _compare_containers(st: ManifestObject, pr: ManifestObject) -> Iterator[Violation]:
    prod_containers = {c.get("name"): (path, c) for path, c in containers(pr)}
    for _, c in containers(st):
        if c.get("name") not in prod_containers:
            continue
        path, pc = prod_containers[c.get("name")]
        for section in ("requests", "limits"):
            for res in ("cpu", "memory"):
                a = get(c, f"resources.{section}.{res}")
                b = get(pc, f"resources.{section}.{res}")
                if a is not None and _smaller(b, a):
                    yield Violation(f"{path}.resources.{section}.{res}",
                                    f"{res} {section[:-1]} {b} is below staging's {a}",
                                    subject=pr.ref)


def check_prod_not_smaller(staging: Tree, prod: Tree, s: Settings) -> Iterator[Violation]:
    for st in staging.objects:
        pr = prod.find(st.kind, st.name)
        if pr is None:
            continue
        if st.kind in POD_SPEC_PATH:
            a, b = replicas(st, staging), replicas(pr, prod)
            if b < a:
                yield Violation("spec.replicas", f"{b} replicas, staging runs {a}",
                                subject=pr.ref)
            yield from _compare_containers(st, pr)
        if st.kind == "HorizontalPodAutoscaler":
            for key in ("minReplicas", "maxReplicas"):
                a, b = st.spec.get(key, 1), pr.spec.get(key, 1)
                if isinstance(a, int) and isinstance(b, int) and b < a:
                    yield Violation(f"spec.{key}", f"{key} {b}, staging has {a}", subject=pr.ref)
        for i, claim in enumerate(st.spec.get("volumeClaimTemplates") or []):
            prod_claims = pr.spec.get("volumeClaimTemplates") or []
            if i >= len(prod_claims):
                continue
            a = get(claim, "spec.resources.requests.storage")
            b = get(prod_claims[i], "spec.resources.requests.storage")
            if a is not None and _smaller(b, a):
                yield Violation(f"spec.volumeClaimTemplates[{i}].spec.resources.requests.storage",
                                f"volume {b} is below staging's {a}", subject=pr.ref)


def _is_overlay(tree: Tree) -> bool:
    return tree.name != "storage"


RULES: list[TreeRule | PairRule] = [
    TreeRule(_info("OVL-NAMESPACE", "Every object is in the overlay's namespace",
                   "set `namespace:` in the overlay's kustomization and add the Namespace"),
             check_namespace, _is_overlay),
    TreeRule(_info("OVL-NO-STAGING-IMAGES", "Production runs no latest/latest-staging image",
                   "pin production images to sha-<commit> tags promoted from staging"),
             check_no_staging_images, lambda tree: tree.name == "production"),
    PairRule(_info("OVL-ONLY-EXPECTED-DIFFS",
                   "Staging and production differ only in namespace, host, TLS, replicas, "
                   "resources, volume sizes and image tags",
                   "move the difference into base, or make it one of the allowed"),
             check_only_expected_diffs),
    advice(PairRule(_info("OVL-PROD-NOT-SMALLER", "Production is never smaller than staging",
                   "raise production's replicas, resources or volume sizes"),
             check_prod_not_smaller)),
]

