"""The suite knows a target only through the contract and its profile: no shared code."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import PROJECT

SUITE_SIDE = ["fixtures", "suites", "load", "conftest.py"]
REFERENCE_SIDE = ["reference"]


def _imports(paths: list[str], base: Path = PROJECT) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for top in paths:
        root = base / top
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in files:
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(
                        str(path.relative_to(base)))
    return found


def test_suite_never_imports_the_reference_target() -> None:
    assert "reference" not in _imports(SUITE_SIDE)


def test_reference_target_never_imports_the_suite() -> None:
    imports = _imports(REFERENCE_SIDE)
    assert "fixtures" not in imports and "suites" not in imports


def test_every_gate_has_a_home_in_the_tree() -> None:
    from fixtures.gates import GATES

    assert set(GATES) >= {"manifests", "storage", "database", "auth", "tenancy", "tls",
                          "headers", "load", "rollout"}
    for folder in ("suites/static", "suites/staging", "suites/production"):
        assert (PROJECT / folder).is_dir()


def test_this_scan_would_notice_a_cross_import(tmp_path: Path) -> None:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "sneaky.py").write_text("from reference.faults import FAULTS\n")
    assert _imports(["fixtures"], base=tmp_path) == {"reference": {"fixtures/sneaky.py"}}
