"""Plain-dict access to any Kubernetes object through the guarded client, and the marks
the run puts on what it creates.

The dynamic client sits on top of the one GuardedApiClient (no second client), so every
apply and delete still passes the production write guard. Objects come back as plain
dicts: checks and evidence want JSON, not generated models.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from vvgate.identity.synthetic_users import run_tag
from vvgate.kube.write_guard import GuardedApiClient

FIELD_MANAGER = "vvgate"
RUN_LABEL = "vvgate.io/run-id"
# The owner's tag (run, host, pid, start), as synthetic users carry it: a later run's
# janitor removes an object only when it carries one and that owner is dead.
OWNER_ANNOTATION = "vvgate.io/owner-run"
# Set under --keep: the user asked for the objects to stay, so no janitor removes them.
KEEP_ANNOTATION = "vvgate.io/keep"
MARKS = (("labels", RUN_LABEL), ("annotations", OWNER_ANNOTATION),
         ("annotations", KEEP_ANNOTATION))


@dataclass(frozen=True)
class Stamp:
    """What every object a run creates carries: its run label, its owner's tag, and
    whether --keep asked for it to stay."""

    run_id: str
    tag: str
    keep: bool = False

    @classmethod
    def for_run(cls, run_id: str, keep: bool = False) -> Stamp:
        return cls(run_id, run_tag(run_id), keep)

    def mark(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        meta = out.setdefault("metadata", {})
        meta.setdefault("labels", {})[RUN_LABEL] = self.run_id
        annotations = meta.setdefault("annotations", {})
        annotations[OWNER_ANNOTATION] = self.tag
        if self.keep:
            annotations[KEEP_ANNOTATION] = "true"
        return out


def owner(obj: dict[str, Any]) -> str | None:
    """The owner tag of an object the gate created; None for anything else."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    tag = annotations.get(OWNER_ANNOTATION)
    return str(tag) if tag else None


def carry_marks(obj: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """`obj` with the gate's marks exactly as `live` has them (or has none).

    Applying to an object that already exists must neither adopt it (add this run's marks)
    nor take another run's marks away, which a server-side apply under the same field
    manager would do to fields it no longer names."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    live_meta = live.get("metadata") or {}
    for section, key in MARKS:
        wanted = meta.get(section) or {}
        wanted.pop(key, None)
        if key in (live_meta.get(section) or {}):
            wanted[key] = live_meta[section][key]
        if wanted:
            meta[section] = wanted
        else:
            meta.pop(section, None)
    return out


class UnknownKind(Exception):
    """The server does not serve this apiVersion/kind (e.g. a CRD that is not installed)."""


def ref(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')}/{ns}{meta.get('name')}"


class Kube:
    """One run's access to a cluster: reads, and writes that pass the guard, with the
    stamp that run puts on what it creates."""

    def __init__(self, api: GuardedApiClient, stamp: Stamp) -> None:
        self.api = api
        self.stamp = stamp
        self.dynamic = DynamicClient(api)  # type: ignore[no-untyped-call]

    def core(self) -> Any:
        """The typed core API (pod logs), on the same guarded client. Loaded on first use:
        the generated module takes a second to import, and most runs never need it."""
        from kubernetes.client import CoreV1Api

        return CoreV1Api(self.api)

    def resource(self, api_version: str, kind: str) -> Any:
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise UnknownKind(f"{api_version} {kind}") from None

    def served(self, api_version: str, kind: str) -> bool:
        try:
            self.resource(api_version, kind)
        except UnknownKind:
            return False
        return True

    def apply(self, obj: dict[str, Any], field_manager: str = FIELD_MANAGER) -> dict[str, Any]:
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        out = self.dynamic.server_side_apply(  # type: ignore[no-untyped-call]
            res, body=obj, name=meta["name"], namespace=meta.get("namespace"),
            field_manager=field_manager, force_conflicts=True)
        return dict(out.to_dict())

    def merge_patch(self, api_version: str, kind: str, name: str, namespace: str | None,
                    patch: dict[str, Any]) -> dict[str, Any]:
        res = self.resource(api_version, kind)
        out = self.dynamic.patch(  # type: ignore[no-untyped-call]
            res, body=patch, name=name, namespace=namespace,
            content_type="application/merge-patch+json")
        return dict(out.to_dict())

    def get(self, api_version: str, kind: str, name: str,
            namespace: str | None = None) -> dict[str, Any] | None:
        res = self.resource(api_version, kind)
        try:
            return dict(res.get(name=name, namespace=namespace).to_dict())
        except NotFoundError:
            return None

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        res = self.resource(api_version, kind)
        out = res.get(namespace=namespace, label_selector=label_selector)
        return [dict(item) for item in out.to_dict().get("items", [])]

    def delete(self, api_version: str, kind: str, name: str,
               namespace: str | None = None) -> bool:
        """Foreground-free delete; False when it was already gone."""
        res = self.resource(api_version, kind)
        try:
            res.delete(name=name, namespace=namespace,
                       body={"propagationPolicy": "Background"})
        except NotFoundError:
            return False
        return True
