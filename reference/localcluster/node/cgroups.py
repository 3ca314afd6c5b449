"""The node's cgroups: the kubelet's cgroupRoot (pods below it) in every hierarchy, and the
runtime cgroup its host processes run in.

containerd's shims, and so the containers, outlive containerd; after a SIGKILL nothing records
them. Every node process starts inside RUNTIME_CGROUP (its shims inherit it) and every container
sits below CGROUP_ROOT, so `down` and the janitor find all of them by cgroup, whatever died.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from reference.localcluster.node.config import CGROUP_ROOT, RUNTIME_CGROUP

MOUNTINFO = Path("/proc/self/mountinfo")
OURS = (CGROUP_ROOT, RUNTIME_CGROUP)


def hierarchies() -> list[tuple[Path, str, set[str]]]:
    """(mount point, file system type, options) of every cgroup hierarchy mounted here."""
    found = []
    for line in MOUNTINFO.read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype = fields[sep + 1]
        if fstype in ("cgroup", "cgroup2"):
            found.append((Path(fields[4]), fstype, set(fields[sep + 3].split(","))))
    return found


def v1_hierarchies() -> list[Path]:
    return [mount for mount, fstype, _ in hierarchies() if fstype == "cgroup"]


def runtime_procs() -> Path:
    """The file a process writes its PID to, to join the runtime cgroup."""
    return _pids_hierarchy() / RUNTIME_CGROUP / "cgroup.procs"


def _pids_hierarchy() -> Path:
    for mount, fstype, options in hierarchies():
        if fstype == "cgroup" and "pids" in options:
            return mount
    raise FileNotFoundError("no cgroup v1 pids hierarchy")


def supported() -> bool:
    """cgroup v1 with a pids hierarchy, as here: a v2-only host would need its controllers
    delegated to the cgroupRoot, which this node does not do yet."""
    try:
        _pids_hierarchy()
    except FileNotFoundError:
        return False
    return True


def ensure() -> None:
    """The kubelet wants its cgroupRoot to exist in every hierarchy before it starts; a new
    cpuset cgroup has no CPUs or memory nodes until given its parent's."""
    for mount in v1_hierarchies():
        root = mount / CGROUP_ROOT
        root.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (mount / knob).exists() and not (root / knob).read_text().strip():
                (root / knob).write_text((mount / knob).read_text())
    (_pids_hierarchy() / RUNTIME_CGROUP).mkdir(exist_ok=True)


def ours() -> list[Path]:
    """Every cgroup of the node's, deepest first, in every hierarchy (v2's too: runc puts
    containers in the unified hierarchy as well on a hybrid host)."""
    found: list[Path] = []
    for mount, _, _ in hierarchies():
        for name in OURS:
            top = mount / name
            if top.is_dir():
                found += [Path(d) for d, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def processes() -> set[int]:
    pids: set[int] = set()
    for group in ours():
        with contextlib.suppress(OSError):
            pids |= {int(p) for p in (group / "cgroup.procs").read_text().split()}
    return pids


def kill_all(timeout_s: float = 15.0) -> None:
    """SIGKILL every process in the node's cgroups until none is left (a shim may still fork)."""
    deadline = time.monotonic() + timeout_s
    while (pids := processes()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove() -> list[Path]:
    """rmdir the node's cgroups, deepest first; the ones that would not go (still busy)."""
    left = []
    deadline = time.monotonic() + 10.0
    for group in ours():
        while True:
            try:
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                # A killed process leaves its cgroup a moment after it is gone.
                if time.monotonic() > deadline:
                    left.append(group)
                    break
                time.sleep(0.05)
    return left
