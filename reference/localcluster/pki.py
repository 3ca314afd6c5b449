"""Certificates for the local control plane: a cluster CA, the API server's serving
certificate, one client certificate per component, and the service-account key."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reference.localcluster.node.config import NODE_IP, NODE_NAME

DAYS = 365
# CN/O become the user and groups the API server's RBAC sees.
CLIENTS = {
    "admin": ("vvgate-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kwok": ("system:kwok", "system:masters"),
    "provisioner": ("system:vvgate-provisioner", "system:masters"),
    # The real node's (--node): the Node authorizer knows a kubelet by this name and group;
    # kube-proxy's user is the one the default system:node-proxier binding names; kube-router's
    # has its own ClusterRole (node/addons.py).
    "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
    "kube-proxy": ("system:kube-proxy", None),
    "kube-router": ("system:vvgate-kube-router", None),
}
SERVER_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, public: object) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=DAYS)))


def ensure(directory: Path) -> None:
    """Create whatever is missing; existing material is kept so kubeconfigs stay valid."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca_cert_path, ca_key_path = directory / "ca.crt", directory / "ca.key"
    if not (ca_cert_path.is_file() and ca_key_path.is_file()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("vvgate local cluster CA")
        cert = (_builder(name, name, key.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        _write_private(ca_key_path, _key_pem(key))
        ca_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)

    def leaf(stem: str, subject: x509.Name, usage: x509.ObjectIdentifier,
             sans: list[x509.GeneralName] | None = None) -> None:
        if (directory / f"{stem}.crt").is_file() and (directory / f"{stem}.key").is_file():
            return
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (_builder(subject, ca_cert.subject, key.public_key())
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write_private(directory / f"{stem}.key", _key_pem(key))
        (directory / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    sans += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("10.96.0.1"))]
    leaf("apiserver", _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
    # kwok serves the kubelet API (logs, port-forward) that the API server calls.
    leaf("kwok-serving", _name("kwok"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
    # The real node's kubelet serves it on the node IP, which the API server dials.
    leaf("kubelet-serving", _name(f"system:node:{NODE_NAME}", "system:nodes"),
         ExtendedKeyUsageOID.SERVER_AUTH,
         [x509.DNSName(NODE_NAME), x509.IPAddress(ipaddress.ip_address(NODE_IP))])
    leaf("apiserver-kubelet-client", _name("kube-apiserver-kubelet-client", "system:masters"),
         ExtendedKeyUsageOID.CLIENT_AUTH)
    for stem, (cn, org) in CLIENTS.items():
        leaf(f"client-{stem}", _name(cn, org), ExtendedKeyUsageOID.CLIENT_AUTH)
    sa_key = directory / "sa.key"
    if not sa_key.is_file():
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_private(sa_key, _key_pem(rsa_key))
        (directory / "sa.pub").write_bytes(rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
