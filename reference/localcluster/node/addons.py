"""What the real node puts into the cluster: kube-router's permissions and the cluster DNS.

CoreDNS runs as a pod in kube-system labelled k8s-app: kube-dns behind Service kube-dns at
10.96.0.10, as on K3s, so NetworkPolicies that allow DNS only towards those pods (the
production overlay's do) hold here too; a host process behind a selector-less Service would not
match them. It tolerates the real node's taint and selects that node.
"""

from __future__ import annotations

import secrets
import socket
import struct
from typing import Any

import yaml

from reference.localcluster.node.config import DNS_IP, LABEL, TAINT

KUBE_ROUTER_USER = "system:vvgate-kube-router"
COREDNS_PORTS = {"health": 8080, "ready": 8181}
COREFILE = """.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
    loop
    forward . /etc/resolv.conf
}
"""


def _role(name: str, rules: list[dict[str, Any]], subject: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": name}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": name},
         "subjects": [subject]},
    ]


def kube_router_rbac() -> str:
    """What kube-router's network policy controller reads, and its events."""
    rules = [
        {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "nodes",
                                          "endpoints"], "verbs": ["list", "get", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
         "verbs": ["list", "get", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
         "verbs": ["list", "get", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ]
    return yaml.safe_dump_all(_role("vvgate-kube-router", rules, {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KUBE_ROUTER_USER}),
        sort_keys=False)


def coredns(image: str) -> str:
    meta = {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}
    rules = [{"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
              "verbs": ["list", "watch"]},
             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
              "verbs": ["list", "watch"]}]
    pod_spec = {
        "serviceAccountName": "coredns",
        # The host's resolver for names outside the cluster.
        "dnsPolicy": "Default",
        "nodeSelector": {LABEL: "true"},
        "tolerations": [{**TAINT, "operator": "Equal"}],
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
            # Port 53 without root or capabilities: a namespaced, "safe" sysctl.
            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "53"}],
        },
        "containers": [{
            "name": "coredns", "image": image, "imagePullPolicy": "Never",
            "args": ["-conf", "/etc/coredns/Corefile"],
            "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                      {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}],
            "securityContext": {"allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": COREDNS_PORTS["ready"]},
                               "periodSeconds": 2},
            "livenessProbe": {"httpGet": {"path": "/health", "port": COREDNS_PORTS["health"]},
                              "periodSeconds": 10, "failureThreshold": 5},
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                          "limits": {"memory": "128Mi"}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
        }],
        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
    }
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "coredns", "namespace": "kube-system"}},
        *_role("vvgate-coredns", rules, {"kind": "ServiceAccount", "name": "coredns",
                                         "namespace": "kube-system"}),
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "coredns", "namespace": "kube-system"},
         "data": {"Corefile": COREFILE}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", **meta},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                  "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                               "spec": pod_spec}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", **meta},
         "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": DNS_IP,
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}},
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def everything() -> str:
    """Every object above, for `down` to delete in one call (the image does not matter)."""
    return kube_router_rbac() + "---\n" + coredns("vvgate.local/coredns:any")


def dns_answers(server: str = DNS_IP, name: str = "kubernetes.default.svc.cluster.local",
                timeout_s: float = 1.0) -> bool:
    """Whether the cluster DNS answers an A query for name with at least one address: the
    check that CoreDNS really serves (a Deployment's readyReplicas may be an old report)."""
    query_id = secrets.randbits(16)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + labels + struct.pack(
        ">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(packet, (server, 53))
            reply = sock.recv(512)
        except OSError:
            return False
    if len(reply) < 12:
        return False
    reply_id, flags, _, answers = struct.unpack(">HHHH", reply[:8])
    return bool(reply_id == query_id and flags & 0x000F == 0 and answers > 0)

