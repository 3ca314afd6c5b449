"""report.html of a failing run, opened in headless Chromium as the person on call opens it.

A throwaway suite fails a headers check (with its HTTP exchange), leaves a graphql check
inconclusive in set-up (a pymongo error, with the object state it had), misses a load SLO
(with the load figures a load run leaves) and passes and skips one check each. The page is
judged after pytest-html's JavaScript ran, by a small probe added to a copy of it that reads
what is laid out and shown; the screenshot is kept for CI under reports/selftest-screenshots/.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import PROJECT, Workspace

CHROMIUM = Path(os.environ.get("VVGATE_CHROMIUM", "/usr/bin/chromium"))
# Without these Chromium reaches for Google's services, which the closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000"]
WIDTH = 1280
SCREENSHOT = PROJECT / "reports" / "selftest-screenshots" / "report-failing.png"

HEADERS = '''
"""Security headers on every class of response (contract §3, §6)."""
import pytest
pytestmark = [pytest.mark.gate("headers"), pytest.mark.phase1]

def test_no_powered_by(evidence):
    evidence.exchange("GET /health -> 200",
                      "GET /health HTTP/1.1\\nhost: demo.example.test",
                      "HTTP/1.1 200 OK\\nx-powered-by: Express\\n"
                      "set-cookie: vinylvault.sid=s%3AsessionId.signature; Path=/; HttpOnly")
    assert False, "X-Powered-By must be absent from every answer; got 'Express' on /health"

def test_nosniff():
    pass

@pytest.mark.skip(reason="needs the OAuth stand-in")
def test_sign_in():
    pass
'''

GRAPHQL = '''
"""GraphQL refuses what production must (contract §2, §6)."""
import pytest
from pymongo.errors import ServerSelectionTimeoutError
pytestmark = [pytest.mark.gate("graphql"), pytest.mark.phase5]

@pytest.fixture
def synthetic_user(evidence):
    evidence.json("registry: users (state before set-up)",
                  {"users": [], "indexes": [{"key": {"githubId": 1}, "unique": True}]})
    raise ServerSelectionTimeoutError(
        "localhost:27017: [Errno 111] Connection refused, Timeout: 30s, Topology Description: "
        "<TopologyDescription id: 65, topology_type: Unknown, servers: [<ServerDescription "
        "('localhost', 27017) server_type: Unknown, rtt: None>]>")

def test_introspection_refused(synthetic_user):
    pass
'''

LOAD = '''
"""The load gate: bounded Locust journeys against the target, judged by the profile's SLOs."""
import json
import pytest
from vvgate.gates.run import report_dir_of
from vvgate.load import report as load_report
from vvgate.load.plan import RunShape
from vvgate.load.run import LoadRun
from vvgate.load.stats import EndpointStats, RunStats
from vvgate.load.thresholds import evaluate
from vvgate.report.summary import write_gate_data
from vvgate.targets.profile import LoadProfile
pytestmark = [pytest.mark.gate("load"), pytest.mark.phase9]

PROFILE = LoadProfile.model_validate({
    "users": 5, "spawn_rate": 5, "duration_s": 20,
    "caps": {"max_users": 10, "max_duration_s": 30, "max_requests": 500},
    "total": {"p95_ms": 800, "p99_ms": 900, "max_failure_ratio": 0.01},
    "endpoints": {"records.list": {"p95_ms": 400, "p99_ms": 800, "max_failure_ratio": 0.01}}})

@pytest.fixture(scope="module")
def verdicts(request):
    """What a load run leaves: Locust's timeline and the gate's figures."""
    folder = report_dir_of(request.config) / "load"
    folder.mkdir()
    timeline = [{"t": float(t), "p50": 30.0 + 4 * t, "p95": 120.0 + 25 * t,
                 "p99": 200.0 + 38 * t, "rps": 9.0 + t % 3, "fails_per_s": 0.0,
                 "users": 5.0} for t in range(1, 21)]
    (folder / "timeline.json").write_text(json.dumps({"timeline": timeline}))
    records = EndpointStats("records.list", 100, 0, 0, {120: 80, 690: 15, 750: 5}, 20.0)
    health = EndpointStats("health", 100, 0, 0, {8: 100}, 20.0)
    total = EndpointStats("total", 200, 0, 0, {8: 100, 120: 80, 690: 15, 750: 5}, 20.0)
    stats = RunStats({"records.list": records, "health": health}, total, {})
    verdicts = evaluate(stats, PROFILE)
    run = LoadRun(RunShape(5, 5, 20, 1.0, 500), stats, folder, 0, "")
    write_gate_data(report_dir_of(request.config), "load",
                    load_report.gate_data(run, verdicts, "load/locust.html"))
    return verdicts

@pytest.mark.parametrize("endpoint", ["records.list", "total"])
def test_endpoint_meets_its_slo(verdicts, endpoint, evidence):
    verdict = verdicts[endpoint]
    evidence.json("checks", [c.as_dict() for c in verdict.checks])
    failed = verdict.failed()
    if failed:
        pytest.fail(f"load SLO missed by {endpoint}: "
                    + "; ".join(c.describe().partition(": ")[2] for c in failed), pytrace=False)
'''

# Added to a copy of the page, after pytest-html's own script: it reads what the browser laid
# out (positions, visibility) once everything loaded and leaves it in the DOM as JSON.
PROBE = """<script>
window.addEventListener('load', () => {
  const shown = (e) => !!e && e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== 'hidden';
  const top = (e) => e.getBoundingClientRect().top + window.scrollY;
  const at = (sel) => { const e = document.querySelector(sel); return shown(e) ? top(e) : null; };
  const headings = [...document.querySelectorAll('h1, h2, h3')].filter(shown)
    .map((e) => ({text: e.textContent.trim().replace(/\\s+/g, ' '), top: top(e)}))
    .sort((a, b) => a.top - b.top).map((h) => h.text);
  const metadata = [...document.querySelectorAll('table')].filter(shown)
    .filter((t) => /Platform|Packages/.test(t.innerText)).map(top);
  const rows = [...document.querySelectorAll('#results-table tbody.results-table-row')]
    .map((b) => ({result: [...b.classList].find((c) => c !== 'results-table-row'),
                  test: b.id, open: shown(b.querySelector('.extras-row'))}));
  const cards = [...document.querySelectorAll('article.card')].filter(shown).map((c) => ({
    name: c.querySelector('.check-name').textContent,
    cause: c.querySelector('.cause').innerText,
    verifies: (c.querySelector('.verifies') || {}).innerText || '',
    text: c.innerText,
    evidence: [...c.querySelectorAll('.evidence pre')].filter(shown).map((p) => p.innerText),
    links: [...c.querySelectorAll('a')].map((a) => a.getAttribute('href')),
  }));
  const linked = {};
  for (const card of cards) for (const href of card.links) {
    if (href.startsWith('#')) linked[href] = at('[id="' + href.slice(1) + '"]');
  }
  const chart = document.querySelector('#load-chart img');
  const probe = document.createElement('pre');
  probe.id = 'vv-probe';
  probe.textContent = JSON.stringify({
    headings, metadata, rows, cards, linked,
    gates: at('#gates'), banner: at('#verdict'), results: at('#results-table'),
    environment: at('#run-environment'), pytestHtmlEnvironment: at('#environment'),
    chartDrawn: !!chart && shown(chart) && chart.complete && chart.naturalWidth > 0,
    height: document.documentElement.scrollHeight,
  });
  document.body.appendChild(probe);
});
</script>"""


def _chromium(tmp: Path, *args: str) -> str:
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp)
    proc = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        # Its helpers (zygote, renderers, crashpad) share its process group: none outlives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, f"chromium {args[0]} exited {proc.returncode}: {err[-2000:]}"
    return out


@pytest.fixture(scope="module")
def chromium() -> Path:
    proc = subprocess.run([str(PROJECT / "scripts" / "bootstrap-chromium")], capture_output=True,
                          text=True, timeout=900)
    if proc.returncode != 0:
        if os.geteuid() == 0:
            pytest.fail(f"scripts/bootstrap-chromium failed: {proc.stderr[-2000:]}")
        pytest.skip(f"no Chromium and not root to install it: {proc.stderr.strip()}")
    return CHROMIUM


@pytest.fixture(scope="module")
def failing_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    try:
        ws.write_profile()
        ws.write_test("test_headers.py", HEADERS)
        ws.write_test("test_graphql.py", GRAPHQL)
        ws.write_test("test_load.py", LOAD)
        run = ws.run()
    finally:
        ws.listener.close()
    assert run.code == 1, run.output[-3000:]
    return run.run_dir / "report.html"


@pytest.fixture(scope="module")
def seen(chromium: Path, failing_report: Path, tmp_path_factory: pytest.TempPathFactory,
         ) -> dict[str, Any]:
    """What the browser shows of the report, read by the probe."""
    tmp = tmp_path_factory.mktemp("browser")
    probed = failing_report.with_name("report-probed.html")
    probed.write_text(failing_report.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium(tmp, f"--window-size={WIDTH},1000", "--dump-dom", probed.as_uri())
    match = re.search(r'<pre id="vv-probe">(.*?)</pre>', dom, re.S)
    assert match, f"the probe left nothing; the page's DOM ends: {dom[-1500:]}"
    found: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    # The whole page in one picture, as tall as its laid-out content.
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    height = min(max(int(found["height"]), 800), 8000)
    _chromium(tmp, f"--window-size={WIDTH},{height}", f"--screenshot={SCREENSHOT}",
              failing_report.as_uri())
    return found


def _card(seen: dict[str, Any], name: str) -> dict[str, Any]:
    cards = {c["name"]: c for c in seen["cards"]}
    assert name in cards, f"no card for {name}; cards: {sorted(cards)}"
    return cards[name]


def test_the_verdict_and_gate_table_come_first_and_the_environment_last(
        seen: dict[str, Any]) -> None:
    headings = seen["headings"]
    assert headings[:3] == ["Vinyl Vault release gate: demo (demo.example.test)",
                            "Release gate: FAIL", "Gates"], headings
    # one section per failing or inconclusive gate, and the load gate's, after the table
    sections = [h for h in headings if re.match(r"(FAIL|INCONCLUSIVE) ", h)]
    assert sections == ["INCONCLUSIVE graphql (blocking)", "FAIL headers (blocking)",
                        "FAIL load (blocking)"], headings
    assert headings.index("All checks") > headings.index("FAIL load (blocking)")
    assert headings[-1] == "Environment" and headings.count("Environment") == 1, headings
    assert seen["banner"] < seen["gates"] < min(seen["metadata"]), seen
    assert seen["pytestHtmlEnvironment"] is None, "pytest-html's own environment table shows"
    assert seen["gates"] < seen["results"] < seen["environment"], seen


def test_a_failing_card_shows_its_cause_and_evidence_inline(seen: dict[str, Any]) -> None:
    card = _card(seen, "test_no_powered_by")
    assert card["cause"] == ("X-Powered-By must be absent from every answer; got 'Express' "
                             "on /health")
    assert card["verifies"] == "Verifies contract §3, §6; deployment plan phase 1"
    request, response = card["evidence"]
    assert request.startswith("GET /health HTTP/1.1")
    assert "x-powered-by: Express" in response
    assert "vinylvault.sid=[REDACTED]" in response and "sessionId" not in card["text"]
    for noise in ("Traceback", "Evidence(", "def test_", "assert False"):
        assert noise not in card["text"], f"{noise!r} in the card: {card['text']}"


def test_an_inconclusive_card_names_its_cause_without_the_driver_repr(
        seen: dict[str, Any]) -> None:
    card = _card(seen, "test_introspection_refused")
    assert card["cause"].startswith("the check could not be carried out in set-up: "
                                    "pymongo.errors.ServerSelectionTimeoutError: localhost:27017:"
                                    " [Errno 111] Connection refused"), card["cause"]
    assert "TopologyDescription" not in card["text"] and "Traceback" not in card["text"]
    assert card["verifies"] == "Verifies contract §2, §6; deployment plan phase 5"
    (state,) = card["evidence"]
    assert json.loads(state) == {"indexes": [{"key": {"githubId": 1}, "unique": True}],
                                 "users": []}


def test_a_missed_load_slo_points_at_the_chart_and_its_row(seen: dict[str, Any]) -> None:
    card = _card(seen, "test_endpoint_meets_its_slo[records.list]")
    assert card["cause"] == "load SLO missed by records.list: p95_ms 750 ms > 400 ms"
    assert {"#load-chart", "#load-endpoint-records.list"} <= set(card["links"])
    # both targets are on the page, in the load gate's section
    assert seen["linked"]["#load-chart"] is not None
    assert seen["linked"]["#load-endpoint-records.list"] is not None
    assert seen["chartDrawn"], "the load chart is not drawn"


def test_only_failures_start_open_in_the_table_of_all_checks(seen: dict[str, Any]) -> None:
    rows = {r["test"].split("::", 1)[-1]: (r["result"], r["open"]) for r in seen["rows"]}
    assert rows["test_no_powered_by"] == ("failed", True), rows
    assert rows["test_nosniff"] == ("passed", False), rows
    assert rows["test_sign_in::setup"] == ("skipped", False), rows
    # pytest-html lists an inconclusive check as skipped: its card above has the cause
    assert rows["test_introspection_refused::setup"] == ("skipped", False), rows


def test_the_screenshot_is_kept_for_ci(seen: dict[str, Any]) -> None:
    head = SCREENSHOT.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == WIDTH and height >= 800
    ignored = subprocess.run(["git", "check-ignore", "-q", str(SCREENSHOT)], cwd=PROJECT)
    assert ignored.returncode == 0, f"{SCREENSHOT} is not ignored by git"
