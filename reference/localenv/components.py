"""The seven processes of the local target: how each starts and how each proves it is healthy."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reference import dialects, faults
from reference.bff import github_oauth
from reference.localenv import ca, mongo, traefik
from reference.localenv.paths import HOST, REPO_ROOT, Layout

# "github" stands in for github.com's OAuth endpoints, the one boundary the target cannot reach.
ORDER = ("mongo-bff", "mongo-backend", "github", "backend", "bff", "frontend", "traefik")
# Port keys: one per component, plus Traefik's plain-HTTP and ping entrypoints.
PORT_KEYS = (*ORDER[:-1], "https", "http", "ping")
OWNER = {**{k: k for k in ORDER[:-1]}, "https": "traefik", "http": "traefik", "ping": "traefik"}


@dataclass
class Component:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    cwd: Path
    health: Callable[[], bool]
    config_text: str = ""
    storage: Path | None = None
    files: dict[Path, str] = field(default_factory=dict)  # written by `up` before starting
    spec: str = field(init=False)

    def __post_init__(self) -> None:
        # Environment values here are never secrets (those stay in the 0600 file), so the
        # spec can be hashed and compared across runs to decide whether to restart.
        material = json.dumps([self.argv, self.env, self.port, self.config_text])
        self.spec = hashlib.sha256(material.encode()).hexdigest()[:16]


def binary(name: str, override_env: str) -> str:
    override = os.environ.get(override_env)
    return override or str(Path(sys.executable).parent / name)


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False
    return check


def _mongo_ok(port: int) -> Callable[[], bool]:
    return lambda: mongo.ping(port)


def ingress_ok(https_port: int, ca_file: Path, verify: bool) -> Callable[[], bool]:
    def check() -> bool:
        ctx = ssl.create_default_context(cafile=str(ca_file))
        if not verify:
            # Certificate faults serve a leaf that does not verify on purpose; probe routing only.
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            with httpx.Client(verify=ctx, timeout=2.0, trust_env=False) as client:
                resp = client.get(f"https://127.0.0.1:{https_port}/health",
                                  headers={"Host": HOST}, extensions={"sni_hostname": HOST})
            return resp.status_code == 200
        except httpx.HTTPError:
            return False
    return check


def _app_env(port: int, layout: Layout, active: tuple[str, ...], name: str,
             dialect_set: tuple[str, ...], extra: dict[str, str] | None = None,
             ) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "VV_PORT": str(port),
        "VV_SECRETS_FILE": str(layout.secrets),
        "VV_PUBLIC_URL": f"https://{HOST}",
        faults.FAULTS_ENV: ",".join(faults.for_component(name, active)),
        dialects.DIALECTS_ENV: ",".join(dialects.for_component(name, dialect_set)),
        **(extra or {}),
    }


def build(layout: Layout, ports: dict[str, int], active: tuple[str, ...],
          dialect_set: tuple[str, ...] = ()) -> list[Component]:
    secantusd = binary("secantusd-py", "VVGATE_SECANTUSD_BIN")
    # An explicit (empty) config stops secantusd from picking up ~/.secantus settings.
    toml = layout.root / "secantusd.toml"
    toml_text = "# defaults; flags on the command line decide\n"
    comps: list[Component] = []
    for name in ("mongo-bff", "mongo-backend"):
        storage = layout.db_dir / name.removeprefix("mongo-")
        argv = [secantusd, "--config", str(toml), "--host", "127.0.0.1",
                "--port", str(ports[name]), "--storage-path", str(storage), "--sync-on-commit",
                "--log-level", "WARNING"]
        if "mongo-noauth" not in active:
            argv.append("--auth")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if "mongo-any-password" in active:
            argv[0:1] = [sys.executable, "-m", "reference.localenv.lax_secantus"]
            env["PYTHONPATH"] = str(REPO_ROOT)
        comps.append(Component(name, argv, env, ports[name], layout.db_dir,
                               _mongo_ok(ports[name]), storage=storage,
                               files={toml: toml_text}))
    py = sys.executable
    backend_url = f"http://127.0.0.1:{ports['backend']}"
    github_url = f"http://127.0.0.1:{ports['github']}"
    bff_extra = {"VV_BACKEND_URL": backend_url, github_oauth.WEB_ENV: github_url,
                 github_oauth.API_ENV: github_url}
    for name, module, probe, db in (("github", "reference.github_stand_in", "/health", None),
                                    ("backend", "reference.backend", "/ready", "mongo-backend"),
                                    ("bff", "reference.bff", "/ready", "mongo-bff"),
                                    ("frontend", "reference.frontend", "/", None)):
        port = ports[name]
        extra = bff_extra if name == "bff" else None
        # The Mongo URI sits in the secrets file, so name its port here: a database that moved
        # to another port then changes the app's spec and the app restarts with the new URI.
        comps.append(Component(name, [py, "-m", module],
                               _app_env(port, layout, active, name, dialect_set, extra),
                               port, REPO_ROOT, _http_ok(f"http://127.0.0.1:{port}{probe}"),
                               config_text=f"database port {ports[db]}" if db else ""))
    comps.append(_traefik(layout, ports, active))
    return comps


def _traefik(layout: Layout, ports: dict[str, int], active: tuple[str, ...]) -> Component:
    ing = traefik.IngressPorts(http=ports["http"], https=ports["https"], ping=ports["ping"],
                               bff=ports["bff"], frontend=ports["frontend"],
                               backend=ports["backend"])
    # faults.EXCLUSIVE lets at most one certificate fault through.
    chosen = [f for f in ca.FAULT_CERTIFICATES if f in active]
    stem = ca.FAULT_CERTIFICATES[chosen[0]] if chosen else "host"
    cert, key = layout.ca_dir / f"{stem}.pem", layout.ca_dir / f"{stem}.key"
    dynamic_file = layout.traefik_dir / "dynamic.yml"
    static_file = layout.traefik_dir / "traefik.yml"
    dynamic_text = traefik.render(traefik.dynamic_config(
        HOST, ing, cert, key, "VersionTLS10" if "tls10" in active else "VersionTLS12",
        expose_backend="backend-exposed" in active,
        extra_suites=tuple(s for f in active for s in traefik.FAULT_SUITES.get(f, ()))))
    static_text = traefik.render(traefik.static_config(
        ing, dynamic_file, permanent_redirect="no-https-redirect" not in active))
    cert_hash = hashlib.sha256(cert.read_bytes()).hexdigest()
    ping_ok = _http_ok(f"http://127.0.0.1:{ing.ping}/ping")
    routed_ok = ingress_ok(ing.https, layout.ca_dir / "ca.pem", verify=not chosen)
    return Component(
        "traefik", [binary("traefik", "VVGATE_TRAEFIK_BIN"), f"--configfile={static_file}"],
        {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, ing.https, layout.traefik_dir,
        lambda: ping_ok() and routed_ok(), config_text=static_text + dynamic_text + cert_hash,
        files={static_file: static_text, dynamic_file: dynamic_text},
    )
