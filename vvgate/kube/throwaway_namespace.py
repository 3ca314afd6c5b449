"""Namespaces a destructive check may do anything in, labelled with the run id and
deleted afterwards (unless --keep), so a killed run's leftovers are findable."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from vvgate.kube.objects import RUN_LABEL, Kube

_COUNTER = itertools.count(1)


@contextmanager
def throwaway_namespace(kube: Kube, run_id: str, keep: bool = False,
                        purpose: str = "check") -> Iterator[str]:
    name = f"vvgate-{purpose}-{run_id}-{next(_COUNTER)}"[:63].rstrip("-")
    kube.apply({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {RUN_LABEL: run_id,
                                                      "vvgate.io/throwaway": "true"}}})
    try:
        yield name
    finally:
        if not keep:
            kube.delete("v1", "Namespace", name)
