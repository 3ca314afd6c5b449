"""The one path every cluster request takes, refusing writes where none may happen.

A production target is read-only: no create, patch, update or delete of any
object, and no exec or attach into its pods. Any target may also name further
protected namespaces (staging names production, which shares the cluster).
The check sits in `param_serialize`, which every generated API method, the
dynamic client and the streaming helpers call before sending, so no caller can
step around it.

Each refusal is logged and kept on the client (`refusals`), so a run can say how many
writes it attempted where none may happen: a read-only check that tried one is a bug.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any

from kubernetes.client import ApiClient, Configuration

from vvgate.errors import ConfigError

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# exec and attach are reads in HTTP terms but change what runs in a pod.
INTRUSIVE_SUBRESOURCES = frozenset({"exec", "attach"})
_NAMESPACED = re.compile(
    r"^/(?:api/v1|apis/[^/]+/[^/]+)/namespaces/([^/]+)(?:/([^/]+)/[^/]+/?([^/]*))?"
)
_NAMESPACE_COLLECTION = re.compile(r"^/api/v1/namespaces/?$")


class ProductionWriteRefused(ConfigError):
    """A write was attempted against a read-only target or namespace."""


def refusal(
    method: str,
    url: str,
    body: Any,
    read_only_all: bool,
    protected: frozenset[str],
    target: str,
) -> str | None:
    """Why this request must not be sent, or None when it may be."""
    path = urllib.parse.urlsplit(url).path
    verb = method.upper()
    match = _NAMESPACED.match(path)
    subresource = match.group(3) if match else ""
    intrusive = subresource in INTRUSIVE_SUBRESOURCES
    if verb not in WRITE_METHODS and not intrusive:
        return None
    action = f"{subresource} into" if intrusive else f"{verb} {path} in"
    if read_only_all:
        return (f"refused: {action} target {target!r}, which is read-only (production); "
                "no fixture may create, patch or delete anything there")
    namespace = match.group(1) if match else None
    if namespace is None and _NAMESPACE_COLLECTION.match(path) and isinstance(body, dict):
        namespace = (body.get("metadata") or {}).get("name")
    if namespace in protected:
        return (f"refused: {action} protected namespace {namespace!r} from target "
                f"{target!r}; no fixture may create, patch or delete anything there")
    return None


class GuardedApiClient(ApiClient):
    def __init__(
        self,
        configuration: Configuration,
        target: str,
        read_only_all: bool,
        protected: frozenset[str],
    ) -> None:
        super().__init__(configuration)
        self._target = target
        self._read_only_all = read_only_all
        self._protected = protected
        self.refusals: list[str] = []

    def param_serialize(self, method: str, resource_path: str, *args: Any, **kwargs: Any) -> Any:
        serialized = super().param_serialize(method, resource_path, *args, **kwargs)
        verb, url, _headers, body, _post = serialized
        reason = refusal(verb, url, body, self._read_only_all, self._protected, self._target)
        if reason is not None:
            self.refusals.append(reason)
            logger.warning("kubernetes write guard: %s", reason)
            raise ProductionWriteRefused(reason)
        return serialized
