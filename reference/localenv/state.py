"""What the state directory says about the local target: running components, ports, faults and
dialects."""

from __future__ import annotations

import json

from reference.localenv import components, procs
from reference.localenv.components import PORT_KEYS
from reference.localenv.paths import Layout


class LocalEnvError(Exception):
    """A one-line, user-facing failure; the CLI prints it and exits 2."""


def say(message: str) -> None:
    print(message, flush=True)


def records(layout: Layout) -> dict[str, procs.Record]:
    """Every component's record, its process alive or not."""
    found = {name: procs.load(layout.run, name) for name in components.ORDER}
    return {name: rec for name, rec in found.items() if rec is not None}


def running(layout: Layout) -> dict[str, procs.Record]:
    out: dict[str, procs.Record] = {}
    for name, rec in records(layout).items():
        if procs.alive(rec):
            out[name] = rec
        else:
            procs.record_path(layout.run, name).unlink(missing_ok=True)
    return out


def load_ports(layout: Layout) -> dict[str, int]:
    try:
        saved = json.loads(layout.ports.read_text())
        return {k: int(saved[k]) for k in PORT_KEYS if k in saved}
    except (OSError, ValueError, TypeError):
        return {}


def active_faults(layout: Layout) -> list[str]:
    return _switches(layout, "faults")


def active_dialects(layout: Layout) -> list[str]:
    return _switches(layout, "dialects")


def _switches(layout: Layout, kind: str) -> list[str]:
    try:
        return list(json.loads(layout.faults.read_text()).get(kind, []))
    except (OSError, ValueError, AttributeError):
        return []
