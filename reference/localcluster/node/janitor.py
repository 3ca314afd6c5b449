"""Undo the node's host changes, whether `down` stopped it in order or a SIGKILL left it half
made, and list what is left (nothing, after a teardown).

The order matters: processes first (a shim keeps its container's mounts and namespaces alive),
then mounts deepest first (pod volumes may be bind mounts of the NFS stand-in's export: a folder
is only ever removed once nothing is mounted below it, so data outside is never touched), links,
iptables and ipsets, cgroups, sysctls, and the fixed host paths.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from reference.localcluster.node import cgroups, journal, lock, network
from reference.localcluster.node.config import CONTAINER_LOGS, HOST_DIR, HOST_PATHS, NodeLayout

MNT_DETACH = 2
Say = Callable[[str], None]


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_under(prefixes: Iterable[Path]) -> list[str]:
    """Mount points at or below any prefix, deepest first."""
    roots = [str(p) for p in prefixes]
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split()[4])
        if any(point == r or point.startswith(r.rstrip("/") + "/") for r in roots):
            found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def unmount(prefixes: Iterable[Path]) -> list[str]:
    """Unmount everything below the prefixes; what would not go."""
    umount2 = ctypes.CDLL(None, use_errno=True).umount2
    prefixes = list(prefixes)
    for _ in range(3):  # a mount may be stacked on another at the same point
        for point in mounts_under(prefixes):
            if umount2(point.encode(), 0) != 0:
                umount2(point.encode(), MNT_DETACH)
    return mounts_under(prefixes)


def _remove_tree(path: Path) -> str | None:
    """rm -r, but never across a mount point; a reason when it was not removed."""
    if not path.exists() and not path.is_symlink():
        return None
    if mounts_under([path]):
        return f"{path} (still has mounts below it)"
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return f"{path} (could not be removed)" if path.exists() else None


def _node_roots(node: NodeLayout, record: journal.Journal | None) -> list[Path]:
    roots = [node.root]
    if record is not None and Path(record.owner) != node.root:
        roots.append(Path(record.owner))
    return roots


def teardown(node: NodeLayout, say: Say) -> list[str]:
    """Everything the node changed on the host, undone; the state folders' runtime parts
    emptied (containerd's image store kept). Returns what could not be undone."""
    record = journal.load()
    if record is not None and not record.tearing_down:
        record.tearing_down = True
        record.save()
    roots = [NodeLayout(r) for r in _node_roots(node, record)]
    problems: list[str] = []
    cgroups.kill_all()
    left = unmount([*(r.root for r in roots), *HOST_PATHS])
    problems += [f"mount {m}" for m in left]
    network.remove_links()
    network.sweep()
    problems += [f"cgroup {g}" for g in cgroups.remove()]
    if record is not None:
        changed = journal.restore_sysctls(record)
        if changed:
            say(f"  sysctls restored: {', '.join(changed)}")
    for path in HOST_PATHS:
        problems += [p for p in [_remove_tree(path)] if p]
    _shared_files(roots, record)
    for r in roots:
        for folder in r.runtime_paths():
            problems += [p for p in [_remove_tree(folder)] if p]
    if not problems:
        journal.end()
    return problems


def _shared_files(roots: list[NodeLayout], record: journal.Journal | None) -> None:
    """The kubelet's symlinks in /var/log/containers into our pod logs; that folder and
    iptables' lock file too when the node made them (empty, for the folder)."""
    targets = tuple(str(r.pod_logs) + "/" for r in roots)
    if CONTAINER_LOGS.is_dir():
        for link in CONTAINER_LOGS.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(targets):
                link.unlink()
    for made in record.absent if record is not None else []:
        with contextlib.suppress(OSError):
            path = Path(made)
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)


def leftovers(node: NodeLayout) -> list[str]:
    """What of the node is still on the host: empty after a clean `down`."""
    out = [f"process {pid} in the node's cgroups" for pid in sorted(cgroups.processes())]
    out += [f"mount {m}" for m in mounts_under([node.root, *HOST_PATHS])]
    out += [f"link {name}" for name in network.links()]
    out += [f"iptables chain {c} ({where})" for where, names in network.chains().items()
            for c in names]
    out += [f"ipset {name}" for name in network.ipsets()]
    out += [f"cgroup {g}" for g in cgroups.ours()]
    out += [f"path {p}" for p in (*HOST_PATHS, HOST_DIR) if p.exists()]
    if CONTAINER_LOGS.is_dir():
        out += [f"log link {p}" for p in CONTAINER_LOGS.iterdir()
                if p.is_symlink() and os.readlink(p).startswith(str(node.pod_logs) + "/")]
    out += [f"runtime path {p}" for p in node.runtime_paths() if p.exists()]
    holder = lock.owner() if lock.LOCK.exists() else None
    if holder is not None:
        out.append(f"lock {lock.LOCK} naming pid {holder.get('pid')}")
    entries = network.conntrack_entries()
    if entries:
        out.append(f"{entries} conntrack entries for the node's addresses")
    return out
