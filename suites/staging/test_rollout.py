"""Phase 4: the application's workloads are available, reachable, scaled and protected."""

from __future__ import annotations

import pytest

from vvgate.kube.deployment import Deployment
from vvgate.kube.objects import Kube
from vvgate.kube.workload_checks import find, missing_config, pods_of, ready_endpoints, restarts
from vvgate.report.evidence import Evidence

pytestmark = [pytest.mark.gate("rollout"), pytest.mark.plan("4.2", "4.3", "4.4", "8.1", "8.2")]


def test_deployments_available_without_restarts(deployed: Deployment, kube: Kube,
                                                evidence: Evidence) -> None:
    expected = find(deployed.objects, "Deployment")
    assert expected, "the manifests define no Deployment"
    problems = [p for p in (deployed.problem(o) for o in expected) if p]
    assert not problems, "; ".join(problems)
    for obj in expected:
        live = deployed.live(obj)
        assert live is not None, f"Deployment {obj['metadata']['name']} missing"
        conditions = {c["type"]: c["status"] for c in live["status"].get("conditions") or []}
        assert conditions.get("Available") == "True", f"{obj['metadata']['name']} not Available"
        pods = pods_of(kube, live)
        evidence.json(f"pods {obj['metadata']['name']}",
                      [{p["metadata"]["name"]: restarts(p)} for p in pods])
        restarted = [p["metadata"]["name"] for p in pods if restarts(p)]
        assert not restarted, f"restarted containers in {', '.join(restarted)}"


@pytest.mark.plan("4.5")
def test_services_have_endpoints(deployed: Deployment, kube: Kube) -> None:
    # The application's Services; the MongoDB headless ones are the database gate's.
    services = [s for s in find(deployed.objects, "Service")
                if s["spec"].get("clusterIP") != "None"]
    assert services, "the manifests define no application Service"
    empty = [s["metadata"]["name"] for s in services if not ready_endpoints(kube, s)]
    assert not empty, f"Services without ready endpoints: {', '.join(empty)}"


@pytest.mark.parametrize("kind, fields", [
    ("HorizontalPodAutoscaler", ("minReplicas", "maxReplicas")),
    ("PodDisruptionBudget", ("minAvailable", "maxUnavailable")),
])
@pytest.mark.plan("4.8")
def test_scaling_and_disruption_bounds_match_manifests(deployed: Deployment, kind: str,
                                                       fields: tuple[str, ...]) -> None:
    expected = find(deployed.objects, kind)
    assert expected, f"the manifests define no {kind}"
    for obj in expected:
        live = deployed.live(obj)
        assert live is not None, f"{kind} {obj['metadata']['name']} missing"
        for f in fields:
            assert live["spec"].get(f) == obj["spec"].get(f), (
                f"{kind} {obj['metadata']['name']}: {f} is {live['spec'].get(f)}, "
                f"manifests say {obj['spec'].get(f)}")


@pytest.mark.plan("5.7")
def test_network_policies_present(deployed: Deployment) -> None:
    expected = find(deployed.objects, "NetworkPolicy")
    assert expected, "the manifests define no NetworkPolicy"
    missing = [o["metadata"]["name"] for o in expected if deployed.live(o) is None]
    assert not missing, f"NetworkPolicies missing: {', '.join(missing)}"


@pytest.mark.plan("7.5")
def test_deployments_find_their_secrets_and_configmaps(deployed: Deployment,
                                                       kube: Kube) -> None:
    # A real kubelet would sit in CreateContainerConfigError; say which reference is missing.
    missing = {o["metadata"]["name"]: missing_config(kube, o)
               for o in find(deployed.objects, "Deployment")}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"missing references: {missing}"
