"""Deterministic OCI image archives, written without a registry or a container daemon.

A layer is an uncompressed tar of a folder: entries sorted, every mtime the same (unless the
folder's own are kept, as Debian's .pyc files need), owners root unless the folder's own are
kept, no user or group names. The same folder gives the same bytes, so the layer's digest
(which, uncompressed, is also its diffID) identifies its content. An archive is an OCI image
layout in one tar (oci-layout, index.json, blobs/sha256/*), which `ctr images import` reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Every entry's mtime: a timestamp in a layer would make each build's digest differ.
MTIME = 0
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
NAME_ANNOTATION = "io.containerd.image.name"
# Kernel file systems and runtime folders a runtime mounts over: their contents never ship.
_MOUNTED = {"dev", "proc", "sys", "run", "tmp"}


@dataclass(frozen=True)
class Layer:
    path: Path
    digest: str  # sha256 of the uncompressed tar: its blob digest and its diffID
    size: int


class _Hashing(io.RawIOBase):
    """A write-only file that hashes what passes through to the file below."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.sha.update(chunk)
        self.out.write(chunk)
        self.size += len(chunk)
        return len(chunk)


def _normalise(info: tarfile.TarInfo, keep_owners: bool, readable: bool, keep_mtimes: bool,
               ) -> tarfile.TarInfo:
    # Whole seconds: a fractional mtime would add a PAX record to every entry.
    info.mtime = int(info.mtime) if keep_mtimes else MTIME
    info.uname = info.gname = ""
    if not keep_owners:
        info.uid = info.gid = 0
    if readable and not info.issym() and not info.islnk():
        # Any user may read every file and run every program: pods run as non-root users.
        executable = info.isdir() or info.mode & 0o111
        info.mode = 0o755 if executable else 0o644
    return info


def _entries(root: Path, rel: str = "") -> list[tuple[Path, str]]:
    """Every path below root in sorted order, without following symlinks (a symlink to a
    folder, as merged /usr makes /bin and /lib, is an entry, not a folder to enter)."""
    out: list[tuple[Path, str]] = []
    with os.scandir(root / rel if rel else root) as it:
        children = sorted(it, key=lambda e: e.name)
    for child in children:
        name = f"{rel}/{child.name}" if rel else child.name
        out.append((Path(child.path), name))
        if child.is_dir(follow_symlinks=False) and name not in _MOUNTED:
            out += _entries(root, name)
    return out


def write_layer(rootfs: Path, dest: Path, keep_owners: bool = False, readable: bool = True,
                keep_mtimes: bool = False) -> Layer:
    """Pack rootfs into dest (written aside and renamed: never half a layer under its name);
    a sidecar dest.json keeps the digest so a cached layer is not hashed again."""
    partial = dest.with_name(f".{dest.name}.partial")
    with partial.open("wb") as raw:
        out = _Hashing(raw)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for path, name in _entries(rootfs):
                info = tar.gettarinfo(str(path), arcname=name)
                if info is None or info.ischr() or info.isblk() or info.isfifo():
                    continue  # sockets, devices, pipes: the runtime makes its own
                _normalise(info, keep_owners, readable, keep_mtimes)
                if info.isreg():
                    with path.open("rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    layer = Layer(dest, "sha256:" + out.sha.hexdigest(), out.size)
    partial.replace(dest)
    _sidecar(dest).write_text(json.dumps({"digest": layer.digest, "size": layer.size}))
    return layer


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def cached_layer(path: Path) -> Layer | None:
    try:
        meta = json.loads(_sidecar(path).read_text())
        if path.stat().st_size != meta["size"]:
            return None
        return Layer(path, str(meta["digest"]), int(meta["size"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_config(layers: list[Layer], history: list[str], config: dict[str, Any],
                 ) -> dict[str, Any]:
    return {
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": step}
                    for step in history],
        "created": "1970-01-01T00:00:00Z",
    }


def write_archive(dest: Path, name: str, layers: list[Layer], config: dict[str, Any]) -> str:
    """The image `name` (registry/repo:tag) as an OCI archive; returns its manifest digest."""
    config_blob = _json(config)
    manifest = _json({
        "schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": _digest(config_blob),
                   "size": len(config_blob)},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.size}
                   for layer in layers],
    })
    index = _json({
        "schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE, "digest": _digest(manifest), "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {NAME_ANNOTATION: name,
                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
        }],
    })
    partial = dest.with_name(f".{dest.name}.partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for folder in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
            tar.addfile(info)

        def add(member: str, size: int, fileobj: IO[bytes]) -> None:
            info = tarfile.TarInfo(member)
            info.size, info.mode, info.mtime = size, 0o644, MTIME
            tar.addfile(info, fileobj)

        for member, data in (("oci-layout", _json({"imageLayoutVersion": "1.0.0"})),
                             ("index.json", index),
                             (f"blobs/sha256/{_digest(manifest)[7:]}", manifest),
                             (f"blobs/sha256/{_digest(config_blob)[7:]}", config_blob)):
            add(member, len(data), io.BytesIO(data))
        for layer in dict.fromkeys(layers):
            with layer.path.open("rb") as fh:
                add(f"blobs/sha256/{layer.digest[7:]}", layer.size, fh)
    partial.replace(dest)
    return _digest(manifest)


def archive_name(archive: Path) -> str | None:
    """The image name an archive carries (what `ctr images ls` shows once imported)."""
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("index.json")
            index = json.loads(member.read()) if member else {}
        return str(index["manifests"][0]["annotations"][NAME_ANNOTATION])
    except (OSError, tarfile.TarError, ValueError, KeyError, IndexError):
        return None
