"""Every fault switch, all on at once, each observed breaking its one property over the wire
or in the database. test_secure_default.py shows the same probes passing without faults."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from fixtures.gates import GATES
from reference.faults import FAULTS

from .conftest import start
from .helpers import Cli, Target, refused

OBSERVED: set[str] = set()


@pytest.fixture(scope="module")
def target(cli: Cli) -> Iterator[Target]:
    yield from start(cli, "--fault", ",".join(FAULTS), check_time=False)


def observes(name: str) -> None:
    assert name in FAULTS
    OBSERVED.add(name)


def test_the_table_names_real_gates() -> None:
    for fault in FAULTS.values():
        assert fault.gate in GATES, fault
        assert fault.breaks and fault.components


def test_status_and_faults_json_show_the_faults(cli: Cli, target: Target) -> None:
    status = cli.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "faults: " + ", ".join(FAULTS) in status.stdout
    listing = cli.run("faults").stdout
    for fault in FAULTS.values():
        assert fault.name in listing and fault.gate in listing


def test_introspection_on(target: Target) -> None:
    resp = target.gql("{ __schema { queryType { name } } }")
    assert resp.status_code == 200
    assert resp.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    observes("introspection-on")


def test_anonymous_mutation(target: Target) -> None:
    body = target.gql('mutation { upsertUser(input: {githubId: "9", githubLogin: "anon-made"}) '
                      "{ id githubLogin } }").json()
    assert body["data"]["upsertUser"]["githubLogin"] == "anon-made"
    assert target.registry.users.find_one({"githubLogin": "anon-made"}) is not None
    # Only that one operation: the others still refuse anonymous callers.
    assert refused(target.gql("{ records { totalCount } }").json(), "records")
    observes("anonymous-mutation")


def test_tenant_leak(target: Target) -> None:
    alice, bob = target.user("alice-leak"), target.user("bob-leak")
    record_id = alice.seed_record("alice's secret pressing")
    leaked = bob.gql("query($id: ID!) { record(id: $id) { notes } }", {"id": record_id})
    assert leaked["data"]["record"]["notes"] == "alice's secret pressing"
    observes("tenant-leak")


def test_role_escalation(target: Target) -> None:
    alice, bob = target.user("alice-esc"), target.user("bob-esc")
    grab = bob.gql("mutation($u: ID!, $t: ID!) { addUserToTenant(userId: $u, tenantId: $t, "
                   "role: ADMIN) { id role } }", {"u": str(bob.id), "t": alice.tenant})
    assert grab["data"]["addUserToTenant"] == {"id": alice.tenant, "role": "ADMIN"}
    role = target.registry.user_tenant_roles.find_one({"userId": bob.id,
                                                       "tenantId": alice.tenant})
    assert role is not None and role["role"] == "ADMIN"
    observes("role-escalation")


def test_no_revocation(target: Target) -> None:
    alice, bob = target.user("alice-rev"), target.user("bob-rev")
    alice.seed_record("only friends may look")
    req = bob.gql("mutation($l: String!) { sendFriendRequest(githubLogin: $l) { id } }",
                  {"l": alice.login})["data"]["sendFriendRequest"]["id"]
    alice.gql("mutation($r: ID!) { respondToFriendRequest(requestId: $r, accept: true) "
              "{ status } }", {"r": req})
    switched = target.gql("mutation($t: ID!) { switchTenant(tenantId: $t) { role } }",
                          {"t": alice.tenant}, bob.cookie)
    assert switched.json()["data"]["switchTenant"]["role"] == "VIEWER"
    alice.gql("mutation($f: ID!) { removeFriend(friendId: $f) }", {"f": str(bob.id)})
    assert target.registry.user_tenant_roles.find_one(
        {"userId": bob.id, "tenantId": alice.tenant}) is None
    still = bob.gql("{ records { totalCount } }")
    assert still["data"]["records"]["totalCount"] == 1, still
    observes("no-revocation")


def test_weak_cookie(target: Target) -> None:
    cookie = target.request("GET", "/auth/github").headers["set-cookie"]
    assert cookie.startswith("vinylvault.sid=")
    assert "HttpOnly" not in cookie
    assert "Secure" in cookie and "SameSite=Lax" in cookie
    observes("weak-cookie")


def test_unsigned_webhook(target: Target) -> None:
    body = b'{"zen":"anyone can post"}'
    assert target.webhook(body, None).status_code == 200
    assert target.webhook(body, "sha256=" + "0" * 64).status_code == 200
    observes("unsigned-webhook")


def test_no_hsts_powered_by_cors_reflect(target: Target) -> None:
    h = target.request("GET", "/health", headers={"Origin": "https://evil.example"}).headers
    assert "strict-transport-security" not in h
    observes("no-hsts")
    assert h["x-powered-by"] == "Express"
    observes("powered-by")
    assert h["access-control-allow-origin"] == "https://evil.example"
    assert h["access-control-allow-credentials"] == "true"
    observes("cors-reflect")
    # The rest of helmet's set is still there.
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "SAMEORIGIN"


def test_expired_cert(target: Target) -> None:
    strict = ssl.create_default_context(cafile=target.ca)
    with pytest.raises(ssl.SSLCertVerificationError) as err, \
            socket.create_connection(("127.0.0.1", target.https_port), timeout=5) as raw, \
            strict.wrap_socket(raw, server_hostname=target.host):
        pass
    assert "expired" in str(err.value)
    observes("expired-cert")


def test_tls10(target: Target) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", target.https_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=target.host) as tls:
        assert tls.version() == "TLSv1"
    observes("tls10")


def test_mongo_noauth(target: Target) -> None:
    for key in ("MONGODB_BFF_URI", "MONGODB_BACKEND_URI"):
        port = int(target.secrets[key].split("@127.0.0.1:")[1].split("/")[0])
        anon: MongoClient[dict[str, object]] = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=3000)
        assert isinstance(anon.list_database_names(), list)
        anon.close()
    observes("mongo-noauth")


def test_backend_exposed(target: Target) -> None:
    resp = target.request("GET", "/backend/health")
    assert resp.status_code == 200 and resp.json()["service"] == "backend"
    gql = target.request("POST", "/backend/graphql", json={"query": "{ notificationCount }"})
    assert gql.json() == {"data": {"notificationCount": 0}}
    observes("backend-exposed")


def test_slow_records(target: Target) -> None:
    carol = target.user("carol-slow")
    t0 = time.monotonic()
    body = carol.gql("{ records { totalCount } }")
    assert body["data"]["records"]["totalCount"] == 0
    assert time.monotonic() - t0 >= 0.6
    t0 = time.monotonic()
    carol.gql("{ viewer { id } }")
    assert time.monotonic() - t0 < 0.6
    observes("slow-records")


def test_every_fault_was_observed() -> None:
    assert set(FAULTS) - OBSERVED == set()


def test_sigterm_lets_an_in_flight_request_finish(cli: Cli, target: Target) -> None:
    # slow-records holds a request in the backend for 0.6 s: SIGTERM arrives while it runs.
    dana = target.user("dana-term")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(dana.gql, "{ records { totalCount } }")
        time.sleep(0.3)
        os.kill(cli.pids()["backend"], signal.SIGTERM)
        body = pending.result(timeout=10)
    assert body == {"data": {"records": {"totalCount": 0}}}
    log = (cli.local / "logs" / "backend.log").read_text()
    assert "Waiting for connections to close" in log or "Finished server process" in log
    deadline = time.monotonic() + 10
    while "Finished server process" not in log and time.monotonic() < deadline:
        time.sleep(0.1)
        log = (cli.local / "logs" / "backend.log").read_text()
    assert "Finished server process" in log


def test_down_clears_the_faults(cli: Cli, target: Target) -> None:
    target.close()
    assert cli.run("down").returncode == 0
    assert not (cli.local / "faults.json").exists()
