"""What the real node puts in place for the local overlay, before the gate deploys it.

The reference image gets the stable name the overlay asks for; the overlay's namespace gets
its Secrets (random, made once: the SecantusDB volumes keep the root user of the first
password) and the Ingress's certificate from the local CA; Traefik runs in kube-system as K3s
ships it. The gate's deployment fixture then applies the overlay itself, and never overwrites
these Secrets.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any

import yaml

from reference.localcluster import node_profile
from reference.localcluster.kubectl import kubectl
from reference.localcluster.layout import ClusterLayout
from reference.localcluster.node.config import NODE_IP
from reference.localenv.paths import HOST
from reference.localenv.state import LocalEnvError, say

INGRESS_TIMEOUT_S = 60.0


def _apply(cluster: ClusterLayout, docs: list[dict[str, Any]] | str) -> None:
    text = docs if isinstance(docs, str) else yaml.safe_dump_all(docs, sort_keys=False)
    kubectl(cluster, "apply", "-f", "-", stdin=text)


def _create_missing(cluster: ClusterLayout, docs: list[dict[str, Any]]) -> list[str]:
    """Create each Secret that does not exist; an existing one is the pods' and the volumes'."""
    made = []
    for doc in docs:
        meta = doc["metadata"]
        found = kubectl(cluster, "get", "secret", meta["name"], "-n", meta["namespace"],
                        "--ignore-not-found", "-o", "name")
        if not found.strip():
            kubectl(cluster, "create", "-f", "-", stdin=yaml.safe_dump(doc))
            made.append(meta["name"])
    return made


def _ingress_answers() -> bool:
    """Traefik's plain-HTTP entrypoint redirects to HTTPS. HTTPS itself has no certificate
    for the host until the overlay's Ingress names its Secret (sniStrict refuses until then),
    which the gate's deployment fixture applies later."""
    connection = http.client.HTTPConnection(NODE_IP, node_profile.HTTP_PORT, timeout=1.0)
    try:
        connection.request("GET", "/health", headers={"Host": HOST})
        return connection.getresponse().status in (301, 308)
    except OSError:
        return False
    finally:
        connection.close()


def install(cluster: ClusterLayout, reference_image: str, ca_dir: Path, t0: float) -> None:
    _apply(cluster, [node_profile.namespace()])
    made = _create_missing(cluster, node_profile.secrets_for_node())
    if made:
        say(f"  {'secrets':<24} made {', '.join(made)} (random; kept across runs)")
    _apply(cluster, [node_profile.tls_secret(ca_dir)])
    _apply(cluster, node_profile.traefik_addon(reference_image))
    deadline = time.monotonic() + INGRESS_TIMEOUT_S
    while not _ingress_answers():
        if time.monotonic() > deadline:
            raise LocalEnvError(f"Traefik does not answer at {NODE_IP}:{node_profile.HTTP_PORT} "
                                f"after {INGRESS_TIMEOUT_S:.0f}s (kubectl -n kube-system logs "
                                "deploy/traefik)")
        time.sleep(0.3)
    say(f"  {'traefik':<24} ready  https://{HOST} at {NODE_IP}:{node_profile.HTTPS_PORT} "
        f"{time.monotonic() - t0:.1f}s")

