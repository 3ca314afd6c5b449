"""Each module gets its own state directory, so a developer's running target is never touched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import Cli, Target


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    c = Cli(tmp_path_factory.mktemp("vvstate"))
    yield c
    # Whatever a test did, leave nothing running.
    c.run("down")


def start(cli: Cli, *args: str, check_time: bool = True) -> Iterator[Target]:
    cli.up(*args)
    target = Target(cli, check_time)
    yield target
    target.close()

