"""Findings as SARIF 2.1.0, for GitHub code-scanning upload."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vvgate.rules.model import Finding, RuleInfo

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "vinylvault-gate static"


def _uri(source: str | None, base: Path) -> str:
    if not source:
        return "."
    try:
        return Path(os.path.relpath(source, base)).as_posix()
    except ValueError:
        return Path(source).as_posix()


def document(findings: Iterable[Finding], rules: Iterable[RuleInfo], base: Path) -> dict[str, Any]:
    rule_list = sorted({r.id: r for r in rules}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rule_list)}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index.get(f.rule, -1),
            "level": "error",
            "message": {"text": f"{f.subject} {f.path}: {f.message} (fix: {f.hint})"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": _uri(f.source, base)},
                                     "region": {"startLine": 1}},
                "logicalLocations": [{"fullyQualifiedName": f"{f.subject}#{f.path}"}],
            }],
            "partialFingerprints": {"vvgate/v1": f"{f.rule}|{f.subject}|{f.path}"},
        }
        for f in findings
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL,
                "informationUri": "https://github.com/mloitzl/vinylvault",
                "rules": [
                    {"id": r.id, "name": r.id, "shortDescription": {"text": r.title},
                     "help": {"text": r.hint},
                     "properties": {"category": r.category, "phase": r.phase}}
                    for r in rule_list
                ],
            }},
            "results": results,
        }],
    }


def write(path: Path, findings: Iterable[Finding], rules: Iterable[RuleInfo], base: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document(findings, rules, base), indent=2) + "\n",
                    encoding="utf-8")
