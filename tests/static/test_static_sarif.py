"""Findings as SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from pathlib import Path

from vvgate.report import sarif
from vvgate.rules.manifest import ALL_RULES
from vvgate.rules.model import Finding


def test_sarif_document_names_rule_object_path_and_file(tmp_path: Path) -> None:
    source = tmp_path / "overlays" / "staging" / "kustomization.yaml"
    finding = Finding("BP-PDB", "staging/Deployment/ns/frontend", "spec.template.metadata.labels",
                      "2 replicas but no PodDisruptionBudget selects them", "add a PDB",
                      str(source))
    out = tmp_path / "findings.sarif"
    sarif.write(out, [finding], [r.info for r in ALL_RULES], tmp_path)
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    [result] = run["results"]
    assert rules[result["ruleIndex"]]["id"] == "BP-PDB"
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == (
        "overlays/staging/kustomization.yaml")
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "staging/Deployment/ns/frontend#spec.template.metadata.labels")
    assert "add a PDB" in result["message"]["text"]


def test_findings_point_at_the_objects_source_file(tmp_path: Path) -> None:
    from static_mutations import apply, copy_manifests, trees
    from static_rule_mutations import MUTATIONS

    from vvgate.rules.engine import evaluate
    from vvgate.rules.model import Settings

    root = copy_manifests(tmp_path)
    apply(root, next(m for m in MUTATIONS if m.rule == "PLAN-MONGO-SECURITY"))
    [finding] = [f for f in evaluate(trees(root, ("staging",)), Settings("1.33"))]
    assert finding.source == str((root / "base" / "mongodb" / "mongodb-bff.yaml").resolve())


def test_results_land_on_the_line_of_the_field_in_the_checked_repository(tmp_path: Path
                                                                         ) -> None:
    from static_mutations import apply, copy_manifests, trees
    from static_rule_mutations import MUTATIONS

    from vvgate.rules.engine import evaluate
    from vvgate.rules.model import Settings

    repo = tmp_path / "application"
    (repo / ".git").mkdir(parents=True)  # the application's own checkout
    root = copy_manifests(repo / "deploy")
    apply(root, next(m for m in MUTATIONS if m.rule == "PLAN-MONGO-SECURITY"))
    apply(root, next(m for m in MUTATIONS if m.rule == "BP-PDB"))
    found = evaluate(trees(root, ("staging",)), Settings("1.33"))
    doc = sarif.document(found, [r.info for r in ALL_RULES], tmp_path / "elsewhere")
    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    security = results["PLAN-MONGO-SECURITY"]
    where = security["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "deploy/manifests/base/mongodb/mongodb-bff.yaml"
    lines = (root / "base" / "mongodb" / "mongodb-bff.yaml").read_text().splitlines()
    assert "fsGroup: 1000" in lines[where["region"]["startLine"] - 1]
    assert security["level"] == "error" and results["BP-PDB"]["level"] == "warning"
