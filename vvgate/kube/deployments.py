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
from vvgate.kube.objects import RUN_LABEL, Kube


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
    """Observing instead of applying (`observe`) where the target is read-only: the checks
    then judge what is deployed, and nothing is cleaned up because nothing was made."""

    def __init__(self, kube: Kube, out: Callable[[str], None],
                 timeouts: dict[str, float] | None = None, observe: bool = False) -> None:
        self.kube, self.say, self.timeouts, self.observe = kube, out, timeouts, observe
        self.done: dict[str, deployment.Deployment] = {}
        self.failed: dict[str, tuple[deployment.Deployment | None, str]] = {}

    def get(self, overlay: str) -> deployment.Deployment:
        if overlay in self.done:
            return self.done[overlay]
        if overlay in self.failed:
            handle, message = self.failed[overlay]
            raise DeployFailed(handle, message)
        verb = "observing" if self.observe else "deploying"
        try:
            if self.observe:
                self.done[overlay] = deployment.observe(self.kube, overlay, self.say,
                                                        timeouts=self.timeouts)
            else:
                self.done[overlay] = deployment.apply(self.kube, overlay, self.say,
                                                      timeouts=self.timeouts)
        except Exception as exc:
            handle = getattr(exc, "deployment", None)
            message = f"{verb} overlay {overlay!r} failed: {exc}"
            self.failed[overlay] = (handle, message)
            raise DeployFailed(handle, message) from None
        return self.done[overlay]

    def get_documents(self, label: str,
                      documents: list[dict[str, Any]]) -> deployment.Deployment:
        """Apply a few rendered objects (not a whole overlay), once per run."""
        if self.observe:
            raise AssertionError(f"{label}: nothing may be applied to a read-only target")
        if label not in self.done:
            self.done[label] = deployment.apply(self.kube, label, self.say,
                                                documents=documents)
        return self.done[label]

    def all(self) -> list[deployment.Deployment]:
        return [*self.done.values(), *(h for h, _ in self.failed.values() if h)]

    def keep(self) -> None:
        for handle in self.all():
            if handle.created:
                self.say(f"--keep: left {handle.overlay} in place, marked to stay (label "
                         f"{RUN_LABEL}={self.kube.stamp.run_id}; no janitor removes it)")

    def cleanup(self) -> None:
        for handle in reversed(self.all()):
            if not handle.observed:
                deployment.cleanup(handle, self.say)
