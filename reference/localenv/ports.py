"""Loopback port selection."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable


def free_port(exclude: Iterable[int] = ()) -> int:
    """A port free now, other than those already promised to another component."""
    avoid = set(exclude)
    while True:
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def is_free(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        # Servers set SO_REUSEADDR, so a TIME_WAIT leftover must not count as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
