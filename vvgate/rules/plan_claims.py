"""The deployment-plan items each static rule verifies (ids of vvgate/plan/deployment_plan.yaml).

A new rule gets its line here; tests/static checks that every rule has one.
"""

from __future__ import annotations

RULE_PLAN: dict[str, tuple[str, ...]] = {
    # schemas and custom resources: the base and overlays render into valid objects
    "K8S-SCHEMA": ("5.1",),
    "K8S-CRD": ("4.6", "5.6"),
    # workloads
    "BP-READ-ONLY-ROOT-FS": ("4.2", "4.3", "4.4"),
    "BP-RESOURCES": ("4.7", "3.1.2", "3.1.3"),
    "BP-LIVENESS-PROBE": ("4.2", "4.3"),
    "BP-READINESS-PROBE": ("4.2", "4.3"),
    "BP-PROBES-DISTINCT": ("4.3",),
    "BP-IMAGE-TAG": ("6.3",),
    "BP-IMAGE-REGISTRY": ("6.3",),
    "BP-PDB": ("4.8",),
    "BP-SPREAD": ("3.1.2", "3.1.3"),
    "BP-SA-TOKEN": ("4.2", "4.3", "4.4"),
    "PSS-RESTRICTED": ("2.2", "4.2", "4.3", "4.4"),
    "BP-PSS-ENFORCE": ("4.1",),
    "PLAN-NODE-ENV": ("4.2", "4.3"),
    # network
    "BP-NETPOL-COVERAGE": ("5.7",),
    "BP-NETPOL-DEFAULT-DENY": ("5.7",),
    "BP-NETPOL-OPEN": ("5.7",),
    "BP-INTERNAL-CLUSTERIP": ("4.5",),
    "PLAN-NETPOL-FLOWS": ("5.7",),
    "PLAN-NETPOL-NEEDED": ("5.7",),
    "PLAN-MONGO-ISOLATION": ("5.7",),
    # secrets
    "BP-CONFIGMAP-NO-SECRETS": ("5.5", "7.2"),
    "BP-ENV-NO-LITERAL-SECRETS": ("5.4", "7.2"),
    "PLAN-REFERENCES": ("3.1.7", "5.4", "7.1"),
    # ingress
    "PLAN-INGRESS-TLS": ("4.6",),
    "PLAN-INGRESS-ISSUER": ("4.6", "5.6"),
    "PLAN-INGRESS-CLASS": ("4.6",),
    "PLAN-INGRESS-HOST": ("5.2", "5.3"),
    "PLAN-INGRESS-PATHS": ("4.6",),
    # storage and MongoDB
    "PLAN-NFS-VALUES": ("0.2.4",),
    "PLAN-STORAGECLASS": ("0.3.1",),
    "PLAN-MONGO-STORAGE": ("0.3.2", "0.4.8"),
    "PLAN-MONGO-SIZE": ("3.1.2", "3.1.3"),
    "PLAN-MONGO-REPLSET": ("3.1.2", "3.1.3"),
    "PLAN-MONGO-RS-INIT": ("3.1.5", "3.1.6", "3.1.8"),
    "PLAN-MONGO-SECURITY": ("3.1.2", "3.1.3"),
    "PLAN-MONGO-HEADLESS": ("3.1.4",),
    "PLAN-MONGO-AUTH": ("3.1.2", "3.1.3"),
    # applications
    "PLAN-APP-CONTRACT": ("1.1", "4.2", "4.3", "4.4"),
    "PLAN-APP-RESOURCES": ("4.7",),
    "PLAN-SERVICES": ("4.5",),
    "PLAN-HPA": ("4.8",),
    "PLAN-INVENTORY": ("4.2", "4.3", "4.4", "4.6"),
    # overlays
    "OVL-NAMESPACE": ("4.1", "5.2", "5.3"),
    "OVL-NO-STAGING-IMAGES": ("5.3", "6.3"),
    "OVL-ONLY-EXPECTED-DIFFS": ("5.2", "5.3"),
    "OVL-PROD-NOT-SMALLER": ("5.3",),
    # the application checkout
    "APP-DOCKER-USER": ("2.2",),
    "APP-DOCKER-HEALTHCHECK": ("2.4",),
    "APP-DOCKER-PM-PINNED": ("2.3",),
    "APP-DOCKER-LOCKFILE-FIRST": ("2.5",),
    "APP-DOCKERIGNORE": ("2.1",),
    "APP-ENV-SAMPLE": ("1.4",),
    "APP-WORKFLOW-PROD-GATED": ("6.5",),
    "APP-WORKFLOW-SHA-TAGS": ("6.3",),
}
