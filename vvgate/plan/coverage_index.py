"""Which checks of this project's suites claim which plan items: the coverage index.

It is committed (coverage_index.json) so that `vvgate plan` answers without collecting, and a
run can tell an item whose checks were not selected ("not run") from one no check claims
("no check"). tests/test_plan_coverage.py collects the suites and fails when the file is
stale, and says which item lost its last check, so coverage never drops unnoticed;
`vvgate plan --write-index` rewrites it.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from vvgate.errors import ConfigError
from vvgate.paths import PROJECT_ROOT, SUITES_DIR
from vvgate.plan.claims import Claim, claim_of
from vvgate.plan.items import load_plan

INDEX_FILE = Path(__file__).with_name("coverage_index.json")
SUITES = ("static", "staging", "production")
# Collected as a staging run that may run everything: no check is deselected by kind.
_PROFILE = PROJECT_ROOT / "targets" / "staging.yaml"


@dataclass(frozen=True)
class IndexedCheck:
    check: str
    suite: str  # static, staging or production
    gate: str | None
    destructive: bool
    ids: tuple[str, ...]


def suite_of(node: str) -> str:
    parts = node.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "suites" else "other"


def from_claims(claims: dict[str, Claim]) -> list[IndexedCheck]:
    """One entry per check (node ids of one check merge), sorted."""
    merged: dict[str, IndexedCheck] = {}
    for node, claim in claims.items():
        seen = merged.get(claim.check)
        ids = tuple(sorted(set(claim.ids) | set(seen.ids if seen else ()), key=_id_key))
        merged[claim.check] = IndexedCheck(claim.check, suite_of(node), claim.gate,
                                           claim.destructive, ids)
    return sorted(merged.values(), key=lambda c: (c.suite, c.check))


def _id_key(item_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in item_id.split("."))


def write(checks: list[IndexedCheck], path: Path = INDEX_FILE) -> None:
    rows = [{**asdict(c), "ids": list(c.ids)} for c in checks]
    path.write_text(json.dumps({"checks": rows}, indent=1) + "\n", encoding="utf-8")


def read(path: Path = INDEX_FILE) -> list[IndexedCheck]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [IndexedCheck(r["check"], r["suite"], r["gate"], r["destructive"], tuple(r["ids"]))
            for r in data.get("checks", [])]


def checks_by_item(checks: list[IndexedCheck]) -> dict[str, list[IndexedCheck]]:
    out: dict[str, list[IndexedCheck]] = {}
    for check in checks:
        for item_id in check.ids:
            out.setdefault(item_id, []).append(check)
    return out


class _Collected:
    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}
        self.unclaimed: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        plan = load_plan()
        for item in session.items:
            claim = claim_of(item, plan)
            if claim is None:
                self.unclaimed.append(item.nodeid)
            else:
                self.claims[item.nodeid] = claim


def collect() -> list[IndexedCheck]:
    """Collect every suite of this project (nothing runs) and index what each check claims.
    Every check of the project's suites names the plan items it verifies."""
    with tempfile.TemporaryDirectory(prefix="vvgate-plan-index-") as tmp:
        profile = yaml.safe_load(_PROFILE.read_text(encoding="utf-8"))
        profile.update(name="plan-index", allow_destructive=True)
        path = Path(tmp, "plan-index.yaml")
        path.write_text(yaml.safe_dump(profile), encoding="utf-8")
        collected, listing = _Collected(), io.StringIO()
        with contextlib.redirect_stdout(listing):
            code = pytest.main([*(str(SUITES_DIR / s) for s in SUITES), "--collect-only", "-q",
                                "-p", "vvgate.gates.plugin",
                                "-c", str(PROJECT_ROOT / "pyproject.toml"),
                                "--rootdir", str(PROJECT_ROOT), "--target", str(path),
                                "--report-dir", str(Path(tmp, "reports"))],
                               plugins=[collected])
    if code != 0 or not collected.claims:
        tail = " | ".join(listing.getvalue().strip().splitlines()[-2:])
        raise ConfigError(f"collecting the suites for the plan's coverage failed (pytest exit "
                          f"{int(code)}): {tail[-300:]}")
    if collected.unclaimed:
        raise ConfigError(f"{collected.unclaimed[0]} names no plan item (and "
                          f"{len(collected.unclaimed) - 1} more): mark it "
                          "@pytest.mark.plan(ID, ...)")
    return from_claims(collected.claims)
