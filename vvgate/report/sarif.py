"""Findings as SARIF 2.1.0, for GitHub code-scanning upload."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from vvgate.rules.model import Finding, RuleInfo
from vvgate.rules.source_lines import line_of

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "vinylvault-gate static"


@lru_cache(maxsize=64)
def repository_root(directory: Path) -> Path | None:
    """The git work tree holding `directory`: code scanning places results relative to it."""
    for folder in (directory, *directory.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _uri(source: str | None, base: Path) -> str:
    """The source file relative to the root of the repository holding it (the application's
    own, for its manifests), else relative to `base`."""
    if not source:
        return "."
    path = Path(source).resolve()
    root = repository_root(path.parent) or base
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return path.as_posix()


def _line(finding: Finding) -> int:
    parts = finding.subject.split("/")
    if len(parts) < 3:
        return 1
    return line_of(finding.source, parts[1], parts[-1], finding.path)


def document(findings: Iterable[Finding], rules: Iterable[RuleInfo], base: Path) -> dict[str, Any]:
    rule_list = sorted({r.id: r for r in rules}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rule_list)}
    level = {r.id: r.severity for r in rule_list}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index.get(f.rule, -1),
            "level": level.get(f.rule, "error"),
            "message": {"text": f"{f.subject} {f.path}: {f.message} (fix: {f.hint})"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": _uri(f.source, base)},
                                     "region": {"startLine": _line(f)}},
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
                     "defaultConfiguration": {"level": r.severity},
                     "properties": {"category": r.category, "plan": list(r.plan)}}
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
