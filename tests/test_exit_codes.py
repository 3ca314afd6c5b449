"""Exit codes: 0 pass, 1 blocking gate failed, 2 usage or configuration error in one line."""

from __future__ import annotations

import socket

from conftest import Workspace

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
