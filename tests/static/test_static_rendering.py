"""Rendering, placeholders for git-ignored secret files, and strict schema validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from static_mutations import copy_manifests

from vvgate.errors import ConfigError
from vvgate.kube import kustomize
from vvgate.rules import schema_validation
from vvgate.rules.manifest.crd_rules import check_custom_resource
from vvgate.rules.model import ManifestObject


def test_manifests_root_discovers_overlays_and_storage() -> None:
    root = Path(__file__).resolve().parents[2] / "manifests"
    assert [t.name for t in kustomize.discover(root)] == ["local", "production", "staging",
                                                         "storage"]


def test_overlay_directory_is_one_target(tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    [target] = kustomize.discover(root / "overlays" / "staging")
    assert (target.name, target.root) == ("staging", root.resolve())


@pytest.mark.parametrize("bad", ["missing", "file", "empty"])
def test_bad_manifests_path_is_a_config_error(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "x"
    if bad == "file":
        path.write_text("")
    elif bad == "empty":
        path.mkdir()
    with pytest.raises(ConfigError) as info:
        kustomize.discover(path)
    assert "\n" not in str(info.value)


def test_kustomize_failure_is_a_one_line_config_error(tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    (root / "base" / "kustomization.yaml").write_text("resources:\n  - does-not-exist.yaml\n")
    [target] = kustomize.discover(root / "overlays" / "staging")
    with pytest.raises(ConfigError, match=r"kustomize .* failed") as info:
        kustomize.render_directory(target)
    assert "\n" not in str(info.value)


def test_secret_files_become_placeholders_and_real_ones_are_never_read(tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    secrets = root / "overlays" / "staging" / "secrets"
    secrets.mkdir()
    (secrets / "app-secrets.env").write_text("SESSION_SECRET=real-value\nJWT_SECRET=real-jwt\n")
    [target] = kustomize.discover(root / "overlays" / "staging")
    rendered = kustomize.render_directory(target)
    assert "overlays/staging/secrets/app-secrets.env" in rendered.placeholders
    app = next(d for d in rendered.documents if d["metadata"]["name"] == "app-secrets")
    assert set(app["data"]) == {"SESSION_SECRET", "JWT_SECRET"}
    text = str(rendered.documents)
    assert "real-value" not in text and "cmVhbC12YWx1ZQ" not in text


def test_secret_without_template_is_marked_keys_unknown(tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    for f in (root / "overlays" / "staging" / "secrets.example").iterdir():
        f.unlink()
    [target] = kustomize.discover(root / "overlays" / "staging")
    docs = kustomize.render_directory(target).documents
    app = next(d for d in docs if d["metadata"]["name"] == "app-secrets")
    assert set(app["data"]) == {kustomize.UNKNOWN_KEYS_MARKER}


def test_schema_reports_every_error_not_only_the_first() -> None:
    doc = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "bogus": 1, "template": {"spec": {
            "containers": [{"image": "a:1", "ports": [{"containerPort": "http"}]}]}}},
    }
    errors = schema_validation.validate(doc, "1.33")
    paths = {e.path for e in errors}
    assert {"spec", "spec.replicas", "spec.template.spec.containers[0]",
            "spec.template.spec.containers[0].ports[0].containerPort"} <= paths
    assert len(errors) >= 4


def test_schema_version_falls_back_to_newest_older_bundle() -> None:
    assert schema_validation.schema_dir("1.99").name.startswith("v1.37")
    assert schema_validation.schema_dir("1.33").name == "v1.33.0-local-strict"
    with pytest.raises(ConfigError):
        schema_validation.schema_dir("1.2")


def test_unknown_custom_kind_never_passes_silently() -> None:
    obj = ManifestObject("t", {"apiVersion": "example.com/v1", "kind": "Widget",
                               "metadata": {"name": "w"}, "spec": {"a": 1}})
    [violation] = list(check_custom_resource(obj))
    assert "no bundled schema" in violation.message


def test_certificate_rule_set() -> None:
    obj = ManifestObject("t", {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                               "metadata": {"name": "c"}, "spec": {"secretName": "s"}})
    assert {v.path for v in check_custom_resource(obj)} == {"spec.issuerRef.name",
                                                            "spec.dnsNames"}


def test_foreign_tree_renders_offline_and_is_judged() -> None:
    from vvgate.rules.engine import evaluate, load_trees
    from vvgate.rules.model import Settings

    root = Path(__file__).resolve().parents[1] / "data" / "foreign-manifests"
    found = evaluate(load_trees(root), Settings("1.33"))
    rules = {f.rule for f in found}
    assert {"PSS-RESTRICTED", "BP-ENV-NO-LITERAL-SECRETS", "PLAN-INGRESS-HOST",
            "PLAN-INGRESS-TLS", "PLAN-INVENTORY", "PLAN-SERVICES"} <= rules
    # Its secret file has no template: keys are unknown, so no key is reported missing.
    assert "PLAN-REFERENCES" not in rules


def test_a_tree_is_judged_against_the_profile_that_deploys_it_whatever_its_name() -> None:
    from vvgate.rules.engine import evaluate, load_trees
    from vvgate.rules.manifest.plan_expectations import profile_overlay
    from vvgate.rules.model import Settings

    root = Path(__file__).resolve().parents[1] / "data" / "foreign-manifests"
    trees = load_trees(root)
    # A profile called pi-staging deploys overlays/staging, as the deployment fixture does.
    overlay = profile_overlay([t.name for t in trees], "staging", "pi-staging")
    assert overlay == "staging"

    def hosts(settings: Settings) -> list[str]:
        return [f.message for f in evaluate(trees, settings) if f.rule == "PLAN-INGRESS-HOST"]

    # The seed plan spells the staging host antisozializer; this tree and its profile do not.
    assert hosts(Settings("1.33"))
    assert hosts(Settings("1.33", profile_overlay=overlay, profile_kind="staging",
                          host="vinylvault.antisocializer.org")) == []
    assert profile_overlay(["stage"], "staging", "pi") == "stage"  # the only tree
    assert profile_overlay(["a", "b"], "staging", "pi") is None
