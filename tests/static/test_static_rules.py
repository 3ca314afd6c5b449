"""Each manifest rule fails on a copy of the manifests mutated to break it, and only it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from static_mutations import Mutation, apply, copy_manifests, trees
from static_rule_mutations import MUTATIONS

from vvgate.rules.app_repo import check_workflow_sha_tags
from vvgate.rules.engine import documented_secrets, evaluate, load_trees
from vvgate.rules.manifest import ALL_RULES
from vvgate.rules.manifest.best_practice import _secret_looking
from vvgate.rules.model import ManifestObject, Settings, Tree

SETTINGS = Settings("1.33")


def test_every_rule_has_a_mutation() -> None:
    assert {m.rule for m in MUTATIONS} == {r.info.id for r in ALL_RULES}


def test_own_manifests_pass_every_rule() -> None:
    found = evaluate(load_trees(Path(__file__).resolve().parents[2] / "manifests"), SETTINGS)
    assert [f.line() for f in found] == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_mutation_breaks_exactly_its_rule(mutation: Mutation, tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    apply(root, mutation)
    found = evaluate(trees(root, mutation.trees), SETTINGS)
    failing = {f.rule for f in found}
    assert failing == {mutation.rule}, "\n".join(f.line() for f in found) or "no finding"
    for finding in found:
        assert finding.subject and finding.path and finding.message and finding.hint


FOREIGN = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: mongodb, namespace: vv}
spec:
  serviceName: mongodb
  replicas: 1
  selector: {matchLabels: {app: mongodb}}
  template:
    metadata: {labels: {app: mongodb}}
    spec:
      containers:
        - {name: mongodb, image: "mongo:7", args: [--replSet, rs0, --bind_ip_all]}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {storageClassName: local-path, resources: {requests: {storage: 5Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: vv}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - {name: api, image: "ghcr.io/mloitzl/vinylvault-bff:sha-1234567"}
"""


def _foreign_rules(settings: Settings) -> dict[str, set[str]]:
    objects = tuple(ManifestObject("foreign", doc) for doc in yaml.safe_load_all(FOREIGN))
    found = evaluate([Tree("foreign", objects)], settings)
    out: dict[str, set[str]] = {}
    for f in found:
        out.setdefault(f.subject, set()).add(f.rule)
    return out


def test_rules_find_a_database_and_an_app_by_role_not_by_name() -> None:
    # One `mongodb` StatefulSet and a BFF called `api`, as a real tree may have them.
    found = _foreign_rules(SETTINGS)
    mongo = found["foreign/StatefulSet/vv/mongodb"]
    assert {"PLAN-MONGO-AUTH", "PLAN-MONGO-STORAGE", "PLAN-MONGO-HEADLESS",
            "PLAN-MONGO-ISOLATION"} <= mongo, mongo
    assert "BP-IMAGE-REGISTRY" not in mongo  # mongo:7 is Docker Hub's official image
    assert "PLAN-NODE-ENV" in found["foreign/Deployment/vv/api"]
    # The profile's StorageClass is the expected one for its own tree.
    local_path = _foreign_rules(Settings("1.33", storage_class="local-path"))
    assert "PLAN-MONGO-STORAGE" not in local_path["foreign/StatefulSet/vv/mongodb"]


def test_what_real_trees_showed_is_no_longer_a_false_alarm(tmp_path: Path) -> None:
    # A path to a key is where the secret lives, not the secret.
    assert _secret_looking("GITHUB_APP_PRIVATE_KEY_PATH", "/secrets/key.pem") is None
    assert _secret_looking("JWT_SECRET", "hunter2-but-longer") is not None
    # A commit tag computed by git itself.
    workflow = ("jobs:\n  build:\n    steps:\n      - run: |\n          TAG=sha-$(git rev-parse "
                "--short HEAD)\n          docker build -t ghcr.io/x/y:$TAG .\n")
    assert list(check_workflow_sha_tags(tmp_path / "build.yml", workflow)) == []
    # Secrets documented beside the overlay, as kubectl commands.
    overlay = tmp_path / "overlays" / "staging"
    overlay.mkdir(parents=True)
    (overlay / "SECRETS.md").write_text(
        "```sh\nkubectl -n vinylvault-staging create secret generic github-secrets \\\n"
        "  --from-file=key.pem\nkubectl create secret tls vinylvault-tls --cert=c --key=k\n```\n")
    assert documented_secrets(tmp_path, overlay) == {"github-secrets", "vinylvault-tls"}
