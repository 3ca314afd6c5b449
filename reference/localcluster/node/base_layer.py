"""The application image's base layer: Debian bookworm with Python 3.11, made by mmdebstrap.

The layer is cached by what it is made from (suite, packages, mirrors, exclusions), so it is
built once per machine (about a minute, from the Debian mirror) and reused by every change of
the application layers above it. Debian updates do not rebuild it: remove the cached layer
(images/layers/base-*.tar) to take them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reference.localcluster.node import oci

SUITE = "bookworm"
# python3 runs the apps; libstdc++6 is what shapely (SecantusDB's geometry) links against;
# ca-certificates, netbase and tzdata are what TLS, getservbyname and zoneinfo read.
PACKAGES = ("python3", "libstdc++6", "ca-certificates", "netbase", "tzdata")
MIRRORS = ("deb http://deb.debian.org/debian bookworm main",
           "deb http://deb.debian.org/debian-security bookworm-security main")
# No documentation, manual pages or translations; licences stay.
EXCLUDE = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*",
           "/usr/share/lintian/*")
KEEP = ("/usr/share/doc/*/copyright",)
# mmdebstrap's reproducible mode: files it generates get this time, not the build's.
SOURCE_DATE_EPOCH = "1704067200"
# The image's default user (and group): a pod that sets only runAsNonRoot runs as this, and
# its group is this user's, not root's (the runtime takes the group from /etc/passwd).
APP_USER, APP_ID = "app", 10001
HOOKS = (
    # The runtime provides these two per container; the host's must not ship.
    'rm -f "$1/etc/resolv.conf" "$1/etc/hostname"',
    f'echo "{APP_USER}:x:{APP_ID}:{APP_ID}:{APP_USER}:/nonexistent:/usr/sbin/nologin" '
    '>> "$1/etc/passwd"',
    f'echo "{APP_USER}:x:{APP_ID}:" >> "$1/etc/group"',
)


class BaseLayerError(Exception):
    """mmdebstrap failed; the message names its log."""


def key() -> str:
    material = json.dumps([SUITE, PACKAGES, MIRRORS, EXCLUDE, KEEP, HOOKS, "essential"])
    return hashlib.sha256(material.encode()).hexdigest()[:12]


def path(layers: Path) -> Path:
    return layers / f"base-{key()}.tar"


def cached(layers: Path) -> oci.Layer | None:
    return oci.cached_layer(path(layers))


def _mmdebstrap(rootfs: Path, log: Path) -> None:
    argv = ["mmdebstrap", "--mode=root", "--variant=essential", "--components=main",
            f"--include={','.join(PACKAGES)}",
            *(f"--dpkgopt=path-exclude={p}" for p in EXCLUDE),
            *(f"--dpkgopt=path-include={p}" for p in KEEP),
            *(f"--customize-hook={hook}" for hook in HOOKS),
            SUITE, str(rootfs), *MIRRORS]
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    with log.open("w") as out:
        code = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    if code != 0:
        tail = (log.read_text(errors="replace").strip().splitlines() or [""])[-1][:160]
        raise BaseLayerError(f"mmdebstrap failed (exit {code}: {tail}); see {log}")


def build(layers: Path, logs: Path, say: Callable[[str], None]) -> oci.Layer:
    """Make the layer (root only: mmdebstrap's root mode keeps owners and device-free)."""
    layers.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".base-", dir=layers) as tmp:
        rootfs = Path(tmp) / "rootfs"
        _mmdebstrap(rootfs, logs / "base-layer.log")
        for leftover in ("var/cache/apt", "var/lib/apt/lists", "var/log"):
            for child in (rootfs / leftover).glob("*"):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        # Owners and mtimes as dpkg left them: Debian's .pyc files are checked against their
        # sources' mtimes, and a changed mtime would make Python compile the standard library
        # again in every container.
        layer = oci.write_layer(rootfs, path(layers), keep_owners=True, readable=False,
                                keep_mtimes=True)
    say(f"  base layer {path(layers).name}: {layer.size / 1e6:.0f} MB in "
        f"{time.monotonic() - t0:.0f}s (mmdebstrap {SUITE}: {', '.join(PACKAGES)})")
    return layer
