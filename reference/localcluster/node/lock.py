"""One real node per machine: a flock on /run/vvgate-node.lock, held as long as the node exists.

The node's paths on the host are fixed (/var/lib/kubelet, /run/containerd, its links and
chains), so a second node, from another state folder, would share and then destroy them. A
small holder process (this module's main) takes the lock before the node changes anything and
keeps it until `down` has undone everything; it writes who it is into the lock file, so a
refusal can say whose node it is. It is a recorded component like the others: it survives a
SIGKILLed `up`, so the lock does too, and the next `up` or `down` of the same state finds it.

    python -m reference.localcluster.node.lock NODE_FOLDER     # the holder; exit 75 if taken
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

LOCK = Path("/run/vvgate-node.lock")
TAKEN = 75  # EX_TEMPFAIL: the holder's exit status when another node holds the lock


def _take() -> int | None:
    """An fd holding the lock on the file now at LOCK, or None when another holds it. The
    holder removes the file when it lets go, so a lock on a file already unlinked is retried."""
    while True:
        fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.stat(LOCK).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _let_go(fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        if os.stat(LOCK).st_ino == os.fstat(fd).st_ino:
            LOCK.unlink()
    os.close(fd)


def owner() -> dict[str, Any] | None:
    """Who holds the lock, as the holder wrote it: {"node": folder, "pid": ..., "since": ...}."""
    try:
        data = json.loads(LOCK.read_text() or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def held_by_other(node_root: Path) -> dict[str, Any] | None:
    """The other owner when the lock is held for another node folder, else None."""
    fd = _take()
    if fd is not None:
        _let_go(fd)
        return None
    found = owner()
    if found is not None and found.get("node") == str(node_root):
        return None
    return found or {"node": "?", "pid": "?"}


def describe(found: dict[str, Any]) -> str:
    node = Path(str(found.get("node", "?")))
    state = node.parents[2] if len(node.parents) > 2 else node
    return (f"a real node already runs on this machine (state {state}, {LOCK} held by pid "
            f"{found.get('pid')}); one node per machine: stop it first with "
            f"`VVGATE_STATE_DIR={state} vvgate local down`")


@contextlib.contextmanager
def held_here() -> Iterator[bool]:
    """For a `down` whose holder is gone: hold the lock while cleaning up; False when another
    node holds it (then the host's node state is that node's, not ours to remove)."""
    fd = _take()
    try:
        yield fd is not None
    finally:
        if fd is not None:
            _let_go(fd)


def _hold(node: str) -> int:
    fd = _take()
    if fd is None:
        return TAKEN
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"node": node, "pid": os.getpid(),
                              "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode(), 0)

    def release(signum: int, frame: FrameType | None) -> None:
        _let_go(fd)
        os._exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, release)
    while True:
        signal.pause()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m reference.localcluster.node.lock NODE_FOLDER\n")
        sys.exit(2)
    sys.exit(_hold(sys.argv[1]))
