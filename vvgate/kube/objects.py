"""Plain-dict access to any Kubernetes object through the guarded client.

The dynamic client sits on top of the one GuardedApiClient (no second client), so every
apply and delete still passes the production write guard. Objects come back as plain
dicts: checks and evidence want JSON, not generated models.
"""

from __future__ import annotations

from typing import Any

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from vvgate.kube.write_guard import GuardedApiClient

FIELD_MANAGER = "vvgate"
RUN_LABEL = "vvgate.io/run-id"


class UnknownKind(Exception):
    """The server does not serve this apiVersion/kind (e.g. a CRD that is not installed)."""


def ref(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')}/{ns}{meta.get('name')}"


class Kube:
    def __init__(self, api: GuardedApiClient) -> None:
        self.api = api
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

    def exists(self, obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        return self.get(obj["apiVersion"], obj["kind"], meta["name"],
                        meta.get("namespace")) is not None
