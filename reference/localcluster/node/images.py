"""The real node's three images, built here and imported into its containerd (no registry).

- pause: the sandbox process from pause.c, `gcc -static`, alone in its image;
- coredns: the CoreDNS binary scripts/bootstrap-cluster built, alone in its image;
- reference: every reference component (`python -m reference.bff`, `reference.backend`,
  `reference.frontend`, `reference.github_stand_in`, `secantusd-py`, `traefik`) in one image:
  Debian with Python (base_layer.py) plus the packages, Traefik and code layers (app_layers.py).

Each image is a deterministic OCI archive in ~/.cache/vinylvault-gate/images/, named
vvgate.local/<image>:<hash of its inputs>, so a changed input is a new name and nothing stale
is ever run. `scripts/bootstrap-node` builds all of them (the Debian base and the wheel
download need the network); `vvgate local up --node` rebuilds only what changed since (a
reference/ edit: the code layer, under a second) and never touches the network.

    python -m reference.localcluster.node.images    # what scripts/bootstrap-node runs
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reference.localcluster.layout import bin_dir, pins
from reference.localcluster.node import app_layers, base_layer, oci

REGISTRY = "vvgate.local"
PAUSE_SOURCE = Path(__file__).with_name("pause.c")
PAUSE_CFLAGS = ("-Os", "-static", "-s")
Say = Callable[[str], None]


class ImageError(Exception):
    """An image cannot be built here; the message names what is missing and the script."""


@dataclass(frozen=True)
class Image:
    name: str
    archive: Path


def cache_dir() -> Path:
    return bin_dir().parent / "images"


def _layers() -> Path:
    return cache_dir() / "layers"


def base_built() -> bool:
    """Whether the Debian base layer is there (the one part `up` never builds)."""
    return base_layer.cached(_layers()) is not None


def _logs() -> Path:
    return cache_dir() / "logs"


@contextlib.contextmanager
def _building() -> Iterator[None]:
    """One builder at a time (bootstrap-node and an `up` may overlap)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _single_file_image(repo: str, key: str, file: Path, entrypoint: str,
                       user: str | None) -> Image:
    image = Image(f"{REGISTRY}/{repo}:{key}", cache_dir() / f"{repo}-{key}.tar")
    if image.archive.is_file():
        return image
    _layers().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{repo}-", dir=_layers()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        rootfs.mkdir()
        (rootfs / entrypoint).write_bytes(file.read_bytes())
        (rootfs / entrypoint).chmod(0o755)
        layer = oci.write_layer(rootfs, _layers() / f"{repo}-{key}.tar")
    config = {"Entrypoint": [f"/{entrypoint}"], "WorkingDir": "/",
              **({"User": user} if user else {})}
    oci.write_archive(image.archive, image.name, [layer],
                      oci.image_config([layer], [f"COPY {entrypoint} /"], config))
    return image


def pause(say: Say) -> Image:
    key = hashlib.sha256(PAUSE_SOURCE.read_bytes() + " ".join(PAUSE_CFLAGS).encode()
                         ).hexdigest()[:12]
    if (cache_dir() / f"pause-{key}.tar").is_file():
        return Image(f"{REGISTRY}/pause:{key}", cache_dir() / f"pause-{key}.tar")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vvgate-pause-") as tmp:
        binary = Path(tmp) / "pause"
        proc = subprocess.run(["gcc", *PAUSE_CFLAGS, "-o", str(binary), str(PAUSE_SOURCE)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ImageError(f"gcc -static pause.c failed: "
                             f"{(proc.stderr.strip().splitlines() or ['?'])[-1]} "
                             "(scripts/bootstrap-node installs gcc and libc6-dev)")
        # The sandbox runs as the nobody-like user upstream's pause image uses.
        image = _single_file_image("pause", key, binary, "pause", "65535:65535")
    say(f"  built {image.name} in {time.monotonic() - t0:.1f}s")
    return image


def coredns(say: Say) -> Image:
    binary = bin_dir() / f"coredns-{pins()['coredns']}"
    if not binary.is_file():
        raise ImageError(f"coredns not built ({binary}); run scripts/bootstrap-cluster")
    key = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    t0 = time.monotonic()
    existed = (cache_dir() / f"coredns-{key}.tar").is_file()
    image = _single_file_image("coredns", key, binary, "coredns", None)
    if not existed:
        say(f"  built {image.name} in {time.monotonic() - t0:.1f}s")
    return image


def reference(say: Say, build_base: bool = False, download: bool = False) -> Image:
    try:
        info = app_layers.inputs()
    except app_layers.AppLayerError as exc:
        raise ImageError(str(exc)) from None
    code_key = app_layers.code_key()
    keys = (base_layer.key(), info.packages_key(), info.traefik_key(), code_key)
    tag = hashlib.sha256(":".join(keys).encode()).hexdigest()[:12]
    image = Image(f"{REGISTRY}/reference:{tag}", cache_dir() / f"reference-{tag}.tar")
    if image.archive.is_file():
        return image
    t0 = time.monotonic()
    base = base_layer.cached(_layers())
    if base is None and not build_base:
        raise ImageError("the app image's Debian base layer is not built; "
                         "run scripts/bootstrap-node")
    try:
        if base is None:
            base = base_layer.build(_layers(), _logs(), say)
        makers: list[tuple[str, Callable[[], oci.Layer]]] = [
            ("packages", lambda: app_layers.packages_layer(info, _layers(), _wheels(),
                                                           _logs() / "pip.log", download)),
            ("traefik", lambda: app_layers.traefik_layer(info, _layers())),
            ("code", lambda: app_layers.code_layer(code_key, _layers()))]
        steps = []
        for label, make in makers:
            start = time.monotonic()
            layer = make()
            steps.append(layer)
            say(f"  layer {label:<9} {layer.path.name:<26} {layer.size / 1e6:6.1f} MB "
                f"{time.monotonic() - start:5.1f}s")
    except (app_layers.AppLayerError, base_layer.BaseLayerError) as exc:
        raise ImageError(str(exc)) from None
    layers = [base, *steps]
    config = {"Env": [f"{k}={v}" for k, v in app_layers.ENV.items()],
              "WorkingDir": f"/{app_layers.SRC}", "Cmd": ["python3"],
              # Non-root by default, so `runAsNonRoot: true` holds without a runAsUser.
              "User": f"{base_layer.APP_ID}:{base_layer.APP_ID}",
              "Labels": {"io.vvgate.inputs": " ".join(keys)}}
    history = [f"mmdebstrap {base_layer.SUITE} {' '.join(base_layer.PACKAGES)}",
               "pip install --target /opt/app/site-packages (the virtualenv's versions)",
               f"COPY traefik {info.traefik_version} /opt/app/bin/",
               "COPY reference/ /opt/app/src/"]
    start = time.monotonic()
    oci.write_archive(image.archive, image.name, layers,
                      oci.image_config(layers, history, config))
    say(f"  built {image.name} in {time.monotonic() - t0:.1f}s "
        f"(archive {time.monotonic() - start:.1f}s)")
    return image


def _wheels() -> Path:
    return bin_dir().parent / "wheels"


def _prune(current: list[Image]) -> None:
    """Keep one archive per image and only the layers those are made of: the cache would
    otherwise grow by an app image (about 450 MB) per reference/ edit."""
    keep = {img.archive.name for img in current}
    for archive in cache_dir().glob("*.tar"):
        if archive.name not in keep:
            archive.unlink(missing_ok=True)
    used = set()
    for img in current:
        used |= _layer_files(img)
    for layer in _layers().glob("*.tar"):
        if layer.name not in used:
            layer.unlink(missing_ok=True)
            layer.with_name(layer.name + ".json").unlink(missing_ok=True)


def _layer_files(image: Image) -> set[str]:
    repo = image.name.split("/", 1)[1].split(":", 1)[0]
    if repo != "reference":
        return {image.archive.name}  # its one layer is named like its archive
    info = app_layers.inputs()
    return {base_layer.path(_layers()).name, f"packages-{info.packages_key()}.tar",
            f"traefik-{info.traefik_key()}.tar", f"code-{app_layers.code_key()}.tar"}


def ensure(say: Say, build_base: bool = False, download: bool = False) -> dict[str, Image]:
    """Every image, built where missing; raises ImageError (one line) when one cannot be."""
    with _building():
        images = {"pause": pause(say), "coredns": coredns(say),
                  "reference": reference(say, build_base, download)}
        _prune(list(images.values()))
    return images


def main(argv: list[str]) -> int:
    if argv:
        sys.stderr.write("usage: python -m reference.localcluster.node.images\n")
        return 2
    t0 = time.monotonic()
    try:
        images = ensure(print, build_base=True, download=True)
    except ImageError as exc:
        sys.stderr.write(f"node images: {exc}\n")
        return 2
    for image in images.values():
        print(f"  {image.name:<40} {image.archive}")
    print(f"node images ready in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
