"""NetworkPolicies allow the contract's flows and no more.

Every flow a policy rule allows is put in the contract's terms: its ends are roles (the
applications and MongoDB, found as vvgate/rules/manifest/roles.py finds them, the ingress
controller and DNS in kube-system, the internet) and a port. A flow of a contract role that
the contract (section 1: who serves what, and who talks to whom) lacks is a finding, and so
is a contract flow that the policies block. Peers that admit
everything are BP-NETPOL-OPEN's finding and ingress into MongoDB is PLAN-MONGO-ISOLATION's,
so neither is judged twice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from vvgate.rules.manifest import roles
from vvgate.rules.manifest.best_practice import is_workload
from vvgate.rules.manifest.plan_expectations import APPS
from vvgate.rules.manifest.workload import containers, pod_labels, selector_matches
from vvgate.rules.model import (
    ManifestObject,
    ObjectRule,
    RuleInfo,
    Settings,
    Tree,
    TreeRule,
    Violation,
)

MONGO = roles.MONGO_ROLE
MONGO_PORT = 27017
INGRESS_CONTROLLER, DNS, INTERNET = "ingress-controller", "dns", "internet"
KUBE_SYSTEM = "kube-system"
ANY = "*"
# Contract section 1: (from, to) -> the port the destination serves.
CONTRACT_FLOWS: dict[tuple[str, str], int] = {
    (INGRESS_CONTROLLER, "frontend"): APPS["frontend"].port,
    (INGRESS_CONTROLLER, "bff"): APPS["bff"].port,
    ("bff", "backend"): APPS["backend"].port,
    ("bff", MONGO): MONGO_PORT,
    ("backend", MONGO): MONGO_PORT,
    (MONGO, MONGO): MONGO_PORT,  # replica-set members
    ("mongo-init", MONGO): MONGO_PORT,  # the rs-init Jobs
    ("bff", INTERNET): 443,  # the GitHub OAuth code exchange
    ("backend", INTERNET): 443,  # the GitHub API
    (ANY, DNS): 53,
}
# Without these the application does not work; the rest are allowed, not needed.
REQUIRED = ((INGRESS_CONTROLLER, "frontend"), (INGRESS_CONTROLLER, "bff"), ("bff", "backend"),
            ("bff", MONGO), ("backend", MONGO), ("mongo-init", MONGO), ("bff", INTERNET))
TRAEFIK_LABELS = ({"app.kubernetes.io/name": "traefik"}, {"app": "traefik"})
DNS_LABELS = ({"k8s-app": "kube-dns"},)
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def workload_role(obj: ManifestObject) -> str | None:
    role = roles.role_of(obj)
    if role is None and obj.kind in ("Job", "CronJob") and any(
            roles.MONGO_IMAGE.search(roles.image_name(c)) for _, c in containers(obj)):
        return "mongo-init"
    return role


@dataclass(frozen=True)
class End:
    role: str  # a contract role, or what the peer is when it is none (no flow has it)
    workload: ManifestObject | None = None


def _workloads(tree: Tree, namespace: str | None, selector: Any) -> list[ManifestObject]:
    return [o for o in tree.objects if is_workload(o) and o.namespace == namespace
            and selector_matches(selector if isinstance(selector, Mapping) else {},
                                 pod_labels(o))]


def _kube_system_end(pods: Any, egress: bool) -> End:
    selector = pods if isinstance(pods, Mapping) else {}
    labels = selector.get("matchLabels") or {}
    if not labels:
        # All of kube-system: the ingress controller's side of ingress, DNS's of egress.
        return End(DNS if egress else INGRESS_CONTROLLER)
    if any(labels.items() >= want.items() for want in TRAEFIK_LABELS):
        return End(INGRESS_CONTROLLER)
    if any(labels.items() >= want.items() for want in DNS_LABELS):
        return End(DNS)
    return End(f"kube-system pods {dict(labels)}")


def peer_ends(peer: Mapping[str, Any], policy: ManifestObject, tree: Tree,
              egress: bool) -> list[End]:
    """What a peer stands for: [] when it admits everything (BP-NETPOL-OPEN's finding) or
    selects no pod of the tree."""
    block = peer.get("ipBlock")
    if isinstance(block, Mapping):
        try:
            network = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        except ValueError:
            return []
        if network.prefixlen == 0:
            return [End(INTERNET)] if egress else []
        return [End(f"private network {network}")] if network.is_private \
            else [End(INTERNET)]
    if "namespaceSelector" in peer:
        selector = peer.get("namespaceSelector") or {}
        name = (selector.get("matchLabels") or {}).get(NAMESPACE_LABEL)
        if not selector:
            return []
        if name == KUBE_SYSTEM:
            return [_kube_system_end(peer.get("podSelector"), egress)]
        if name is not None and name == policy.namespace and "podSelector" not in peer:
            return [End(workload_role(o) or f"workload {o.name}", o)
                    for o in _workloads(tree, policy.namespace, {})]
        return [End(f"namespace {dict(selector)}")]
    return [End(workload_role(o) or f"workload {o.name}", o)
            for o in _workloads(tree, policy.namespace, peer.get("podSelector"))]


def _ports(rule: Mapping[str, Any], served_by: list[ManifestObject]) -> set[int] | None:
    """The rule's destination ports (named ones resolved on the serving pods); None: all."""
    listed = rule.get("ports")
    if not listed:
        return None
    out: set[int] = set()
    for entry in listed:
        port = entry.get("port") if isinstance(entry, Mapping) else None
        if port is None:
            return None
        if isinstance(port, int):
            out.add(port)
            continue
        for obj in served_by:
            for _, c in containers(obj, init=False):
                out.update(int(p["containerPort"]) for p in c.get("ports") or []
                           if p.get("name") == port and isinstance(p.get("containerPort"), int))
    return out


def _selected(policy: ManifestObject, tree: Tree) -> list[ManifestObject]:
    return _workloads(tree, policy.namespace, policy.spec.get("podSelector") or {})


def _types(policy: ManifestObject) -> list[str]:
    types = policy.spec.get("policyTypes")
    if types:
        return [str(t) for t in types]
    return ["Ingress", *(["Egress"] if policy.spec.get("egress") else [])]


def _allowed(src: str, dst: str, port: int | None) -> bool:
    want = CONTRACT_FLOWS.get((src, dst), CONTRACT_FLOWS.get((ANY, dst)))
    return want is not None and port == want


def _role(obj: ManifestObject) -> str:
    return workload_role(obj) or f"workload {obj.name}"


def check_policy_flows(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    selected = _selected(obj, tree)
    # PLAN-MONGO-ISOLATION judges who may reach a database.
    skip_ingress = any(workload_role(o) == MONGO for o in selected)
    for key, peers_key, egress in (("ingress", "from", False), ("egress", "to", True)):
        if key == "ingress" and skip_ingress:
            continue
        for i, rule in enumerate(obj.spec.get(key) or []):
            if not isinstance(rule, Mapping) or not rule.get(peers_key):
                continue  # open: BP-NETPOL-OPEN
            for j, peer in enumerate(rule[peers_key]):
                if not isinstance(peer, Mapping):
                    continue
                for end in peer_ends(peer, obj, tree, egress):
                    served = [end.workload] if egress and end.workload else selected
                    ports = _ports(rule, [w for w in served if w is not None])
                    for pod in selected:
                        src, dst = (_role(pod), end.role) if egress else (end.role, _role(pod))
                        if workload_role(pod) is None:
                            continue  # a workload the contract does not know of
                        for port in sorted(ports) if ports is not None else [None]:
                            if not _allowed(src, dst, port):
                                where = f"port {port}" if port is not None else "every port"
                                yield Violation(f"spec.{key}[{i}].{peers_key}[{j}]",
                                                f"allows {src} -> {dst} on {where}, a flow "
                                                "the contract does not have")
                                break


def _policies(tree: Tree, pod: ManifestObject, kind: str) -> list[ManifestObject]:
    return [p for p in tree.of_kind("NetworkPolicy") if p.namespace == pod.namespace
            and kind in _types(p) and pod in _selected(p, tree)]


def _side_admits(tree: Tree, pod: ManifestObject, other: str | ManifestObject, port: int,
                 egress: bool) -> bool:
    """Whether the policies selecting `pod` let it talk to `other` (a workload, or an
    external role) on `port`, in the one direction."""
    key, peers_key = ("egress", "to") if egress else ("ingress", "from")
    policies = _policies(tree, pod, "Egress" if egress else "Ingress")
    if not any(p.spec.get("podSelector") for p in policies):
        # Nothing restricts this side, or only a namespace-wide default: a pod without a
        # policy of its own is BP-NETPOL-COVERAGE's finding.
        return True
    for policy in policies:
        for rule in policy.spec.get(key) or []:
            if not isinstance(rule, Mapping):
                continue
            peers = rule.get(peers_key)
            ends = [e for p in peers or [] if isinstance(p, Mapping)
                    for e in peer_ends(p, policy, tree, egress)]
            if peers and not any(e.workload is other if isinstance(other, ManifestObject)
                                 else e.role == other for e in ends):
                continue
            served = [other] if egress and isinstance(other, ManifestObject) else [pod]
            ports = _ports(rule, served)
            if ports is None or port in ports:
                return True
    return False


def _reaches(tree: Tree, sender: ManifestObject | str, receiver: ManifestObject | str,
             port: int) -> bool:
    """Both sides let the flow through (an external end has no side of its own)."""
    out = isinstance(sender, str) or _side_admits(tree, sender, receiver, port, egress=True)
    into = isinstance(receiver, str) or _side_admits(tree, receiver, sender, port, egress=False)
    return out and into


def _names_a_missing_peer(tree: Tree, sender: ManifestObject | str) -> bool:
    """The sender's egress names pods the tree does not run: the receiver it was written for
    is missing, which PLAN-INVENTORY reports."""
    if isinstance(sender, str):
        return False
    return any(set(peer) == {"podSelector"} and not peer_ends(peer, policy, tree, True)
               for policy in _policies(tree, sender, "Egress")
               for rule in policy.spec.get("egress") or [] if isinstance(rule, Mapping)
               for peer in rule.get("to") or [] if isinstance(peer, Mapping))


def check_required_flows(tree: Tree, s: Settings) -> Iterator[Violation]:
    if not any(True for _ in tree.of_kind("NetworkPolicy")):
        return  # no policy at all is BP-NETPOL-DEFAULT-DENY's and BP-NETPOL-COVERAGE's
    by_role: dict[str, list[ManifestObject | str]] = {INGRESS_CONTROLLER: [INGRESS_CONTROLLER],
                                                     INTERNET: [INTERNET]}
    for obj in tree.objects:
        role = workload_role(obj)
        if role is not None:
            by_role.setdefault(role, []).append(obj)
    for src, dst in REQUIRED:
        port = CONTRACT_FLOWS[(src, dst)]
        # Each sender reaches some receiver: with two databases, the BFF needs only its own.
        for sender in by_role.get(src, []) if dst in by_role else []:
            if not any(_reaches(tree, sender, r, port) for r in by_role[dst]) and \
                    not _names_a_missing_peer(tree, sender):
                name = sender if isinstance(sender, str) else sender.name
                yield Violation("spec", f"the contract's flow {src} -> {dst} on port {port} "
                                        f"is blocked for {name}: no {dst} lets it through "
                                        "both the sender's egress and the receiver's ingress")


RULES: list[ObjectRule | TreeRule] = [
    ObjectRule(RuleInfo("PLAN-NETPOL-FLOWS", "NetworkPolicies allow no flow the contract lacks",
                        "narrow the rule to the contract's peers and ports (contract "
                        "section 1)", "plan"),
               lambda obj: obj.kind == "NetworkPolicy", check_policy_flows),
    TreeRule(RuleInfo("PLAN-NETPOL-NEEDED", "The contract's flows get through the "
                      "NetworkPolicies", "allow the flow on both sides: the "
                      "sender's egress and the receiver's ingress", "plan"),
             check_required_flows),
]
