"""The local cluster's NFS provisioner: a Go program in nfsprovisioner/ built on
sig-storage-lib-external-provisioner, the controller library nfs-subdir-external-provisioner
is built on (the module proxy does not serve that provisioner itself).

Stdlib only: scripts/bootstrap-cluster loads this file before any virtualenv exists.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SOURCE_DIR = Path(__file__).with_name("nfsprovisioner")
LIBRARY = "sigs.k8s.io/sig-storage-lib-external-provisioner/v13"
# The key in binaries.json that pins LIBRARY; go.mod must require the same version.
PIN_KEY = "sig_storage_lib_external_provisioner"
NAME = "nfs-provisioner"


def source_files() -> list[Path]:
    """What goes into the binary: tests are left out so editing them rebuilds nothing."""
    files = [SOURCE_DIR / "go.mod", SOURCE_DIR / "go.sum"]
    files += sorted(p for p in SOURCE_DIR.glob("*.go") if not p.name.endswith("_test.go"))
    return files


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in source_files():
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def binary_name(library_version: str) -> str:
    """The cache key changes with the library pin and with any change to the source."""
    return f"{NAME}-{library_version}-{source_hash()}"


def required_library_version() -> str | None:
    """The version of LIBRARY that go.mod requires, or None when it does not."""
    gomod = (SOURCE_DIR / "go.mod").read_text()
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(LIBRARY)}\s+(v\S+)", gomod, re.M)
    return found.group(1) if found else None
