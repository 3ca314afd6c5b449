"""A canary secret reaches no report, log or assertion message."""

from __future__ import annotations

import base64
from pathlib import Path

from conftest import Workspace
from vvgate.report.redaction import MASK, Redactor

CANARY = "canary-7f3a9c1e-do-not-leak"

LEAKY = """
import logging
import pytest
pytestmark = [pytest.mark.gate("auth")]
log = logging.getLogger("vvgate.selftest")

def test_leaks_everywhere(secrets, evidence):
    value = secrets.get("SESSION_SECRET")
    log.warning("session secret is %s", value)
    print("stdout sees", value)
    evidence.exchange("POST /graphql",
                      f"Cookie: vinylvault.sid=s%3Aabc.{value}\\nAuthorization: Bearer {value}",
                      f"HTTP/1.1 200\\nSet-Cookie: vinylvault.sid=s%3Axyz.sig; Path=/")
    assert value == "something else", f"the secret was {value}"
"""


def test_canary_is_absent_from_every_artifact(ws: Workspace, tmp_path: Path) -> None:
    ws.write_profile(secrets={"SESSION_SECRET": {"env": "VVGATE_TEST_CANARY"}})
    ws.write_test("test_leak.py", LEAKY)
    summary = tmp_path / "summary.md"
    run = ws.run(pytest_args=("-o", "log_cli=true", "-o", "log_cli_level=INFO"),
                 env={"VVGATE_TEST_CANARY": CANARY, "GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 1
    artifacts = {p.name: p.read_text() for p in run.run_dir.iterdir()}
    artifacts["stdout"] = run.stdout
    artifacts["stderr"] = run.stderr
    artifacts["summary"] = summary.read_text()
    encoded = base64.b64encode(CANARY.encode()).decode()
    for name, text in artifacts.items():
        assert CANARY not in text, f"canary leaked into {name}"
        assert encoded not in text, f"base64 canary leaked into {name}"
    # The redaction really happened where the secret would have been.
    assert MASK in artifacts["report.html"] and MASK in artifacts["junit.xml"]
    assert f"the secret was {MASK}" in artifacts["gates.json"]
    assert f"session secret is {MASK}" in run.stdout


def test_missing_secret_is_named_and_no_value_printed(ws: Workspace) -> None:
    env_file = ws.root / "secrets.env"
    env_file.write_text(f"OTHER_SECRET={CANARY}\n")
    ws.write_profile(secrets={"SESSION_SECRET": {"file": str(env_file), "key": "SESSION_SECRET"}})
    ws.write_test("test_auth.py", """
        import pytest
        pytestmark = [pytest.mark.gate("auth")]
        def test_x(): pass
    """)
    run = ws.run()
    assert run.code == 2
    assert f"secret SESSION_SECRET is missing: no SESSION_SECRET in {env_file}" in run.stderr
    assert CANARY not in run.output
    assert "Traceback" not in run.output


def test_redactor_masks_registered_values_in_their_encoded_forms() -> None:
    r = Redactor()
    r.register("hunter2-secret+/=")
    text = ("plain hunter2-secret+/= url hunter2-secret%2B%2F%3D "
            f"b64 {base64.b64encode(b'hunter2-secret+/=').decode()}")
    assert r.redact(text) == f"plain {MASK} url {MASK} b64 {MASK}"


def test_redactor_masks_credential_shapes_it_never_saw() -> None:
    r = Redactor()
    text = (
        "mongodb://vv_app:pa55word@127.0.0.1:27017/vinylvault_bff?authSource=admin\n"
        "Set-Cookie: vinylvault.sid=s%3AabcDEF.sig123; Path=/; HttpOnly\n"
        "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig\n"
        "X-Hub-Signature-256: sha256=0123abcd\n"
    )
    out = r.redact(text)
    assert "pa55word" not in out and "mongodb://vv_app:[REDACTED]@127.0.0.1" in out
    assert "abcDEF" not in out and "vinylvault.sid=[REDACTED]; Path=/" in out
    assert "eyJ" not in out and "0123abcd" not in out


def test_short_values_are_not_registered_so_reports_stay_readable() -> None:
    r = Redactor()
    r.register("ok")
    assert r.redact("status ok") == "status ok"
