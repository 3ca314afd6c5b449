"""The tree's walls: the suite knows a target only through the contract and its profile, the
engine is one installable package, and fixtures/ holds only pytest fixtures."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT

ENGINE = "vvgate"
SUITE_SIDE = [ENGINE, "fixtures", "suites", "load", "conftest.py"]
REFERENCE_SIDE = ["reference"]
CHECKOUT_ONLY = ["fixtures", "reference", "suites", "tests", "load", "conftest"]
MAX_MODULES_PER_FOLDER = 15
MAX_FIXTURE_MODULES = 12


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
    assert not {ENGINE, "fixtures", "suites"} & set(imports), imports


def test_the_engine_imports_neither_fixtures_nor_suites() -> None:
    # The gate plugin registers fixtures/ by name (vvgate.gates.plugin), never by import.
    imports = _imports([ENGINE])
    assert not {"fixtures", "suites", "conftest"} & set(imports), imports


def test_fixtures_never_import_the_suites() -> None:
    assert "suites" not in _imports(["fixtures"])


def test_this_scan_would_notice_a_cross_import(tmp_path: Path) -> None:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "sneaky.py").write_text("from reference.faults import FAULTS\n")
    assert _imports(["fixtures"], base=tmp_path) == {"reference": {"fixtures/sneaky.py"}}


def test_the_distribution_installs_only_the_engine() -> None:
    dist = importlib.metadata.distribution("vinylvault-gate")
    assert (dist.read_text("top_level.txt") or "").split() == [ENGINE]
    # From outside the checkout, only the engine resolves into it.
    probe = ("import importlib.util, json, sys\n"
             "print(json.dumps({n: getattr(importlib.util.find_spec(n), 'origin', None)"
             " for n in sys.argv[1:]}))")
    out = subprocess.run([sys.executable, "-c", probe, ENGINE, *CHECKOUT_ONLY],
                         cwd="/", capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"})
    origins = json.loads(out.stdout)
    assert origins[ENGINE] and Path(origins[ENGINE]).is_relative_to(PROJECT / ENGINE)
    leaked = {n: o for n, o in origins.items()
              if n != ENGINE and o and Path(o).is_relative_to(PROJECT)}
    assert not leaked, f"checkout folders importable from anywhere: {leaked}"


def test_no_engine_folder_holds_more_than_about_fifteen_modules() -> None:
    crowded = {}
    for folder in [PROJECT / ENGINE, *(p.parent for p in (PROJECT / ENGINE).rglob("__init__.py"))]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(modules) > MAX_MODULES_PER_FOLDER:
            crowded[str(folder.relative_to(PROJECT))] = len(modules)
    assert not crowded


def _is_fixture_or_hook(node: ast.FunctionDef) -> bool:
    if node.name.startswith("pytest_"):
        return True
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr in {"fixture", "hookimpl"}:
            return True
    return False


def test_fixtures_hold_only_thin_fixture_modules() -> None:
    modules = sorted((PROJECT / "fixtures").glob("*.py"))
    assert len(modules) <= MAX_FIXTURE_MODULES
    assert not [p for p in (PROJECT / "fixtures").iterdir() if p.is_dir()
                and p.name != "__pycache__"], "fixtures/ has no subpackages"
    strays = []
    for path in modules:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                strays.append(f"{path.name}: class {node.name}")
            elif (isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
                  and not _is_fixture_or_hook(node)):
                strays.append(f"{path.name}: def {node.name}")
    assert not strays, f"engine code in fixtures/ belongs in {ENGINE}/: {strays}"


def test_every_fixture_plugin_is_registered() -> None:
    from fixtures import PLUGINS

    staging = (PROJECT / "suites" / "staging" / "conftest.py").read_text()
    for path in sorted((PROJECT / "fixtures").glob("*.py")):
        if path.name == "__init__.py":
            continue
        name = f"fixtures.{path.stem}"
        assert name in PLUGINS or f"from {name} import" in staging, name


def test_every_gate_has_a_home_in_the_tree() -> None:
    from vvgate.gates.catalog import GATES

    assert set(GATES) >= {"manifests", "storage", "database", "auth", "tenancy", "tls",
                          "headers", "load", "rollout"}
    for folder in ("suites/static", "suites/staging", "suites/production"):
        assert (PROJECT / folder).is_dir()
