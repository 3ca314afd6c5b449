"""The control plane's processes: argv, environment and health check of each, in start order."""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reference.localcluster import nfs_provisioner
from reference.localcluster.layout import ClusterLayout, bin_dir, pins
from reference.localcluster.node.config import NODE_IP
from reference.localenv import procs

# Start order; down stops in reverse.
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
         "provisioner")
PORT_KEYS = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
SERVICE_CIDR = "10.96.0.0/16"
# The provisioner name the seed's StorageClass asks for (manifests/base/storage/).
PROVISIONER_NAME = "cluster.local/nfs-subdir-external-provisioner"
NFS_SERVER = "127.0.0.1"
# A kubelet's default node lease.
NODE_LEASE_S = 40


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    port: int
    health: Callable[[], bool]
    env: dict[str, str]

    @property
    def spec(self) -> str:
        return json.dumps(self.argv)


def binary(name: str, version_key: str) -> Path:
    return bin_dir() / f"{name}-{pins()[version_key]}"


def missing_binaries() -> list[Path]:
    wanted = [binary(n, "kubernetes") for n in
              ("kube-apiserver", "kube-controller-manager", "kube-scheduler")]
    wanted += [binary("kwok", "kwok"), binary("etcd", "etcd"), provisioner_binary()]
    return [p for p in wanted if not os.access(p, os.X_OK)]


def provisioner_binary() -> Path:
    return bin_dir() / nfs_provisioner.binary_name(pins()[nfs_provisioner.PIN_KEY])


def _provisioner_ready(layout: ClusterLayout) -> bool:
    """The ready file names the running provisioner's PID: a file left by an earlier
    process does not count."""
    rec = procs.load(layout.run, "provisioner")
    try:
        return rec is not None and int((layout.run / "provisioner.ready").read_text()) == rec.pid
    except (OSError, ValueError):
        return False


def http_get(url: str, context: ssl.SSLContext | None = None) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            body: bytes = resp.read()
            return body if resp.status == 200 else None
    except (OSError, ValueError):
        return None


def _insecure() -> ssl.SSLContext:
    # controller-manager and scheduler serve /healthz with a self-signed loopback certificate.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def build(layout: ClusterLayout, port: dict[str, int], node: bool = False) -> list[Component]:
    """The components; with `node` (a real node, --node) the API server listens on every
    address and advertises the node's, so pods reach it through the kubernetes Service; the
    node's guard (node/network.py) lets only loopback and the node's pods connect."""
    pki = layout.pki
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(layout.root)}
    server = f"https://127.0.0.1:{port['apiserver']}"
    etcd_url = f"http://127.0.0.1:{port['etcd']}"
    peer_url = f"http://127.0.0.1:{port['etcd-peer']}"
    kc = layout.component_kubeconfig
    secure = ["--bind-address=127.0.0.1", "--leader-elect=false"]
    comps = [
        Component("etcd", [
            str(binary("etcd", "etcd")), "--name=vvgate", f"--data-dir={layout.etcd_data}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=vvgate={peer_url}", "--quota-backend-bytes=1073741824",
        ], port["etcd"], lambda: b"true" in (http_get(f"{etcd_url}/health") or b""), env),
        Component("kube-apiserver", [
            str(binary("kube-apiserver", "kubernetes")),
            f"--bind-address={'0.0.0.0' if node else '127.0.0.1'}",
            f"--advertise-address={NODE_IP if node else '127.0.0.1'}",
            f"--secure-port={port['apiserver']}", f"--etcd-servers={etcd_url}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            # Port-forward and logs reach kwok's kubelet API with this client certificate.
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false", "--enable-priority-and-fairness=false",
        ], port["apiserver"],
            lambda: http_get(f"{server}/readyz", _trusting(pki / "ca.crt")) is not None, env),
        Component("kube-controller-manager", [
            str(binary("kube-controller-manager", "kubernetes")), *secure,
            f"--secure-port={port['controller-manager']}",
            f"--kubeconfig={kc('controller-manager')}",
            f"--authentication-kubeconfig={kc('controller-manager')}",
            f"--authorization-kubeconfig={kc('controller-manager')}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}", "--use-service-account-credentials=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--cert-dir={layout.root / 'controller-manager-certs'}",
            "--profiling=false",
        ], port["controller-manager"],
            lambda: http_get(f"https://127.0.0.1:{port['controller-manager']}/healthz",
                             _insecure()) is not None, env),
        Component("kube-scheduler", [
            str(binary("kube-scheduler", "kubernetes")), *secure,
            f"--secure-port={port['scheduler']}", f"--kubeconfig={kc('scheduler')}",
            f"--authentication-kubeconfig={kc('scheduler')}",
            f"--authorization-kubeconfig={kc('scheduler')}",
            f"--cert-dir={layout.root / 'scheduler-certs'}", "--profiling=false",
        ], port["scheduler"],
            lambda: http_get(f"https://127.0.0.1:{port['scheduler']}/healthz",
                             _insecure()) is not None, env),
        Component("kwok", [
            str(binary("kwok", "kwok")), f"--kubeconfig={kc('kwok')}",
            f"--config={layout.root / 'kwok.yaml'}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            # Without node leases kwok v0.7.0 falls back to its lease-era status heartbeat,
            # which comes only every 10-20 minutes, so the node lifecycle controller marked
            # every node (and its pods) NotReady after its grace period. With leases kwok
            # renews each node's Lease every 10 s, as a kubelet does.
            f"--node-lease-duration-seconds={NODE_LEASE_S}",
            "--node-ip=127.0.0.1", f"--node-port={port['kwok']}",
            f"--server-address=127.0.0.1:{port['kwok']}",
            f"--tls-cert-file={pki / 'kwok-serving.crt'}",
            f"--tls-private-key-file={pki / 'kwok-serving.key'}",
        ], port["kwok"],
            lambda: http_get(f"https://127.0.0.1:{port['kwok']}/healthz",
                             _trusting(pki / "ca.crt")) is not None, env),
        Component("provisioner", [
            str(provisioner_binary()),
            f"--kubeconfig={kc('provisioner')}", f"--export={layout.export}",
            f"--name={PROVISIONER_NAME}", f"--server={NFS_SERVER}",
            f"--ready-file={layout.run / 'provisioner.ready'}",
        ], 0, lambda: _provisioner_ready(layout), env),
    ]
    return comps
