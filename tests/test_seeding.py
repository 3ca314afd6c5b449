"""Synthetic data meets the target's own unique indexes, on a real SecantusDB server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from secantus import SecantusDBServer

from vvgate.gates.inconclusive import Inconclusive
from vvgate.mongo import seeding


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database[Any]]:
    server = SecantusDBServer(port=0, storage_path=str(tmp_path_factory.mktemp("secantus")),
                              replica_set_name=None)
    server.start()
    client: MongoClient[Any] = MongoClient(server.uri, directConnection=True)
    try:
        yield client["vv_seedingtest"]
    finally:
        client.close()
        server.stop()


def test_unknown_unique_keys_get_run_unique_values(db: Database[Any]) -> None:
    db.releases.create_index("externalId", unique=True)  # not sparse: two nulls collide
    db.releases.create_index([("source", 1), ("catalog.no", 1)], unique=True)
    for title in ("one", "two"):
        seeding.insert(db.releases, {"title": title, "source": "MANUAL"}, "vvgate-r1",
                       f"release {title}")
    docs = list(db.releases.find({}, {"_id": 0}))
    assert len(docs) == 2
    assert len({d["externalId"] for d in docs}) == 2
    assert all(d["externalId"].startswith("vvgate-r1-externalId-") for d in docs)
    assert len({d["catalog"]["no"] for d in docs}) == 2
    assert {d["source"] for d in docs} == {"MANUAL"}  # what the suite set stays as it was


def test_a_write_that_still_collides_is_inconclusive_and_names_the_index(
        db: Database[Any]) -> None:
    db.users.create_index("githubLogin", unique=True)
    seeding.insert(db.users, {"githubLogin": "vvgate-r1-a"}, "vvgate-r1", "user a")
    with pytest.raises(Inconclusive) as caught:
        seeding.insert(db.users, {"githubLogin": "vvgate-r1-a"}, "vvgate-r1", "user a again")
    reason = caught.value.reason
    assert reason.startswith("set-up could not insert user a again into vv_seedingtest.users")
    assert "{'githubLogin': 1}" in reason


def test_an_upsert_fills_unique_keys_only_when_it_inserts(db: Database[Any]) -> None:
    db.roles.create_index("audit.ref", unique=True, sparse=True)
    db.roles.create_index("ref", unique=True)
    seeding.upsert(db.roles, {"user": 1, "tenant": "t"},
                   {"$set": {"role": "VIEWER"}, "$setOnInsert": {"createdAt": 1}}, "tok", "role")
    seeding.upsert(db.roles, {"user": 1, "tenant": "t"}, {"$set": {"role": "ADMIN"}}, "tok",
                   "role")
    docs = list(db.roles.find({}, {"_id": 0}))
    assert len(docs) == 1 and docs[0]["role"] == "ADMIN" and docs[0]["createdAt"] == 1
    assert docs[0]["ref"].startswith("tok-ref-")
