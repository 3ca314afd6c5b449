"""Kubeconfig files: one per component identity, all pointing at the loopback API server."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "vvgate-local"


def write(path: Path, server: str, pki: Path, identity: str) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": identity, "user": {
            "client-certificate": str(pki / f"client-{identity}.crt"),
            "client-key": str(pki / f"client-{identity}.key")}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": identity}}],
        "current-context": CONTEXT,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
