"""A production-kind target is checked read-only, and production's own checks bite.

The local target stands in for production here: the same endpoints, under a
profile of kind production.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from bson import ObjectId
from pymongo import MongoClient

from conftest import PROJECT, VVGATE, SuiteRun, running_local_target
from vvgate.targets.secret_store import read_env_file


@pytest.fixture(scope="module")
def prodlike(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    state = tmp_path_factory.mktemp("state")
    with running_local_target(state) as env:
        profile = yaml.safe_load((state / "local" / "target.yaml").read_text())
        # Without a kubernetes section its cluster gates cannot run: a production profile
        # says so by making them advisory, or they block as not verified.
        profile.update(name="prodlike", kind="production", allow_destructive=False,
                       allow_synthetic_users=False,
                       gates={"storage": "advisory", "rollout": "advisory"})
        # Production's users sign in at GitHub: a stand-in is refused there, so this
        # production-like profile names the local provider without calling it one (the
        # sign-in checks then skip, saying why).
        profile["oauth"]["stand_in"] = False
        path = state / "prodlike.yaml"
        path.write_text(yaml.safe_dump(profile))
        yield env, path


def _run(env: dict[str, str], profile: Path, reports: Path, *paths: str) -> SuiteRun:
    proc = subprocess.run(
        [*VVGATE, "run", "--target", str(profile), "--report-dir", str(reports),
         *(str(PROJECT / "suites" / p) for p in paths), "--", "-m", "not slow"],
        env=env, capture_output=True, text=True, timeout=600, cwd=PROJECT)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr, reports)


def test_production_run_is_read_only_and_passes(
    prodlike: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, profile = prodlike
    secrets = read_env_file(Path(env["VVGATE_STATE_DIR"]) / "local" / "secrets.env")
    client: MongoClient[dict[str, object]] = MongoClient(secrets["MONGODB_BFF_URI"])
    sessions = client["vinylvault_bff"]["sessions"]
    try:
        before = sessions.count_documents({})
        run = _run(env, profile, tmp_path, "staging", "production")
        after = sessions.count_documents({})
    finally:
        client.close()
    assert run.code == 0, run.stdout[-2000:]
    # The OAuth starts made sessions; without store access they end as a browser ends them.
    ended = [n for n in run.gates()["run"]["notes"] if n.startswith("stray sessions:")]
    assert ended and "ended by POST /auth/logout" in ended[0], ended
    assert after == before, (before, after)
    tenancy = run.gate("tenancy")
    # only the read-only naming check runs; everything needing synthetic users says why not
    assert tenancy["counts"]["passed"] == 1 and tenancy["counts"]["failed"] == 0
    assert tenancy["skips"] and all(
        "does not allow synthetic users" in s["reason"] for s in tenancy["skips"])
    assert run.gate("database")["counts"]["failed"] == 0
    assert run.gate("storage")["verdict"] == "not-run" and not run.gate("storage")["blocks"]


def test_synthetic_leftovers_in_production_fail_the_database_gate(
    prodlike: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, profile = prodlike
    secrets = read_env_file(Path(env["VVGATE_STATE_DIR"]) / "local" / "secrets.env")
    client: MongoClient[dict[str, object]] = MongoClient(secrets["MONGODB_BACKEND_URI"])
    users = client["vinylvault_registry"]["users"]
    oid = ObjectId()
    users.insert_one({"_id": oid, "githubLogin": "vvgate-leftover-a", "githubId": 1,
                      "createdAt": dt.datetime.now(dt.UTC)})
    try:
        run = _run(env, profile, tmp_path, "production")
    finally:
        users.delete_one({"_id": oid})
        client.close()
    assert run.code == 1
    assert run.gates()["failing_gates"] == ["database"]
    failure = run.gate("database")["failures"][0]
    assert "test_no_synthetic_registry_entries[users]" in failure["test"]
