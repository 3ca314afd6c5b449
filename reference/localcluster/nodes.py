"""The four simulated nodes and the kwok configuration, shaped like the seed's Pi K3s cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

K8S_NAMESPACE = "vinylvault-local"
POD_STAGES = Path(__file__).with_name("kwok-pod-stages.yaml")
NODE_NAMES = ("pi-node-1", "pi-node-2", "pi-node-3", "pi-node-4")
# MongoDB pods whose port-forwards kwok sends to the local SecantusDB servers.
# StatefulSet pod names sts-0..sts-N forward to the one local server per instance.
MAX_MEMBERS = 5
MONGO_FORWARDS = {"mongodb-bff": "mongo-bff", "mongodb-backend": "mongo-backend"}
SIMULATED_TAINT = {"key": "vvgate.io/simulated", "value": "true", "effect": "NoSchedule"}


def node(name: str, version: str, control_plane: bool) -> dict[str, Any]:
    labels = {
        # What a K3s agent on a Raspberry Pi 4/5 registers with.
        "kubernetes.io/arch": "arm64",
        "kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "arm64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": "k3s",
        "type": "kwok",
    }
    if control_plane:
        labels |= {"node-role.kubernetes.io/control-plane": "true",
                   "node-role.kubernetes.io/master": "true"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            # kwok manages exactly the nodes carrying this annotation (--manage-nodes-with-...).
            "annotations": {"kwok.x-k8s.io/node": "fake",
                            "node.alpha.kubernetes.io/ttl": "0",
                            "k3s.io/hostname": name},
        },
        "status": {
            "allocatable": {"cpu": "4", "memory": "7Gi", "pods": "110",
                            "ephemeral-storage": "50Gi"},
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110",
                         "ephemeral-storage": "58Gi"},
            "nodeInfo": {"architecture": "arm64", "operatingSystem": "linux",
                         "kubeletVersion": f"{version}+k3s1",
                         "kubeProxyVersion": f"{version}+k3s1",
                         "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.6.51+rpt-rpi-2712",
                         "containerRuntimeVersion": "containerd://2.0.5-k3s1"},
        },
    }


def nodes_yaml(version: str, real_node: bool = False) -> str:
    """The kwok nodes; beside a real node they are tainted, so that the pods the real node's
    overlay may run on either kind all land on the real node, and none is only simulated."""
    docs = [node(n, version, i == 0) for i, n in enumerate(NODE_NAMES)]
    for doc in docs:
        doc["spec"] = {"taints": [SIMULATED_TAINT] if real_node else []}
    return yaml.safe_dump_all(docs, sort_keys=False)


def kwok_config(mongo_ports: dict[str, int]) -> str:
    """Port-forwards to the Mongo StatefulSets' pods reach the local SecantusDB servers,
    so the database gate goes through a Kubernetes port-forward as it will on staging."""
    docs: list[dict[str, Any]] = [{
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {"enableCRDs": []},
    }]
    for sts, component in MONGO_FORWARDS.items():
        if component not in mongo_ports:
            continue
        docs.append({
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterPortForward",
            "metadata": {"name": sts},
            "spec": {
                "selector": {"matchNamespaces": [K8S_NAMESPACE],
                             "matchNames": [f"{sts}-{i}" for i in range(MAX_MEMBERS)]},
                "forwards": [{"ports": [27017], "target": {
                    "address": "127.0.0.1", "port": mongo_ports[component]}}],
            },
        })
    return yaml.safe_dump_all(docs, sort_keys=False) + "---\n" + POD_STAGES.read_text()
