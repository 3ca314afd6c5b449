"""What `vvgate local up --cluster --node` puts in place for the local overlay to run for real,
and the profile the gate then judges the cluster by.

With a real node the application runs as the local overlay's pods behind the in-cluster
Traefik (addons/traefik.yaml), not as the process target's loopback processes; so the
generated profile points at what the cluster serves:

- HTTPS at the node's address 10.17.0.1:443 and plain HTTP on its port 80 (Traefik's
  hostPorts), trusting the local CA, whose leaf `up` writes as the Ingress's TLS Secret;
- MongoDB through a port-forward to each SecantusDB StatefulSet (its headless Service), as the
  root user of its Kubernetes Secret;
- SESSION_SECRET, JWT_SECRET and GITHUB_APP_WEBHOOK_SECRET from the Kubernetes Secrets the
  pods read;
- no OAuth stand-in (the BFF in a pod signs in at GitHub itself, which this machine cannot
  reach): the sign-in checks skip, saying why;
- the GraphQL schema the pods serve: the reference's own, without dialects (pods get none).

The Secrets hold random values that `up` creates before anything deploys: the deployment
fixture never overwrites an existing Secret (vvgate/kube/deployment.py), so the pods and the
gate read these, not the overlay's placeholders. They are created once and kept: the SecantusDB
volumes hold a root user made from the first password they saw.

`up` calls it: node/application.py installs what the overlay needs, hook.py writes the profile.
"""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reference.localcluster import nodes, profile_section
from reference.localcluster.node.config import NODE_IP
from reference.localenv.paths import REPO_ROOT

OVERLAY = REPO_ROOT / "manifests" / "overlays" / "local"
TRAEFIK_ADDON = Path(__file__).with_name("addons") / "traefik.yaml"
SCHEMA = REPO_ROOT / "reference" / "schema.graphql"
HTTPS_PORT, HTTP_PORT = 443, 80
# The report says it: the storage gate's claims bind to the provisioner's NFS volumes as on the
# Synology, but the kernel here has no NFS client, so the node mounts them differently.
STORAGE_NOTE = ("storage: the real node's kernel has no NFS client: it mounts the "
                "provisioner's NFS volumes as bind mounts of the export folder (same paths and "
                "reclaim behaviour, no NFS semantics such as export options or root squashing)")
TLS_SECRET = "vinylvault-local-tls"
MONGO = {"bff": ("mongodb-bff-headless", "mongodb-bff-secret"),
         "backend": ("mongodb-backend-headless", "mongodb-backend-secret")}
# Profile secret name -> (Kubernetes Secret, key): what the gate signs sessions, tokens and
# webhooks with, as the pods do.
APP_SECRETS = {"SESSION_SECRET": ("app-secrets", "SESSION_SECRET"),
               "JWT_SECRET": ("app-secrets", "JWT_SECRET"),
               "GITHUB_APP_WEBHOOK_SECRET": ("github-secrets", "GITHUB_APP_WEBHOOK_SECRET")}


def overlay_image() -> str:
    """The reference image as the local overlay names it (its last `images` entry sets the
    tag): the name the node's import must also give the image it built."""
    doc = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text(encoding="utf-8"))
    entry = doc["images"][-1]
    return f"{entry['name']}:{entry['newTag']}"


def traefik_addon(image: str | None = None) -> str:
    """addons/traefik.yaml, running `image` (default: the overlay's reference image)."""
    text = TRAEFIK_ADDON.read_text(encoding="utf-8")
    named = overlay_image()
    if text.count(f"image: {named}\n") != 1:
        raise ValueError(f"{TRAEFIK_ADDON} does not name {named} exactly once")
    return text if image is None else text.replace(f"image: {named}\n", f"image: {image}\n")


def namespace() -> dict[str, Any]:
    """The overlay's own Namespace (Pod Security restricted), made before its Secrets."""
    doc: dict[str, Any] = yaml.safe_load((OVERLAY / "namespace.yaml").read_text(encoding="utf-8"))
    return doc


def _example_keys(name: str) -> dict[str, str]:
    """The keys the overlay documents for a Secret (secrets.example/), with their example
    values (empty for what must be generated)."""
    values = {}
    for line in (OVERLAY / "secrets.example" / f"{name}.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _secret(name: str, data: dict[str, str], kind: str = "Opaque") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": nodes.K8S_NAMESPACE,
                         "labels": {"app.kubernetes.io/part-of": "vinylvault",
                                    "app.kubernetes.io/managed-by": "vvgate-local"}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def secrets_for_node(token: Callable[[int], str] = random.token_hex) -> list[dict[str, Any]]:
    """The overlay's four Secrets with every key its secrets.example lists: a documented value
    as it is (MONGO_INITDB_ROOT_USERNAME=root), else a random one (hex: the Mongo passwords
    go into connection strings unescaped). Create each only where it does not exist."""
    made = []
    for name in ("app-secrets", "github-secrets", "mongodb-bff-secret",
                 "mongodb-backend-secret"):
        data = {key: example or token(32) for key, example in _example_keys(name).items()}
        made.append(_secret(name, data))
    return made


def tls_secret(ca_dir: Path) -> dict[str, Any]:
    """The Ingress's certificate: the local CA's leaf for the host, which the process target's
    Traefik serves too (<state>/local/ca/host.pem). Replace it on every `up`: the leaf is
    renewed before it expires."""
    return _secret(TLS_SECRET, {"tls.crt": (ca_dir / "host.pem").read_text(),
                                "tls.key": (ca_dir / "host.key").read_text()},
                   "kubernetes.io/tls")


def _from_secret(secret: str, key: str) -> dict[str, Any]:
    return {"kubernetes": {"secret": secret, "key": key}}


def profile_for_node(base: dict[str, Any], kubeconfig: Path) -> dict[str, Any]:
    """The generated profile for a cluster with the real node, from the process target's
    (reference/localenv/profile.py: host, CA, load shape, ...)."""
    doc = {k: v for k, v in base.items() if k not in ("oauth", "mongodb", "secrets")}
    doc["graphql"] = {**(base.get("graphql") or {}), "schema": [str(SCHEMA)]}
    doc["address_override"] = f"{NODE_IP}:{HTTPS_PORT}"
    doc["http_port"] = HTTP_PORT
    profile_secrets = {name: _from_secret(*where) for name, where in APP_SECRETS.items()}
    mongodb: dict[str, Any] = {}
    for role, (service, secret) in MONGO.items():
        user, password = f"MONGODB_{role.upper()}_USERNAME", f"MONGODB_{role.upper()}_PASSWORD"
        profile_secrets[user] = _from_secret(secret, "MONGO_INITDB_ROOT_USERNAME")
        profile_secrets[password] = _from_secret(secret, "MONGO_INITDB_ROOT_PASSWORD")
        # One standalone SecantusDB member each: no replica set for the gate to expect.
        mongodb[role] = {"access": {"service": service, "port": 27017,
                                    "username_secret": user, "password_secret": password}}
    doc["mongodb"] = mongodb
    doc["secrets"] = profile_secrets
    doc["kubernetes"] = profile_section.section(kubeconfig)
    doc["notes"] = [STORAGE_NOTE]
    return doc
