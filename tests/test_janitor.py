"""Synthetic users never outlive their run: cleanup on failure, Ctrl-C and SIGTERM, and a janitor
that removes what a killed run (kill -9) left behind."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from conftest import PROJECT, VVGATE, SuiteRun, Workspace, running_local_target
from vvgate.targets.secret_store import read_env_file

USES_USERS = """
import os, signal
import pytest
pytestmark = [pytest.mark.gate("tenancy")]

def test_with_users(user_a, user_b):
    {action}
"""


@pytest.fixture(scope="module")
def local_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_local_target(tmp_path_factory.mktemp("state")) as env:
        yield env


def _synthetic(env: dict[str, str]) -> dict[str, int]:
    secrets = read_env_file(Path(env["VVGATE_STATE_DIR"]) / "local" / "secrets.env")
    backend: MongoClient[dict[str, object]] = MongoClient(secrets["MONGODB_BACKEND_URI"])
    bff: MongoClient[dict[str, object]] = MongoClient(secrets["MONGODB_BFF_URI"])
    try:
        registry = backend["vinylvault_registry"]
        tagged = {"vvgateRun": {"$exists": True}}
        # what the application made for an account the run signed in with carries its name
        named = {"$or": [tagged, {"githubLogin": {"$regex": "^vvgate-"}},
                         {"name": {"$regex": "^vvgate-"}}]}
        return {
            "users": registry["users"].count_documents(named),
            "tenants": registry["tenants"].count_documents(named),
            "roles": registry["user_tenant_roles"].count_documents(tagged),
            "sessions": bff["vinylvault_bff"]["sessions"].count_documents(
                {"$or": [tagged, {"session": {"$regex": '"githubLogin": ?"vvgate-'}}]}),
            "tenant_dbs": sum(1 for n in backend.list_database_names() if n.startswith("vv_")),
        }
    finally:
        backend.close()
        bff.close()


def _run(ws: Workspace, env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    ws.write_test("test_users.py", USES_USERS.format(action=action))
    return subprocess.run(
        [*VVGATE, "run", "--target", "local", "--report-dir", str(ws.reports), str(ws.suite)],
        env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT)


NOTHING = {"users": 0, "tenants": 0, "roles": 0, "sessions": 0, "tenant_dbs": 0}


def test_a_failing_run_removes_its_users(ws: Workspace, local_env: dict[str, str]) -> None:
    proc = _run(ws, local_env, "assert False, 'a check fails after the users exist'")
    assert proc.returncode == 1, proc.stdout[-1500:]
    assert _synthetic(local_env) == NOTHING


def test_ctrl_c_still_removes_the_users(ws: Workspace, local_env: dict[str, str]) -> None:
    proc = _run(ws, local_env, "raise KeyboardInterrupt")
    assert proc.returncode != 0
    assert _synthetic(local_env) == NOTHING


def test_sigterm_still_removes_the_users(ws: Workspace, local_env: dict[str, str]) -> None:
    # What a CI cancellation or `timeout` sends: the run unwinds as on Ctrl-C.
    proc = _run(ws, local_env, "os.kill(os.getpid(), signal.SIGTERM)")
    assert proc.returncode != 0 and proc.returncode != -15, proc.stdout[-1500:]
    assert _synthetic(local_env) == NOTHING


def test_janitor_removes_what_a_killed_run_left(ws: Workspace,
                                                local_env: dict[str, str]) -> None:
    killed = _run(ws, local_env, "os.kill(os.getpid(), signal.SIGKILL)")
    assert killed.returncode == -9
    left = _synthetic(local_env)
    assert left["users"] == 2 and left["sessions"] == 2, left
    again = _run(ws, local_env, "pass")
    assert again.returncode == 0, again.stdout[-1500:]
    assert "vvgate janitor: removed leftovers of abandoned runs" in again.stdout
    assert _synthetic(local_env) == NOTHING


def test_signing_in_leaves_nothing_behind(ws: Workspace, local_env: dict[str, str]) -> None:
    # Each sign-in at the stand-in makes the application create a user, a personal tenant
    # and a session, none of them tagged by the suite when made.
    proc = subprocess.run(
        [*VVGATE, "run", "--target", "local", "--report-dir", str(ws.reports),
         str(PROJECT / "suites" / "staging" / "test_sign_in.py")],
        env=local_env, capture_output=True, text=True, timeout=300, cwd=PROJECT)
    run = SuiteRun(proc.returncode, proc.stdout, proc.stderr, ws.reports)
    assert run.code == 0, run.stdout[-1500:]
    auth = run.gate("auth")
    assert (auth["verdict"], auth["counts"]["passed"]) == ("pass", 6), auth
    assert _synthetic(local_env) == NOTHING
