"""Exit codes: 0 pass, 1 blocking gate failed, 2 usage or configuration error in one line."""

from __future__ import annotations

import socket

import pytest

from conftest import PROJECT, Workspace

OK = """
import pytest
pytestmark = [pytest.mark.gate("headers")]
def test_ok(): pass
"""


def _one_line_error(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if "error" in line.lower()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_all_blocking_gates_pass_exits_0(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_h.py", OK)
    run = ws.run()
    assert run.code == 0, run.output
    assert run.gates()["verdict"] == "pass"
    assert "gate verdict: PASS (exit 0)" in run.stdout


def test_unknown_target_exits_2(ws: Workspace) -> None:
    run = ws.vvgate("run", "--target", "nowhere")
    assert run.code == 2
    assert _one_line_error(run.stderr).startswith("vvgate: error: unknown target 'nowhere'")


def test_malformed_profile_exits_2_with_line(ws: Workspace) -> None:
    ws.profile_path.write_text("name: demo\nkind: staging\nhost: [oops\n")
    run = ws.run()
    assert run.code == 2
    assert "vvgate: error: profile.yaml:3: malformed YAML" in _one_line_error(run.stderr)


def test_unreachable_host_exits_2(ws: Workspace) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws.write_profile(address_override=f"127.0.0.1:{port}")
    ws.write_test("test_h.py", OK)
    run = ws.run()
    assert run.code == 2
    line = _one_line_error(run.stderr)
    assert f"host demo.example.test via address_override 127.0.0.1:{port} unreachable" in line
    assert run.gates()["error"] is not None and run.gates()["exit_code"] == 2


def test_unreachable_kubernetes_api_exits_2(ws: Workspace) -> None:
    kubeconfig = ws.root / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(port=_closed_port()))
    ws.write_profile(kubernetes={"kubeconfig": str(kubeconfig), "namespace": "vinylvault-staging",
                                 "storage_class": "nfs-mongodb"})
    ws.write_test("test_r.py", OK.replace('"headers"', '"rollout"'))
    run = ws.run()
    assert run.code == 2
    assert "Kubernetes API https://127.0.0.1:" in _one_line_error(run.stderr)


def test_missing_env_secret_exits_2_naming_it(ws: Workspace) -> None:
    ws.write_profile(secrets={"JWT_SECRET": {"env": "VVGATE_TEST_UNSET_JWT"}})
    ws.write_test("test_h.py", OK)
    run = ws.run()
    assert run.code == 2
    assert ("secret JWT_SECRET is missing: environment variable VVGATE_TEST_UNSET_JWT is not set"
            in _one_line_error(run.stderr))


def test_bad_cli_usage_exits_2(ws: Workspace) -> None:
    run = ws.vvgate("run")
    assert run.code == 2
    assert "the following arguments are required: --target" in _one_line_error(run.stderr)


def test_missing_suite_path_exits_2(ws: Workspace) -> None:
    ws.write_profile()
    run = ws.vvgate("run", "--target", str(ws.profile_path), str(ws.root / "nope"))
    assert run.code == 2
    assert "suite path" in _one_line_error(run.stderr)


def test_nothing_selected_exits_2(ws: Workspace) -> None:
    ws.write_profile()
    ws.write_test("test_h.py", OK)
    run = ws.run("--smoke")
    assert run.code == 2
    assert "no checks were selected" in run.gates()["error"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
users:
- name: u
  user: {{token: "t0ken-for-selftest"}}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
"""


# Bad input, each a row: (id, profile overrides (None: the profile as written by `raw`),
# raw profile text, extra `vvgate run` arguments, what the one line must say). Every row exits
# 2 with one line naming the input, no traceback, and no report folder left half-made.
NOT_PEM = "not a certificate\n"
BAD_INPUTS: list[tuple[str, dict[str, object] | None, str, tuple[str, ...], str]] = [
    ("yaml", None, "name: demo\nkind: [oops\n", (), "malformed YAML"),
    ("not-a-mapping", None, "- a\n- b\n", (), "a profile is a YAML mapping"),
    ("empty-file", None, "", (), "a profile is a YAML mapping"),
    ("misspelt-key", {"hots": "x"}, "", (), "hots"),
    ("kind", {"kind": "prod"}, "", (), "kind"),
    ("name", {"name": "Demo Target"}, "", (), "name"),
    ("host-with-scheme", {"host": "https://demo.example.test"}, "", (), "host"),
    ("base-url-http", {"base_url": "http://demo.example.test"}, "", (), "base_url"),
    ("address", {"address_override": "demo:443"}, "", (), "address_override"),
    ("http-port", {"http_port": "eighty"}, "", (), "http_port"),
    ("waiver-date", {"waivers": [{"gate": "tls", "reason": "renewal pending upstream",
                                  "expires": "2026-13-45"}]}, "", (), "waivers.0.expires"),
    ("waiver-reason", {"waivers": [{"gate": "tls", "reason": "x",
                                    "expires": "2030-01-01"}]}, "", (), "waivers.0.reason"),
    ("waiver-subject", {"waivers": [{"reason": "renewal pending upstream",
                                     "expires": "2030-01-01"}]}, "", (), "exactly one of"),
    ("gate-name", {"gates": {"tsl": "advisory"}}, "", (), "unknown gate 'tsl'"),
    ("gate-severity", {"gates": {"tls": "optional"}}, "", (), "gates.tls"),
    ("literal-secret", {"secrets": {"JWT_SECRET": "s3cr3t-value"}}, "", (),
     "secrets.JWT_SECRET"),
    ("secret-file", {"secrets": {"JWT_SECRET": {"file": "/nonexistent/s.env", "key": "J"}}},
     "", (), "JWT_SECRET"),
    ("secret-env", {"secrets": {"JWT_SECRET": {"env": "VVGATE_TEST_UNSET"}}}, "", (),
     "VVGATE_TEST_UNSET"),
    ("kube-secret-without-kube", {"secrets": {"JWT_SECRET": {"kubernetes": {
        "secret": "app", "key": "J"}}}}, "", (), "needs a 'kubernetes' section"),
    ("kube-version", {"kubernetes": {"namespace": "n", "storage_class": "s",
                                     "version": "v1.33"}}, "", (), "kubernetes.version"),
    ("production-destructive", {"kind": "production", "allow_destructive": True}, "", (),
     "allow_destructive"),
    ("production-stand-in", {"kind": "production", "oauth": {"stand_in": True}}, "", (),
     "oauth.stand_in"),
    ("tls-days", {"tls": {"min_days_to_expiry": -1}}, "", (), "tls.min_days_to_expiry"),
    ("ca-bundle-missing", {"ca_bundle": "/nonexistent/ca.pem"}, "", (),
     "ca_bundle /nonexistent/ca.pem does not exist"),
    ("ca-bundle-not-pem", {"ca_bundle": "NOT_PEM"}, "", (), "holds no PEM certificate"),
    ("graphql-cost", {"graphql": {"max_cost": 0}}, "", (), "graphql.max_cost"),
    ("load-over-caps", {"load": {"users": 5, "spawn_rate": 1, "duration_s": 900,
                                 "caps": {"max_duration_s": 600}}}, "", (), "load"),
    ("unknown-gate-flag", {}, "", ("--gate", "nope"), "unknown gate 'nope'"),
    ("unknown-flag", {}, "", ("--frobnicate",), "unrecognized arguments: --frobnicate"),
    ("report-dir", {}, "", ("--report-dir", "FILE/x"), "--report-dir"),
    ("manifests", {}, "", ("--manifests", "/nonexistent/manifests"), "/nonexistent/manifests"),
    ("app-repo", {}, "", ("--app-repo", "/nonexistent/app"), "--app-repo /nonexistent/app"),
    ("suite-path", {}, "", ("/nonexistent/suite",), "suite path /nonexistent/suite"),
]


@pytest.mark.parametrize(("overrides", "raw", "extra", "expected"),
                         [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2(ws: Workspace, overrides: dict[str, object] | None,
                                          raw: str, extra: tuple[str, ...],
                                          expected: str) -> None:
    a_file = ws.root / "a-file"
    a_file.write_text("")
    (ws.root / "not.pem").write_text(NOT_PEM)
    if overrides is None:
        ws.profile_path.write_text(raw)
    else:
        if overrides.get("ca_bundle") == "NOT_PEM":
            overrides = {**overrides, "ca_bundle": str(ws.root / "not.pem")}
        ws.write_profile(**overrides)
    ws.write_test("test_h.py", OK)
    args = [arg.replace("FILE", str(a_file)) for arg in extra]
    if "--report-dir" not in args:
        args += ["--report-dir", str(ws.reports)]
    if "--manifests" in args:
        args.append(str(PROJECT / "suites" / "static"))
    elif not any(a.startswith("/nonexistent/suite") for a in args):
        args.append(str(ws.suite))
    run = ws.vvgate("run", "--target", str(ws.profile_path), *args)
    assert run.code == 2, run.output[-2000:]
    line = _one_line_error(run.stderr)
    assert expected in line, line
    # Nothing half-made: no report folder with a run in it.
    made = [p for p in ws.reports.glob("*") if p.name != "latest"] if ws.reports.exists() else []
    assert made == [] or all((p / "gates.json").exists() for p in made), made
