"""Each run leaves report.html, junit.xml and gates.json in its own folder, and a step summary."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import Workspace
from vvgate.report.summary import SCHEMA, SCHEMA_VERSION

SUITE = """
import pytest
pytestmark = [pytest.mark.gate("headers"), pytest.mark.phase1]
@pytest.mark.smoke
def test_hsts(evidence):
    evidence.exchange("GET /health",
                      "GET /health HTTP/1.1\\nHost: demo.example.test",
                      "HTTP/1.1 200 OK\\nx-powered-by: Express")
    assert False, "X-Powered-By must be absent"
def test_nosniff(): pass
"""


def test_run_writes_all_reports_under_a_timestamped_folder(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    run = ws.run()
    assert run.code == 1
    assert re.fullmatch(r"demo-\d{8}T\d{6}Z", run.run_dir.name)
    assert (ws.reports / "latest").is_symlink()
    assert {p.name for p in run.run_dir.iterdir()} == {"report.html", "junit.xml", "gates.json"}
    assert f"vvgate: report: {run.run_dir / 'report.html'}" in run.stdout.replace(
        str(ws.reports / "latest"), str(run.run_dir))


def test_second_run_gets_its_own_folder_and_latest_moves(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    first = ws.run().run_dir
    second = ws.run().run_dir
    assert first != second
    assert (ws.reports / "latest").resolve() == second


def test_gates_json_has_the_documented_schema(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    doc = ws.run().gates()
    assert doc["schema"] == SCHEMA and doc["schema_version"] == SCHEMA_VERSION
    assert doc["schema_version"] == 2
    assert set(doc) == {"schema", "schema_version", "target", "run", "verdict", "exit_code",
                        "error", "interrupted", "failing_gates", "unverified_gates", "gates",
                        "expired_waivers_not_run", "plan"}
    assert doc["target"]["name"] == "demo" and doc["target"]["host"] == "demo.example.test"
    assert set(doc["run"]) >= {"id", "started_at", "finished_at", "duration_s", "report_dir",
                               "requested_gates", "markexpr", "interrupted_by", "notes"}
    gate = doc["gates"][0]
    assert set(gate) == {"name", "summary", "severity", "verdict", "blocks", "not_verified",
                         "counts", "duration_s", "waivers", "failures", "inconclusive", "skips",
                         "data"}
    assert set(gate["counts"]) == {"passed", "failed", "inconclusive", "skipped", "waived",
                                   "unfinished"}


def test_html_report_is_self_contained_with_gate_table_target_and_evidence(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    page = (ws.run().run_dir / "report.html").read_text()
    assert '<table id="gates"' in page and "Release gate: FAIL" in page
    assert '<table id="target"' in page and "demo.example.test" in page
    # the failed check's card: its cause, then its evidence inline
    card = page[page.index('<article class="card card-fail">'):]
    card = card[:card.index("</article>")]
    assert '<p class="cause">X-Powered-By must be absent</p>' in card
    assert "x-powered-by: Express" in card
    assert '<link rel="stylesheet" href=' not in page and "<script src=" not in page


def test_junit_xml_lists_every_check(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    root = ET.parse(ws.run().run_dir / "junit.xml").getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "2" and suite.get("failures") == "1"


def test_smoke_marker_selects_the_subset(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    run = ws.run("--smoke")
    counts = run.gate("headers")["counts"]
    assert counts["failed"] == 1 and counts["passed"] == 0
    assert run.gates()["run"]["markexpr"] == "smoke"


def test_github_step_summary_gets_a_markdown_gate_table(ws: Workspace, tmp_path: Path) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    summary = tmp_path / "summary.md"
    ws.run(env={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert "### Release gate for `demo` (demo.example.test): FAILED" in text
    assert re.search(r"^\| headers \| blocking \| FAIL \| 1 \| 1 \|", text, re.M)


def test_no_step_summary_without_the_variable(ws: Workspace, tmp_path: Path) -> None:
    ws.write_profile()
    ws.write_test("test_headers.py", SUITE)
    ws.run()
    assert not list(tmp_path.glob("*.md"))
