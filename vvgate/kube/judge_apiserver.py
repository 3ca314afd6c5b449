"""A kube-apiserver of the gate's own, so the real admission code can judge rendered manifests.

It is no target's cluster: etcd and kube-apiserver start from the binaries
scripts/bootstrap-cluster builds, on loopback, in a temporary folder, and stop with the run.
Children get SIGKILL when the gate dies (PR_SET_PDEATHSIG), so a killed run leaves no server
behind; the signal follows the thread that started them, so start them from one that lives
as long as the run. Its one client is built on the write guard, like every other cluster client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vvgate.lifetime import dies_with_parent, private_folder
from vvgate.paths import cache_dir

if TYPE_CHECKING:
    from vvgate.kube.write_guard import GuardedApiClient

BINARIES_ENV = "VVGATE_KUBE_BINARIES"
START_TIMEOUT_S = 90
POLL_S = 0.05
_VERSIONED = re.compile(r"^(kube-apiserver|etcd)-v(\d+)\.(\d+)\.(\d+)$")
FOLDER_PREFIX = "vvgate-judge-"


class JudgeUnavailable(Exception):
    """The server cannot run here; the message says why, for the run's notes."""


def binaries_dir() -> Path:
    if os.environ.get(BINARIES_ENV):
        return Path(os.environ[BINARIES_ENV])
    return cache_dir() / "bin"


@dataclass(frozen=True)
class Binaries:
    apiserver: Path
    etcd: Path

    @property
    def version(self) -> str:
        return self.apiserver.name.removeprefix("kube-apiserver-")


def find_binaries(folder: Path | None = None) -> Binaries:
    """The newest kube-apiserver and etcd in the folder, or JudgeUnavailable saying what is
    missing."""
    folder = folder or binaries_dir()
    newest: dict[str, tuple[tuple[int, ...], Path]] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = _VERSIONED.match(path.name)
        if match and os.access(path, os.X_OK):
            version = tuple(int(part) for part in match.groups()[1:])
            if match.group(1) not in newest or version > newest[match.group(1)][0]:
                newest[match.group(1)] = (version, path)
    missing = [name for name in ("kube-apiserver", "etcd") if name not in newest]
    if missing:
        raise JudgeUnavailable(f"no {' or '.join(missing)} binary in {folder} "
                               "(scripts/bootstrap-cluster builds them)")
    return Binaries(newest["kube-apiserver"][1], newest["etcd"][1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_keys(folder: Path) -> None:
    """The service-account key pair kube-apiserver insists on, and a serving certificate for
    127.0.0.1 that the client pins."""
    # EC, not RSA: generating an RSA key costs the run a noticeable part of its start.
    sa = ec.generate_private_key(ec.SECP256R1())
    (folder / "sa.key").write_bytes(sa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (folder / "sa.pub").write_bytes(sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vvgate-judge")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "serving.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "serving.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


class JudgeApiServer:
    """etcd and kube-apiserver on loopback; `start()` returns once /readyz answers.

    A caller that needs less than the whole server (the Pod Security judge needs namespaces and
    pods, not the post-start hooks /readyz also waits for, which take a second more) passes
    its own probe to `wait_ready`."""

    def __init__(self, binaries: Binaries) -> None:
        self.binaries = binaries
        self._folder: Path | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self._token = secrets.token_urlsafe(24)
        self.url = ""

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs]

    @property
    def folder(self) -> Path | None:
        return self._folder

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        assert self._folder is not None
        log = (self._folder / f"{name}.log").open("wb")
        self._logs.append(log)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=dies_with_parent(),
                                cwd=self._folder, env={"PATH": os.environ.get("PATH", "")})
        self._procs.append(proc)
        return proc

    def _log_tail(self, name: str) -> str:
        assert self._folder is not None
        lines = (self._folder / f"{name}.log").read_text(errors="replace").splitlines()
        return " | ".join(line.strip() for line in lines[-3:]) or "(no output)"

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start both processes and return at once: the caller may do other work while
        kube-apiserver comes up (wait_ready waits for it)."""
        self._folder = folder = private_folder(FOLDER_PREFIX)
        try:
            self._launch(folder)
        except OSError as exc:
            self.stop()
            raise JudgeUnavailable(f"kube-apiserver could not start: {exc}") from None
        except BaseException:
            self.stop()
            raise

    def _launch(self, folder: Path) -> None:
        _write_keys(folder)
        (folder / "tokens.csv").write_text(f"{self._token},vvgate-judge,vvgate-judge\n")
        etcd_url = f"http://127.0.0.1:{_free_port()}"
        peer_url = f"http://127.0.0.1:{_free_port()}"
        port = _free_port()
        self.url = f"https://127.0.0.1:{port}"
        self._spawn("etcd", [
            str(self.binaries.etcd), "--name=judge", f"--data-dir={folder / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=judge={peer_url}",
            # nothing it stores outlives the run
            "--unsafe-no-fsync",
        ])
        self._spawn("kube-apiserver", [
            str(self.binaries.apiserver), "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={port}",
            f"--etcd-servers={etcd_url}",
            f"--tls-cert-file={folder / 'serving.crt'}",
            f"--tls-private-key-file={folder / 'serving.key'}",
            f"--token-auth-file={folder / 'tokens.csv'}",
            "--authorization-mode=AlwaysAllow",
            f"--service-account-key-file={folder / 'sa.pub'}",
            f"--service-account-signing-key-file={folder / 'sa.key'}",
            "--service-account-issuer=https://vvgate-judge.invalid",
            "--service-cluster-ip-range=10.96.0.0/16",
            # As on K3s: privileged pods are the admission policy's to refuse.
            "--allow-privileged=true",
            # Pods are judged without the ServiceAccounts they name existing here.
            "--disable-admission-plugins=ServiceAccount",
            "--profiling=false", "--enable-priority-and-fairness=false",
        ])

    def _ready(self) -> bool:
        assert self._folder is not None
        context = ssl.create_default_context(cafile=str(self._folder / "serving.crt"))
        request = urllib.request.Request(f"{self.url}/readyz",
                                         headers={"Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=2, context=context) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def wait_ready(self, probe: Callable[[], bool] | None = None) -> None:
        """Wait until `probe` (default: /readyz answers 200) says the server serves."""
        try:
            self._wait_ready(probe or self._ready)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, probe: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for proc, name in zip(self._procs, ("etcd", "kube-apiserver"), strict=False):
                if proc.poll() is not None:
                    raise JudgeUnavailable(f"{name} exited with {proc.returncode}: "
                                           f"{self._log_tail(name)}")
            if probe():
                return
            time.sleep(POLL_S)
        raise JudgeUnavailable(f"kube-apiserver was not ready within {START_TIMEOUT_S} s: "
                               f"{self._log_tail('kube-apiserver')}")

    def api_client(self) -> GuardedApiClient:
        # The kubernetes client is imported here, once the server is wanted: a static run
        # launches the server before it imports anything it can do without.
        from kubernetes import client

        from vvgate.kube.write_guard import GuardedApiClient

        assert self._folder is not None
        configuration = client.Configuration()
        configuration.host = self.url
        configuration.ssl_ca_cert = str(self._folder / "serving.crt")
        configuration.api_key = {"authorization": f"Bearer {self._token}"}
        return GuardedApiClient(configuration, target="the gate's own kube-apiserver",
                                read_only_all=False, protected=frozenset())

    def stop(self) -> None:
        # SIGKILL: nothing it holds outlives the run, and a graceful stop of kube-apiserver
        # waits out its shutdown delay for nobody.
        for proc in reversed(self._procs):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for proc in self._procs:
            proc.wait()
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> JudgeApiServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
