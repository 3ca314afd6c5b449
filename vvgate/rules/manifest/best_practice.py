"""Best-practice rules: the common core of kube-linter, Polaris and Checkov."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from vvgate.rules.manifest.workload import (
    containers,
    pod_labels,
    pod_spec,
    replicas,
    selector_matches,
)
from vvgate.rules.model import (
    LONG_RUNNING,
    WORKLOADS,
    ManifestObject,
    ObjectRule,
    RuleInfo,
    Settings,
    Tree,
    TreeRule,
    Violation,
    advice,
)

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIAL)", re.I
)
URI_CREDENTIALS = re.compile(r"://([^:/@\s]+):([^@\s]+)@")
# Kubelet-expanded references to other env entries, e.g. $(MONGODB_PASSWORD).
ENV_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$")
PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Where a secret lives, not the secret: `..._KEY_PATH=/secrets/key.pem`, `..._FILE=...`.
FILE_REFERENCE_NAME = re.compile(r"_(PATH|FILE|DIR|DIRECTORY)$", re.I)
ABSOLUTE_PATH = re.compile(r"^/[\w.@/-]*$")


def _info(rule_id: str, title: str, hint: str) -> RuleInfo:
    return RuleInfo(rule_id, title, hint, "best-practice")


def is_workload(obj: ManifestObject) -> bool:
    return obj.kind in WORKLOADS and pod_spec(obj) is not None


def is_long_running(obj: ManifestObject) -> bool:
    return obj.kind in LONG_RUNNING and pod_spec(obj) is not None


def _security(container: Mapping[str, Any]) -> Mapping[str, Any]:
    ctx = container.get("securityContext")
    return ctx if isinstance(ctx, Mapping) else {}


def check_read_only_root(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, c in containers(obj):
        if _security(c).get("readOnlyRootFilesystem") is not True:
            yield Violation(f"{path}.securityContext.readOnlyRootFilesystem",
                            "root filesystem is writable")


def check_resources(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, c in containers(obj):
        res = c.get("resources") or {}
        for section in ("requests", "limits"):
            values = res.get(section) or {}
            missing = [r for r in ("cpu", "memory") if r not in values]
            if missing:
                yield Violation(f"{path}.resources.{section}",
                                f"no {section[:-1]} for {' and '.join(missing)}")


def _probe_check(kind: str) -> Any:
    def check(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
        for path, c in containers(obj, init=False):
            if not isinstance(c.get(kind), Mapping):
                yield Violation(f"{path}.{kind}", f"container {c.get('name')!r} has no {kind}")
    return check


def check_probes_distinct(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, c in containers(obj, init=False):
        live, ready = c.get("livenessProbe"), c.get("readinessProbe")
        if live is not None and live == ready:
            yield Violation(f"{path}.readinessProbe",
                            "readiness probe is identical to the liveness probe")


def image_tag(image: str) -> str | None:
    """The tag of IMAGE; None when absent. A digest counts as a pinned tag."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def check_image_tag(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, c in containers(obj):
        image = str(c.get("image") or "")
        tag = image_tag(image)
        if not image:
            yield Violation(f"{path}.image", "no image")
        elif not tag:
            yield Violation(f"{path}.image", f"image {image!r} has no tag (means latest)")
        elif tag == "latest":
            yield Violation(f"{path}.image", f"image {image!r} uses the mutable tag latest")


def labels_path(obj: ManifestObject) -> str:
    return "metadata.labels" if obj.kind == "Pod" else "spec.template.metadata.labels"


def _selects(policy_or_pdb: ManifestObject, obj: ManifestObject, key: str) -> bool:
    if policy_or_pdb.namespace != obj.namespace:
        return False
    selector = policy_or_pdb.spec.get(key)
    return isinstance(selector, Mapping) and selector_matches(selector, pod_labels(obj))


def check_pdb(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    count = replicas(obj, tree)
    if count > 1 and not any(_selects(p, obj, "selector")
                             for p in tree.of_kind("PodDisruptionBudget")):
        yield Violation(labels_path(obj),
                        f"{count} replicas but no PodDisruptionBudget selects them")


def check_spread(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    found = pod_spec(obj)
    count = replicas(obj, tree)
    if found is None or count < 2:
        return
    path, spec = found
    anti = (spec.get("affinity") or {}).get("podAntiAffinity")
    if not anti and not spec.get("topologySpreadConstraints"):
        yield Violation(f"{path}.affinity",
                        f"{count} replicas with neither pod anti-affinity nor topology spread")


def _policy_types(policy: ManifestObject) -> set[str]:
    types = policy.spec.get("policyTypes")
    if types:
        return set(types)
    return {"Ingress"} | ({"Egress"} if policy.spec.get("egress") else set())


def check_netpol_coverage(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    own = [
        p for p in tree.of_kind("NetworkPolicy")
        if (p.spec.get("podSelector") or {}) and _selects(p, obj, "podSelector")
    ]
    if not own:
        yield Violation(labels_path(obj),
                        "no NetworkPolicy of its own declares this workload's allowed flows")


def _is_default_deny(policy: ManifestObject, direction: str) -> bool:
    selector = policy.spec.get("podSelector")
    return (
        selector == {}
        and direction in _policy_types(policy)
        and not policy.spec.get(direction.lower())
    )


def check_default_deny(tree: Tree, s: Settings) -> Iterator[Violation]:
    namespaces = sorted({o.namespace or "" for o in tree.objects if is_workload(o)})
    for ns in namespaces:
        policies = [p for p in tree.of_kind("NetworkPolicy") if (p.namespace or "") == ns]
        for direction in ("Ingress", "Egress"):
            if not any(_is_default_deny(p, direction) for p in policies):
                yield Violation("spec.podSelector",
                                f"namespace {ns or '(none)'} has no default-deny "
                                f"{direction} NetworkPolicy",
                                subject=f"{tree.name}/Namespace/{ns or '(none)'}")


def _secret_looking(name: str, value: str) -> str | None:
    if PEM_KEY.search(value):
        return "holds a PEM private key"
    uri = URI_CREDENTIALS.search(value)
    if uri and not ENV_REFERENCE.match(uri.group(2)):
        return "holds a URI with an inline password"
    literal = value.strip()
    if FILE_REFERENCE_NAME.search(name) or ABSOLUTE_PATH.match(literal):
        return None
    if SECRET_NAME.search(name) and literal and not ENV_REFERENCE.match(literal):
        return f"{name} looks like a secret but is a literal value"
    return None


def check_configmap_secrets(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for section in ("data", "binaryData"):
        for key, value in (obj.doc.get(section) or {}).items():
            why = _secret_looking(str(key), str(value))
            if why:
                yield Violation(f"{section}.{key}", f"ConfigMap key {why}")


def check_env_secrets(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, c in containers(obj):
        for i, env in enumerate(c.get("env") or []):
            if not isinstance(env, Mapping) or "value" not in env:
                continue
            why = _secret_looking(str(env.get("name", "")), str(env.get("value") or ""))
            if why:
                yield Violation(f"{path}.env[{i}].value", f"env {why}; use secretKeyRef")


def check_sa_token(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    found = pod_spec(obj)
    if found is None:
        return
    path, spec = found
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    if account == "default" and spec.get("automountServiceAccountToken") is not False:
        yield Violation(f"{path}.automountServiceAccountToken",
                        "the default ServiceAccount's API token is mounted but never used")


def _rule(rule_id: str, title: str, hint: str, check: Any,
          applies: Any = is_workload) -> ObjectRule:
    return ObjectRule(_info(rule_id, title, hint), applies, check)


RULES: list[ObjectRule | TreeRule] = [
    _rule("BP-READ-ONLY-ROOT-FS", "Root filesystems are read-only",
          "set readOnlyRootFilesystem: true; mount emptyDirs where the app writes",
          check_read_only_root),
    _rule("BP-RESOURCES", "CPU and memory requests and limits are set",
          "set resources.requests and resources.limits for cpu and memory", check_resources),
    _rule("BP-LIVENESS-PROBE", "Long-running containers have a liveness probe",
          "add a livenessProbe", _probe_check("livenessProbe"), is_long_running),
    _rule("BP-READINESS-PROBE", "Long-running containers have a readiness probe",
          "add a readinessProbe", _probe_check("readinessProbe"), is_long_running),
    advice(_rule("BP-PROBES-DISTINCT", "Readiness differs from liveness",
          "probe readiness on its own endpoint or with its own thresholds",
          check_probes_distinct, is_long_running)),
    _rule("BP-IMAGE-TAG", "Images carry a pinned tag, not latest",
          "pin the image to a version or sha-<commit> tag", check_image_tag),
    advice(_rule("BP-PDB", "Multi-replica workloads have a PodDisruptionBudget",
          "add a PodDisruptionBudget selecting the pods", check_pdb, is_long_running)),
    advice(_rule("BP-SPREAD", "Multi-replica workloads spread over nodes",
          "add podAntiAffinity or topologySpreadConstraints", check_spread, is_long_running)),
    _rule("BP-NETPOL-COVERAGE", "Every workload has its own NetworkPolicy",
          "add a NetworkPolicy selecting the pods that allows only their flows",
          check_netpol_coverage),
    TreeRule(_info("BP-NETPOL-DEFAULT-DENY", "Namespaces deny all traffic by default",
                   "add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress]"),
             check_default_deny,
             lambda tree: any(is_workload(o) for o in tree.objects)),
    _rule("BP-CONFIGMAP-NO-SECRETS", "ConfigMaps hold no secrets",
          "move the value to a Secret", check_configmap_secrets,
          lambda o: o.kind == "ConfigMap"),
    _rule("BP-ENV-NO-LITERAL-SECRETS", "No secret-looking literal env values",
          "use valueFrom.secretKeyRef", check_env_secrets),
    _rule("BP-SA-TOKEN", "No API token automount for the default ServiceAccount",
          "set automountServiceAccountToken: false in the pod spec", check_sa_token),
]
