"""The `kubernetes:` section that `up --cluster` adds to the generated local profile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reference.localcluster import kubeconfig, nodes
from reference.localcluster.layout import pins

STORAGE_CLASS = "nfs-mongodb"
# System namespaces: no fixture has business writing there, even on the local cluster.
PROTECTED = ("kube-system", "kube-public", "kube-node-lease", "default")


def section(kubeconfig_path: Path) -> dict[str, Any]:
    major_minor = ".".join(pins()["kubernetes"].lstrip("v").split(".")[:2])
    return {
        "kubeconfig": str(kubeconfig_path),
        "context": kubeconfig.CONTEXT,
        "namespace": nodes.K8S_NAMESPACE,
        "storage_class": STORAGE_CLASS,
        "version": major_minor,
        "protected_namespaces": list(PROTECTED),
    }


def add(profile_path: Path, kubeconfig_path: Path,
        rewrite: Callable[[dict[str, Any], Path], dict[str, Any]] | None = None) -> None:
    """Rewrite the profile with the section (or as `rewrite` makes it from the process target's
    profile and the kubeconfig), keeping its header comment; atomic."""
    text = profile_path.read_text(encoding="utf-8")
    header = "".join(ln + "\n" for ln in text.splitlines() if ln.startswith("#"))
    doc = yaml.safe_load(text) or {}
    if rewrite is None:
        doc["kubernetes"] = section(kubeconfig_path)
    else:
        doc = rewrite(doc, kubeconfig_path)
    tmp = profile_path.with_suffix(".cluster.tmp")
    tmp.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    tmp.replace(profile_path)
