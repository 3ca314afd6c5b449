"""Production is read-only: destructive checks are deselected and cluster writes refused.

The guard refuses before anything is sent, so these tests point the client at a
closed loopback port: a refused write fails with the guard's message, and a
permitted one fails only when it tries to connect.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from kubernetes import client

from conftest import Workspace
from vvgate.kube.write_guard import GuardedApiClient, ProductionWriteRefused

DESTRUCTIVE = """
import pytest
pytestmark = [pytest.mark.gate("manifests")]
def test_read(): pass
@pytest.mark.destructive
def test_exhaust_rate_limit(): pass
"""

WRITER = """
import pytest
from kubernetes import client
pytestmark = [pytest.mark.gate("manifests")]
def test_write(kube_api_client):
    client.CoreV1Api(kube_api_client).create_namespaced_config_map(
        "{namespace}", {{"metadata": {{"name": "vvgate-probe"}}}}, _request_timeout=2)
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kube(ws: Workspace, namespace: str, protected: list[str]) -> dict[str, object]:
    kubeconfig = ws.root / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{_closed_port()}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    return {"kubeconfig": str(kubeconfig), "namespace": namespace, "storage_class": "nfs-mongodb",
            "protected_namespaces": protected}


def test_production_deselects_destructive_checks(ws: Workspace) -> None:
    ws.write_profile(kind="production")
    ws.write_test("test_d.py", DESTRUCTIVE)
    run = ws.run()
    assert run.code == 0, run.output
    assert ("deselected 1 destructive check(s): target 'demo' is read-only (production)"
            in run.stdout)
    assert run.gate("manifests")["counts"]["passed"] == 1
    assert "test_exhaust_rate_limit" not in (run.run_dir / "junit.xml").read_text()


def test_staging_with_destructive_allowed_runs_them(ws: Workspace) -> None:
    ws.write_profile(allow_destructive=True)
    ws.write_test("test_d.py", DESTRUCTIVE)
    run = ws.run()
    assert run.gate("manifests")["counts"]["passed"] == 2


def test_fixture_client_refuses_writes_on_a_production_target(ws: Workspace) -> None:
    ws.write_profile(kind="production", kubernetes=_kube(ws, "vinylvault-production", []))
    ws.write_test("test_w.py", WRITER.format(namespace="vinylvault-production"))
    run = ws.run()
    # A refused write is a check that could not be carried out, not a defect of the target.
    assert run.code == 3, run.output
    message = run.gate("manifests")["inconclusive"][0]["reason"]
    assert message.startswith("the check could not be carried out: vvgate.kube.write_guard."
                              "ProductionWriteRefused: refused: POST "
                              "/api/v1/namespaces/vinylvault-production/configmaps")
    assert "read-only (production)" in message
    # The run counts what its guard refused: a read-only check that tried to write shows.
    assert run.gates()["run"]["counters"]["kube_writes_refused"] == 1


def test_fixture_client_refuses_writes_to_a_protected_namespace_from_staging(
    ws: Workspace,
) -> None:
    ws.write_profile(kubernetes=_kube(ws, "vinylvault-staging", ["vinylvault-production"]))
    ws.write_test("test_w.py", WRITER.format(namespace="vinylvault-production"))
    message = ws.run().gate("manifests")["inconclusive"][0]["reason"]
    assert "protected namespace 'vinylvault-production'" in message


def test_fixture_client_sends_writes_to_the_staging_namespace(ws: Workspace) -> None:
    ws.write_profile(kubernetes=_kube(ws, "vinylvault-staging", ["vinylvault-production"]))
    ws.write_test("test_w.py", WRITER.format(namespace="vinylvault-staging"))
    run = ws.run()
    message = run.gate("manifests")["inconclusive"][0]["reason"]
    # it got as far as the network: nothing listens on that port
    assert "MaxRetryError" in message and "refused:" not in message
    assert run.gates()["run"]["counters"]["kube_writes_refused"] == 0


@pytest.fixture
def production_client() -> GuardedApiClient:
    configuration = client.Configuration(host=f"https://127.0.0.1:{_closed_port()}")
    return GuardedApiClient(configuration, "production", True,
                            frozenset({"vinylvault-production"}))


@pytest.mark.parametrize(
    "call",
    [
        lambda c: client.CoreV1Api(c).create_namespaced_secret("vinylvault-production", {}),
        lambda c: client.AppsV1Api(c).patch_namespaced_deployment(
            "bff", "vinylvault-production", {"spec": {"replicas": 0}}),
        lambda c: client.AppsV1Api(c).replace_namespaced_stateful_set(
            "mongodb-bff", "vinylvault-production",
            {"metadata": {"name": "mongodb-bff"},
             "spec": {"selector": {}, "serviceName": "x", "template": {}}}),
        lambda c: client.CoreV1Api(c).delete_namespaced_persistent_volume_claim(
            "data-mongodb-bff-0", "vinylvault-production"),
        lambda c: client.CoreV1Api(c).delete_namespace("vinylvault-production"),
        lambda c: client.StorageV1Api(c).delete_storage_class("nfs-mongodb"),
        lambda c: client.CoreV1Api(c).connect_get_namespaced_pod_exec(
            "bff-0", "vinylvault-production", command=["sh"]),
    ],
    ids=["create", "patch", "replace", "delete-pvc", "delete-namespace",
         "delete-cluster-scoped", "exec"],
)
def test_guard_refuses_every_kind_of_write(
    production_client: GuardedApiClient, call: Callable[[GuardedApiClient], object]
) -> None:
    with pytest.raises(ProductionWriteRefused, match=r"refused: .*read-only \(production\)"):
        call(production_client)


def test_guard_lets_reads_through(production_client: GuardedApiClient) -> None:
    from urllib3.exceptions import MaxRetryError

    with pytest.raises(MaxRetryError):
        client.CoreV1Api(production_client).list_namespaced_pod(
            "vinylvault-production", _request_timeout=1)
