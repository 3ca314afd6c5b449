"""Cluster selftests need the control plane's binaries (scripts/bootstrap-cluster).

Without them the live tests fail with that instruction rather than pass or skip quietly:
a CI run that did not build them must not look green.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference.localcluster.components import missing_binaries
from reference.localcluster.node import preflight
from tests.local_target.helpers import Cli


def require_binaries() -> None:
    missing = missing_binaries()
    if missing:
        pytest.fail(f"cluster binaries not built ({missing[0]}); run scripts/bootstrap-cluster",
                    pytrace=False)


def require_node() -> None:
    """The real node's tests need root, its packages and binaries and the base image: without
    them they fail with the instruction (a machine that cannot run them must not look green)."""
    require_binaries()
    problem = preflight.setup_problem()
    if problem:
        pytest.fail(f"real node: {problem}", pytrace=False)


@contextlib.contextmanager
def node_slot() -> Iterator[None]:
    """The machine's one real node, taken in turns: xdist may run two modules that each start
    one on two workers at once, and the second would be refused."""
    with (Path(tempfile.gettempdir()) / "vvgate-selftest-node.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def cluster_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A local target with its cluster in a state directory of its own."""
    require_binaries()
    cli = Cli(tmp_path_factory.mktemp("vvcluster"))
    proc = cli.run("up", "--cluster", "--timeout", "120")
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield cli
    finally:
        cli.run("down")
