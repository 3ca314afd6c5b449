"""Phase 3 on the cluster: the MongoDB StatefulSets, their volumes and their identity.

The manifests (rendered for this target) say what the live objects must be; the checks
compare the two, so a size or UID change in the manifests needs no change here.
"""

from __future__ import annotations

from typing import Any

import pytest

from vvgate.kube.deployment import Deployment
from vvgate.kube.objects import Kube, ref
from vvgate.kube.workload_checks import (
    claim_templates,
    find,
    missing_config,
    pods_of,
    ready_endpoints,
)
from vvgate.mongo.forward import member_client
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile
from vvgate.targets.secret_store import SecretStore

pytestmark = [pytest.mark.gate("database"), pytest.mark.plan("3.1.2", "3.1.3")]

MONGO_UID = 999
STATEFULSETS = ["mongodb-bff", "mongodb-backend"]


def _pair(deployed: Deployment, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    expected = next((o for o in find(deployed.objects, "StatefulSet")
                     if o["metadata"]["name"] == name), None)
    assert expected is not None, f"the manifests define no StatefulSet {name}"
    live = deployed.live(expected)
    assert live is not None, f"StatefulSet {name} is missing on the cluster"
    return live, expected


@pytest.mark.parametrize("name", STATEFULSETS)
@pytest.mark.plan("0.3.2", "0.4.8", "8.2")
def test_statefulset_ready_with_bound_nfs_claims(deployed: Deployment, kube: Kube,
                                                 profile: Profile, name: str,
                                                 evidence: Evidence) -> None:
    live, expected = _pair(deployed, name)
    assert deployed.problem(expected) is None, deployed.problem(expected)
    want = int(expected["spec"].get("replicas", 1))
    assert (live.get("status") or {}).get("readyReplicas", 0) == want
    assert profile.kubernetes is not None
    ns = live["metadata"]["namespace"]
    for tname, template in claim_templates(expected).items():
        size = template["spec"]["resources"]["requests"]["storage"]
        for i in range(want):
            pvc = kube.get("v1", "PersistentVolumeClaim", f"{tname}-{name}-{i}", ns)
            evidence.json(f"pvc {tname}-{name}-{i}", pvc)
            assert pvc is not None, f"PVC {tname}-{name}-{i} missing"
            assert (pvc.get("status") or {}).get("phase") == "Bound"
            assert pvc["spec"].get("storageClassName") == profile.kubernetes.storage_class
            assert pvc["spec"]["resources"]["requests"]["storage"] == size


@pytest.mark.parametrize("name", STATEFULSETS)
def test_mongo_runs_as_uid_999(deployed: Deployment, name: str) -> None:
    live, _ = _pair(deployed, name)
    security = live["spec"]["template"]["spec"].get("securityContext") or {}
    assert security.get("runAsUser") == MONGO_UID
    assert security.get("fsGroup") == MONGO_UID


@pytest.mark.parametrize("name", STATEFULSETS)
@pytest.mark.plan("3.1.4")
def test_headless_service_names_every_member(deployed: Deployment, kube: Kube,
                                             name: str, evidence: Evidence) -> None:
    live, _ = _pair(deployed, name)
    service_name = live["spec"]["serviceName"]
    ns = live["metadata"]["namespace"]
    service = kube.get("v1", "Service", service_name, ns)
    assert service is not None, f"headless Service {service_name} missing"
    assert service["spec"].get("clusterIP") == "None", f"{service_name} is not headless"
    # Cluster DNS answers <pod>.<service>.<ns>.svc for each ready endpoint with a hostname.
    endpoints = ready_endpoints(kube, service)
    evidence.json("endpoints", endpoints)
    names = sorted(f"{ep.get('hostname')}.{service_name}.{ns}.svc.cluster.local"
                   for ep in endpoints if ep.get("hostname"))
    want = sorted(f"{p['metadata']['name']}.{service_name}.{ns}.svc.cluster.local"
                  for p in pods_of(kube, live))
    assert want, f"{name} has no pods"
    assert names == want


@pytest.mark.plan("3.1.5", "3.1.8")
def test_replica_set_init_jobs_complete(deployed: Deployment) -> None:
    jobs = find(deployed.objects, "Job")
    assert jobs, "the manifests define no rs-init Job"
    problems = [p for p in (deployed.problem(j) for j in jobs) if p]
    assert not problems, "; ".join(problems)
    gone = [deployed.gone[ref(j)] for j in jobs if ref(j) in deployed.gone]
    if len(gone) == len(jobs):
        # Observed long after the deploy: the membership checks judge what the Jobs did.
        pytest.skip("; ".join(gone))


@pytest.mark.parametrize("name", STATEFULSETS)
@pytest.mark.plan("3.1.7", "7.5")
def test_statefulset_finds_its_secrets(deployed: Deployment, kube: Kube, name: str) -> None:
    live, _ = _pair(deployed, name)
    missing = missing_config(kube, live)
    assert not missing, f"{name} references missing {', '.join(missing)}"


@pytest.mark.parametrize("role, name", [("bff", "mongodb-bff"), ("backend", "mongodb-backend")])
@pytest.mark.plan("8.3")
def test_replica_set_membership_through_port_forward(
        deployed: Deployment, profile: Profile, secrets: SecretStore, role: str, name: str,
        evidence: Evidence) -> None:
    live, _ = _pair(deployed, name)
    assert profile.mongodb is not None, f"target {profile.name!r} has no mongodb section"
    instance = profile.mongodb.bff if role == "bff" else profile.mongodb.backend
    with member_client(profile, secrets, instance, f"{name}-0",
                       live["metadata"]["namespace"]) as client:
        hello = client.admin.command("hello")
    evidence.json("hello", {k: hello.get(k) for k in ("setName", "hosts", "isWritablePrimary",
                                                      "secondary", "me")})
    if instance.replica_set is None:
        # The profile expects a single server (the local target): the authenticated
        # round trip through the port-forward is the check, and that server is writable.
        assert hello.get("isWritablePrimary"), f"{role}: the single server is not writable"
        return
    assert hello.get("setName") == instance.replica_set
    assert len(hello.get("hosts") or []) == instance.members, hello.get("hosts")
