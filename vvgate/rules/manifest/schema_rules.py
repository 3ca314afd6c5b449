"""Schema rules: built-in kinds against the bundled strict schemas, custom kinds against ours."""

from __future__ import annotations

from collections.abc import Iterator

from vvgate.rules import schema_validation
from vvgate.rules.manifest.crd_rules import check_custom_resource
from vvgate.rules.model import (
    ManifestObject,
    ObjectRule,
    RuleInfo,
    Settings,
    Tree,
    Violation,
)


def is_builtin(obj: ManifestObject) -> bool:
    """Kinds Kubernetes itself serves: the core group, dot-less groups and *.k8s.io."""
    group = obj.group
    return "." not in group or group.endswith(".k8s.io")


def check_schema(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    if not schema_validation.has_schema(obj.doc, s.k8s_version):
        yield Violation("apiVersion", f"Kubernetes {s.k8s_version} serves no "
                                      f"{obj.api_version} {obj.kind} (removed or misspelt)")
        return
    for error in schema_validation.validate(obj.doc, s.k8s_version):
        yield Violation(error.path, error.message)


def check_crd(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    yield from check_custom_resource(obj)


RULES = [
    ObjectRule(RuleInfo("K8S-SCHEMA", "Built-in kinds validate against the strict schema",
                        "fix or remove the reported field (strict: unknown fields are errors)",
                        "schema"), is_builtin, check_schema),
    ObjectRule(RuleInfo("K8S-CRD", "Custom resources pass their explicit rule set",
                        "fill in the required fields, or add a rule set for the kind",
                        "schema"), lambda o: not is_builtin(o), check_crd),
]
