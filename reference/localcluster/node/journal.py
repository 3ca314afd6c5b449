"""The host's record of the real node, written before the node changes anything: whose node
it is, the kernel settings it found, what it must not remove. /run (a tmpfs) holds it: a reboot
undoes the node's host changes and the record with them.

The record outlives the process that wrote it, so a SIGKILLed `up`, or an `up` from another
state folder, still knows what to restore.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from reference.localcluster.node.config import HOST_DIR, MAY_CREATE

JOURNAL = HOST_DIR / "journal.json"
# What the node (the kubelet, kube-proxy, the bridge plugin, we) may change: kubelet sets
# vm.overcommit_memory=1, vm.panic_on_oom=0, kernel.panic=10, kernel.panic_on_oops=1 and the
# keyring limits; forwarding and bridge netfilter are what pods and Services need.
SYSCTLS = (
    "net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables", "net.ipv4.conf.all.route_localnet",
    "vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
    "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
)


@dataclass
class Journal:
    owner: str  # the node folder of the state that made the node
    sysctls: dict[str, str]
    absent: list[str]  # of MAY_CREATE, what did not exist: `down` removes these
    tearing_down: bool = False

    def save(self) -> None:
        HOST_DIR.mkdir(mode=0o700, exist_ok=True)
        tmp = JOURNAL.with_name(".journal.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(JOURNAL)


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctl(name: str) -> str | None:
    try:
        return _sysctl_path(name).read_text().strip()
    except OSError:
        return None  # a module not loaded (nf_conntrack, br_netfilter): nothing to restore


def write_sysctl(name: str, value: str) -> None:
    _sysctl_path(name).write_text(value + "\n")


def load() -> Journal | None:
    try:
        return Journal(**json.loads(JOURNAL.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def begin(owner: Path) -> Journal:
    """The existing record (an earlier `up` of this node, interrupted or not), else a new one
    with the host as it is now: never overwrite what an earlier start saw."""
    found = load()
    if found is not None:
        return found
    sysctls = {n: v for n in SYSCTLS if (v := read_sysctl(n)) is not None}
    journal = Journal(str(owner), sysctls, [str(p) for p in MAY_CREATE if not p.exists()])
    journal.save()
    return journal


def restore_sysctls(journal: Journal) -> list[str]:
    """Put back every saved value that changed; the names changed."""
    changed = []
    for name, value in journal.sysctls.items():
        if read_sysctl(name) not in (None, value):
            with contextlib.suppress(OSError):
                write_sysctl(name, value)
                changed.append(name)
    return changed


def drift(journal: Journal) -> dict[str, tuple[str, str]]:
    """Saved values that differ now: name -> (saved, now)."""
    out = {}
    for name, value in journal.sysctls.items():
        now = read_sysctl(name)
        if now is not None and now != value:
            out[name] = (value, now)
    return out


def end() -> None:
    JOURNAL.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        os.rmdir(HOST_DIR)
