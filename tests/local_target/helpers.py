"""Drive `python -m reference.localenv` and talk to the running target like the suite would."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from bson import ObjectId
from pymongo import MongoClient

from reference import envfile, signing
from reference.tenancy import personal_tenant, tenant_database
from vvgate.access.browser import Browser
from vvgate.targets.profile import Profile

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class Cli:
    state: Path

    @property
    def local(self) -> Path:
        return self.state / "local"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VVGATE_")}
        return {**env, "VVGATE_STATE_DIR": str(self.state), **extra}

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reference.localenv", *args], cwd=PROJECT,
                              env=self.env(**env), capture_output=True, text=True, timeout=180)

    def up(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        proc = self.run("up", *args, **env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def pids(self) -> dict[str, int]:
        run = self.local / "run"
        if not run.exists():
            return {}
        return {p.stem: int(json.loads(p.read_text())["pid"]) for p in run.glob("*.json")}

    def profile(self) -> Profile:
        return Profile.model_validate(yaml.safe_load((self.local / "target.yaml").read_text()))

    def secrets(self) -> dict[str, str]:
        return envfile.read(self.local / "secrets.env")


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Target:
    """HTTPS to the ingress with the local CA and SNI, plus direct Mongo access."""

    def __init__(self, cli: Cli, check_time: bool = True) -> None:
        self.cli = cli
        self.profile = cli.profile()
        self.secrets = cli.secrets()
        self.host = self.profile.host
        ip, port = self.profile.connect_address()
        self.origin = f"https://{ip}:{port}"
        self.https_port = port
        assert self.profile.ca_bundle is not None
        self.ca = str(self.profile.ca_bundle)
        ctx = ssl.create_default_context(cafile=self.ca)
        if not check_time:
            # OpenSSL's X509_V_FLAG_NO_CHECK_TIME: still verify the chain and name, not dates,
            # so the expired-cert fault does not hide every other fault.
            ctx.verify_flags |= 0x200000
        self.http = httpx.Client(verify=ctx, trust_env=False, timeout=10)
        self.bff_db: MongoClient[dict[str, Any]] = MongoClient(
            self.secrets["MONGODB_BFF_URI"], tz_aware=True, serverSelectionTimeoutMS=3000)
        self.backend: MongoClient[dict[str, Any]] = MongoClient(
            self.secrets["MONGODB_BACKEND_URI"], tz_aware=True, serverSelectionTimeoutMS=3000)
        self.registry = self.backend["vinylvault_registry"]

    def close(self) -> None:
        self.http.close()
        self.bff_db.close()
        self.backend.close()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                **kw: Any) -> httpx.Response:
        # Every call says which session it uses (a Cookie header or none): a cookie the client
        # kept from an earlier Set-Cookie must not make an "anonymous" probe signed in.
        self.http.cookies.clear()
        return self.http.request(method, self.origin + path,
                                 headers={"Host": self.host, **(headers or {})},
                                 extensions={"sni_hostname": self.host}, **kw)

    def gql(self, query: str, variables: dict[str, Any] | None = None,
            cookie: str | None = None) -> httpx.Response:
        headers = {"Cookie": f"vinylvault.sid={cookie}"} if cookie else {}
        return self.request("POST", "/graphql", headers=headers,
                            json={"query": query, "variables": variables or {}})

    def webhook(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "ping"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return self.request("POST", "/webhook/github", headers=headers, content=body)

    def sign(self, body: bytes) -> str:
        secret = self.secrets["GITHUB_APP_WEBHOOK_SECRET"].encode()
        return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()

    def sign_in(self, login: str, cookie: str | None = None,
                return_to: str | None = None) -> tuple[httpx.Response, str | None]:
        """Signs `login` in at the GitHub stand-in; the callback's answer and the session
        cookie the browser holds afterwards. `cookie` is a session cookie held before."""
        browser = Browser({"vinylvault.sid": cookie} if cookie else {})
        start = self.request("GET", "/auth/github", headers=browser.header(),
                             params={"return_to": return_to} if return_to else None)
        browser.keep(start)
        with httpx.Client(trust_env=False, timeout=10) as github:
            back = github.get(start.headers["location"] + f"&login={login}")
        assert back.status_code == 302, back.text
        callback = self.request("GET", back.headers["location"].split(self.host, 1)[1],
                                headers=browser.header())
        browser.keep(callback)
        return callback, browser.cookies.get("vinylvault.sid") or None

    # -- synthetic users, the way the contract says a verifier may create them ------------

    def user(self, login: str) -> User:
        now = dt.datetime.now(dt.UTC)
        uid = ObjectId()
        self.registry.users.insert_one({
            "_id": uid, "githubId": str(abs(hash(login)) % 10**8), "githubLogin": login,
            "displayName": login, "email": f"{login}@example.test",
            "settings": {"spotifyPreview": False, "allowFriendInvites": True},
            "createdAt": now, "updatedAt": now})
        tenant = personal_tenant(str(uid))
        self.registry.tenants.insert_one({
            "tenantId": tenant, "tenantType": "USER", "name": f"{login} personal",
            "databaseName": tenant_database(tenant), "createdAt": now, "updatedAt": now})
        self.registry.user_tenant_roles.insert_one(
            {"userId": uid, "tenantId": tenant, "role": "ADMIN", "createdAt": now,
             "updatedAt": now})
        return User(self, uid, login, tenant)


class User:
    def __init__(self, target: Target, uid: ObjectId, login: str, tenant: str) -> None:
        self.t = target
        self.id = uid
        self.login = login
        self.tenant = tenant
        self.cookie = self.session(tenant, [(tenant, "ADMIN")])

    def session(self, active: str, tenants: list[tuple[str, str]],
                ttl: dt.timedelta = dt.timedelta(hours=24)) -> str:
        sid = secrets.token_urlsafe(24)
        expires = dt.datetime.now(dt.UTC) + ttl
        data = {
            "cookie": {"originalMaxAge": 86400000, "expires": expires.isoformat(),
                       "secure": True, "httpOnly": True, "path": "/", "sameSite": "lax"},
            "user": {"id": str(self.id), "githubId": "1", "githubLogin": self.login,
                     "displayName": self.login, "avatarUrl": None, "email": None,
                     "settings": {}, "createdAt": None, "updatedAt": None},
            "activeTenantId": active,
            "availableTenants": [{"tenantId": t, "tenantType": "USER", "name": t, "role": r}
                                 for t, r in tenants],
        }
        self.t.bff_db["vinylvault_bff"].sessions.insert_one(
            {"_id": sid, "expires": expires, "session": json.dumps(data)})
        return signing.sign_sid(sid, self.t.secrets["SESSION_SECRET"])

    def gql(self, query: str, variables: dict[str, Any] | None = None,
            cookie: str | None = None) -> dict[str, Any]:
        resp = self.t.gql(query, variables, cookie or self.cookie)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def seed_record(self, notes: str) -> str:
        """A release and a record straight into the user's tenant database."""
        db = self.t.backend[tenant_database(self.tenant)]
        now = dt.datetime.now(dt.UTC)
        rel = db.releases.insert_one({"barcode": "0042", "artist": "Can", "title": "Tago Mago",
                                      "source": "MANUAL", "genre": "Krautrock",
                                      "createdAt": now, "updatedAt": now}).inserted_id
        rec = db.records.insert_one({"releaseId": rel, "notes": notes, "createdAt": now,
                                     "updatedAt": now}).inserted_id
        return str(rec)


def codes(body: dict[str, Any]) -> set[str]:
    return {str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []}


def refused(body: dict[str, Any], field: str) -> bool:
    """The contract's notion of refusal: an auth error and no data for the field."""
    data = body.get("data") or {}
    return bool(codes(body) & {"UNAUTHENTICATED", "FORBIDDEN"}) and data.get(field) is None


def processes_using(path: Path) -> list[int]:
    """PIDs whose command line or environment mentions `path` (every component's does)."""
    needle = str(path).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle in blob and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def listening_addresses(pids: list[int]) -> set[str]:
    """Local addresses of the TCP sockets these processes listen on ("ip:port")."""
    inodes: set[str] = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    out: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            addr_hex, port_hex = cols[1].split(":")
            if len(addr_hex) == 8:
                ip = ".".join(str(int(addr_hex[i:i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                ip = "ipv6:" + addr_hex
            out.add(f"{ip}:{int(port_hex, 16)}")
    return out
