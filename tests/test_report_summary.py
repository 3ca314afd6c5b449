"""report.html's summary as written to the file: redaction of what failure cards show, the
sections of a passing and an inconclusive run, and the pieces a card and the load chart are
made of. tests/test_report_browser.py looks at the same page in a browser."""

from __future__ import annotations

import base64
import re
import urllib.parse

from conftest import Workspace
from vvgate.load.report import chart_figure
from vvgate.report.cards import cause_line
from vvgate.report.redaction import MASK

CANARY = "canary-4b1d7e-report-card-secret"
SESSION_ID = "sessionid-9f8e7d6c5b4a"

# The check records its evidence before the secret store resolves the secret, as a fixture
# that snapshots an object first would: only redaction when the page is drawn can mask it.
# (A gate that needs nothing live, so the preflight does not resolve the secret first.)
LEAKY = f'''
"""Static gate: the overlay's secrets (seed plan 0.4)."""
import os
import pytest
pytestmark = [pytest.mark.gate("manifests"), pytest.mark.phase6]

def test_forged_session_is_refused(secrets, evidence):
    raw = os.environ["VVGATE_TEST_CANARY"]
    evidence.json("BFF settings", {{"secret": raw, "cookie": "vinylvault.sid"}})
    cookie = "vinylvault.sid=s%3A{SESSION_ID}.c2lnbmF0dXJl"
    evidence.exchange("POST /graphql -> 200",
                      f"POST /graphql HTTP/1.1\\ncookie: {{cookie}}\\nx-debug: {{raw}}",
                      f"HTTP/1.1 200 OK\\nset-cookie: {{cookie}}; Path=/; HttpOnly")
    secrets.get("SESSION_SECRET")
    assert False, "a session signed with a guessed secret was accepted"
'''


def _card(page: str, name: str) -> str:
    match = re.search(rf'<article class="card[^"]*">(?:(?!</article>).)*{re.escape(name)}.*?'
                      r"</article>", page, re.S)
    assert match, f"no card for {name}"
    return match.group(0)


def test_a_secret_and_a_session_cookie_in_evidence_do_not_reach_the_report(
        ws: Workspace) -> None:
    ws.write_profile(secrets={"SESSION_SECRET": {"env": "VVGATE_TEST_CANARY"}})
    ws.write_test("test_auth.py", LEAKY)
    run = ws.run(env={"VVGATE_TEST_CANARY": CANARY})
    assert run.code == 1, run.output[-2000:]
    page = (run.run_dir / "report.html").read_text()
    for form in (CANARY, base64.b64encode(CANARY.encode()).decode(),
                 urllib.parse.quote(CANARY), SESSION_ID,
                 base64.b64encode(SESSION_ID.encode()).decode()[:16]):
        assert form not in page, f"{form!r} reached report.html"
    # masked where the card shows the evidence, so the card is really there
    card = _card(page, "test_forged_session_is_refused")
    assert "a session signed with a guessed secret was accepted" in card
    assert f"cookie: vinylvault.sid={MASK}" in card and f"x-debug: {MASK}" in card
    assert f"&quot;secret&quot;: &quot;{MASK}&quot;" in card
    for name in ("gates.json", "junit.xml"):
        assert CANARY not in (run.run_dir / name).read_text(), f"canary leaked into {name}"


def test_a_passing_run_has_the_banner_table_and_the_plan_in_order(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_health.py", """
        import pytest
        pytestmark = [pytest.mark.gate("health")]
        def test_up(): pass
    """)
    run = ws.run()
    assert run.code == 0 and run.gates()["verdict"] == "pass"
    page = (run.run_dir / "report.html").read_text()
    order = [page.index(marker) for marker in (
        '<section id="verdict" class="vv banner v-pass">', "Release gate: PASS",
        '<table id="gates">', '<section id="plan" class="vv">',
        '<table id="target"', '<section id="all-checks"', '<table id="run-environment"')]
    assert order == sorted(order)
    assert "<section id=\"gate-" not in page and "<article" not in page
    assert f"run <code>{run.gates()['run']['id']}</code>" in page


def test_the_banner_says_inconclusive_when_nothing_failed_but_a_gate_is_not_verified(
        ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_graphql.py", """
        import pytest
        from vvgate.gates.inconclusive import inconclusive
        pytestmark = [pytest.mark.gate("graphql")]
        def test_probe(): inconclusive("the target answered POST /graphql with 429")
    """)
    run = ws.run()
    assert run.code == 3 and run.gates()["verdict"] == "inconclusive"
    page = (run.run_dir / "report.html").read_text()
    assert "Release gate: INCONCLUSIVE" in page and "v-inconclusive" in page
    card = _card(page, "test_probe")
    assert '<p class="cause">the target answered POST /graphql with 429</p>' in card


def test_cause_line_keeps_the_message_and_drops_rewriting_and_reprs() -> None:
    assert cause_line("AssertionError: X-Powered-By must be absent\nassert False") == \
        "X-Powered-By must be absent"
    assert cause_line("Failed: load SLO missed by total: p95_ms 900 ms > 500 ms") == \
        "load SLO missed by total: p95_ms 900 ms > 500 ms"
    pymongo = ("the check could not be carried out in set-up: pymongo.errors."
               "ServerSelectionTimeoutError: db:27017: timed out, Timeout: 30s, Topology "
               "Description: <TopologyDescription id: 1, servers: [<ServerDescription "
               "('db', 27017) server_type: Unknown>]>, retried")
    assert cause_line(pymongo).endswith("Timeout: 30s, Topology Description: …, retried")
    assert cause_line("x" * 1000).endswith("…") and len(cause_line("x" * 1000)) == 400
    assert cause_line("got <Response [503]> from <app.Client object at 0x7f3a> twice") == \
        "got … from … twice"
    # comparisons and markup are not object reprs
    for text in ("p95 < 400 ms and p99 > 800 ms", "x<y and y>z", "body <html lang=en>",
                 "starts <Unclosed and never ends"):
        assert cause_line(text) == text


def test_the_load_chart_draws_the_slo_thresholds_as_lines() -> None:
    timeline = [{"t": float(t), "p50": 10.0, "p95": 40.0, "p99": 90.0, "rps": 5.0,
                 "fails_per_s": 0.0} for t in range(1, 6)]
    latency = chart_figure(timeline, {"p95_ms": 500.0, "p99_ms": 1000.0}).axes[0]
    slo = {line.get_label(): set(line.get_ydata()) for line in latency.get_lines()
           if str(line.get_label()).endswith(" ms")}
    assert slo == {"p95 SLO 500 ms": {500.0}, "p99 SLO 1000 ms": {1000.0}}
    legend = latency.get_legend()
    assert legend is not None
    assert {t.get_text() for t in legend.get_texts()} == {"p50", "p95", "p99", *slo}
