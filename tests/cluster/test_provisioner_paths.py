"""The local NFS provisioner lays out, archives and deletes directories like
nfs-subdir-external-provisioner: its Go tests, one pytest item each.

`go test` builds with the flags scripts/bootstrap-cluster uses, so a warm build cache
compiles only the provisioner's own package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache

import pytest

from reference.localcluster.nfs_provisioner import SOURCE_DIR

GO_TEST = re.compile(r"^func (Test\w+)\(t \*testing\.T\)", re.M)
# A cold build cache compiles client-go and the controller library first.
GO_TEST_TIMEOUT_S = 1800


def go_test_names() -> list[str]:
    return sorted(name for path in SOURCE_DIR.glob("*_test.go")
                  for name in GO_TEST.findall(path.read_text()))


@cache
def go_test_results() -> tuple[int, dict[str, str], str]:
    """Exit code, final action per top-level test, and the output of one `go test` run."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("the go command is not on PATH; the provisioner's tests need it",
                    pytrace=False)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false",
           "GOWORK": "off"}
    proc = subprocess.run([go, "test", "-trimpath", "-count=1", "-json", "."], cwd=SOURCE_DIR,
                          env=env, capture_output=True, text=True, timeout=GO_TEST_TIMEOUT_S,
                          check=False)
    actions: dict[str, str] = {}
    output: list[str] = []
    for line in proc.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            output.append(line)
            continue
        test = event.get("Test")
        if event.get("Action") in ("pass", "fail", "skip") and test and "/" not in test:
            actions[test] = event["Action"]
        if event.get("Action") == "output":
            output.append(event.get("Output", "").rstrip("\n"))
    return proc.returncode, actions, "\n".join(output[-40:]) + proc.stderr[-2000:]


def test_the_go_tests_are_found() -> None:
    # The original Python tests, ported; a rename must show up here, not pass unnoticed.
    assert {"TestPathPatternOfTheSeedClass", "TestLabelsInThePatternAndTheDefaultLayout",
            "TestProvisionCreatesTheDirectoryAndARetainedNfsVolume",
            "TestDeleteArchivesByDefaultAndDeletesWhenTold"} <= set(go_test_names())


@pytest.mark.parametrize("name", go_test_names())
def test_go(name: str) -> None:
    _, actions, output = go_test_results()
    assert actions.get(name) == "pass", f"{name}: {actions.get(name, 'did not run')}\n{output}"


def test_go_test_exits_cleanly() -> None:
    returncode, _, output = go_test_results()
    assert returncode == 0, output
