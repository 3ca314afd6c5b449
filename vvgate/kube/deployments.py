"""A run's deployments: each overlay applied once, its failure remembered, all cleaned up.

A deployment is made once per overlay per run and shared by every check that asks for it; a
failed one fails every later check that asks for it with the same cause, without a retry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vvgate.errors import ConfigError
from vvgate.kube import deployment, readiness
from vvgate.kube.kustomize import kustomization_file
from vvgate.kube.objects import Kube


def overlay_for(given: str | None, kind: str) -> str:
    """The overlay a target deploys: overlays/<kind> (local, staging) of the project's
    manifests, or of `given` (--manifests: a root or the overlay itself, which is how
    selftests deploy a deliberately broken copy)."""
    if not given:
        return kind
    path = Path(given).expanduser().resolve()
    if (path / "overlays" / kind).is_dir():
        return str(path / "overlays" / kind)
    if kustomization_file(path) is not None:
        return str(path)
    raise ConfigError(f"--manifests {given}: no overlays/{kind} and no kustomization.yaml "
                      "to deploy")


def ready_timeouts() -> dict[str, float] | None:
    """VVGATE_READY_TIMEOUT_S caps every kind's readiness timeout: selftests that deploy
    deliberately broken manifests should not wait minutes for what will never be ready."""
    raw = os.environ.get("VVGATE_READY_TIMEOUT_S")
    if not raw:
        return None
    try:
        cap = float(raw)
    except ValueError:
        raise ConfigError(f"VVGATE_READY_TIMEOUT_S={raw!r}: not a number") from None
    return {kind: min(limit, cap) for kind, limit in readiness.TIMEOUTS_S.items()}


class DeployFailed(AssertionError):
    def __init__(self, handle: deployment.Deployment | None, message: str) -> None:
        super().__init__(message)
        self.handle = handle


class Deployments:
    def __init__(self, kube: Kube, run_id: str, out: Callable[[str], None],
                 timeouts: dict[str, float] | None = None) -> None:
        self.kube, self.run_id, self.say, self.timeouts = kube, run_id, out, timeouts
        self.done: dict[str, deployment.Deployment] = {}
        self.failed: dict[str, tuple[deployment.Deployment | None, str]] = {}

    def get(self, overlay: str) -> deployment.Deployment:
        if overlay in self.done:
            return self.done[overlay]
        if overlay in self.failed:
            handle, message = self.failed[overlay]
            raise DeployFailed(handle, message)
        try:
            self.done[overlay] = deployment.apply(self.kube, overlay, self.run_id, self.say,
                                                  timeouts=self.timeouts)
        except Exception as exc:
            handle = getattr(exc, "deployment", None)
            message = f"deploying overlay {overlay!r} failed: {exc}"
            self.failed[overlay] = (handle, message)
            raise DeployFailed(handle, message) from None
        return self.done[overlay]

    def get_documents(self, label: str,
                      documents: list[dict[str, Any]]) -> deployment.Deployment:
        """Apply a few rendered objects (not a whole overlay), once per run."""
        if label not in self.done:
            self.done[label] = deployment.apply(self.kube, label, self.run_id, self.say,
                                                documents=documents)
        return self.done[label]

    def all(self) -> list[deployment.Deployment]:
        return [*self.done.values(), *(h for h, _ in self.failed.values() if h)]

    def keep(self) -> None:
        for handle in self.all():
            self.say(f"--keep: left {handle.overlay} in place "
                     f"(label vvgate.io/run-id={self.run_id})")

    def cleanup(self) -> None:
        for handle in reversed(self.all()):
            deployment.cleanup(handle, self.say)
