"""What a run starts lives no longer than the run: child processes and private folders.

A run stopped by SIGKILL cannot clean up. Its children get SIGKILL from the kernel
(PR_SET_PDEATHSIG), and its private folders carry the owner's PID, so the next run that uses
the same prefix removes them once that process is gone.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1
OWNER_FILE = "owner.pid"


def dies_with_parent(sig: signal.Signals = signal.SIGKILL) -> Callable[[], None]:
    """A `preexec_fn`: the child gets `sig` when the thread that started it ends, so start it
    from a thread that lives as long as the run (the main thread, say). A child whose parent
    is already gone by then exits at once."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    parent = os.getpid()

    def arm() -> None:
        if prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(sig), 0, 0, 0) != 0 \
                or os.getppid() != parent:
            os._exit(1)
    return arm


def _owner_alive(folder: Path) -> bool:
    try:
        owner = int((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return True  # not one of ours, or still being made: leave it
    return Path(f"/proc/{owner}").exists()


def sweep_dead_folders(prefix: str) -> None:
    """Remove the private folders of runs that were killed before they could."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        if folder.is_dir() and not _owner_alive(folder):
            shutil.rmtree(folder, ignore_errors=True)


def private_folder(prefix: str) -> Path:
    """A new 0700 temporary folder owned by this process; a dead owner's ones go first."""
    sweep_dead_folders(prefix)
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / OWNER_FILE).write_text(str(os.getpid()))
    return folder
