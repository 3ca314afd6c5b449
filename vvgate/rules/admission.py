"""Pod Security judged by the real admission code: each workload's pod, server-side dry-run
into a namespace of the gate's own kube-apiserver that enforces restricted.

The server starts on the first pod judged and stops with the run. The policy version is the
target's Kubernetes minor, so a cluster is judged by the rules it will apply; a version newer
than the server's is judged as "latest". A pod the server refuses for another reason (an invalid
combination of fields, say) is a finding as well, since a cluster would refuse it too; its
security is then judged by the gate's rules, and the findings say so.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vvgate.kube.judge_apiserver import (
    Binaries,
    JudgeApiServer,
    JudgeUnavailable,
    find_binaries,
)
from vvgate.rules.manifest.pod_security import RULES_MODE, rule_violations
from vvgate.rules.manifest.workload import containers, pod_metadata, pod_spec
from vvgate.rules.model import ManifestObject, Violation

if TYPE_CHECKING:
    from kubernetes.client.exceptions import ApiException

NAMESPACE = "vvgate-pod-security"
PARALLEL_DRY_RUNS = 4
PSS = "pod-security.kubernetes.io/"
_REFUSAL = re.compile(r'violates PodSecurity "([^"]+)": (.*)$', re.S)
_CONTAINER = re.compile(r'containers? "([^"]+)"')
_VOLUME = re.compile(r'volumes? "([^"]+)"')


def split_controls(text: str) -> list[str]:
    """'a (x, y), b (z)' -> ['a (x, y)', 'b (z)']: commas inside parentheses stay."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _pod(obj: ManifestObject) -> dict[str, Any]:
    """The pod a controller would create from the object, as the API server sees it."""
    found = pod_spec(obj)
    assert found is not None
    spec = json.loads(json.dumps(found[1]))
    meta = pod_metadata(obj)
    # A StatefulSet mounts its claim templates as persistentVolumeClaim volumes.
    declared = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, Mapping)}
    for claim in obj.spec.get("volumeClaimTemplates") or [] if obj.kind == "StatefulSet" \
            else []:
        name = (claim.get("metadata") or {}).get("name")
        if name and name not in declared:
            spec.setdefault("volumes", []).append(
                {"name": name, "persistentVolumeClaim": {"claimName": f"{name}-{obj.name}-0"}})
    metadata = {"name": obj.name or "unnamed",
                "labels": dict(meta.get("labels") or {}),
                "annotations": dict(meta.get("annotations") or {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _path_of(obj: ManifestObject, control: str) -> str:
    found = pod_spec(obj)
    base = found[0] if found else "spec"
    named = _CONTAINER.search(control)
    if named:
        for path, c in containers(obj):
            if c.get("name") == named.group(1):
                return f"{path}.securityContext"
    volume = _VOLUME.search(control)
    if volume and found:
        for i, v in enumerate(found[1].get("volumes") or []):
            if isinstance(v, Mapping) and v.get("name") == volume.group(1):
                return f"{base}.volumes[{i}]"
    return base


def policy_version(k8s_version: str, server_version: str) -> str:
    """The target's minor ("v1.33"), or "latest" when the server is older than the target."""
    server = tuple(int(p) for p in server_version.lstrip("v").split(".")[:2])
    wanted = tuple(int(p) for p in k8s_version.split(".")[:2])
    return "latest" if wanted > server else f"v{k8s_version}"


def _made_namespace(core: Any, version: str) -> bool:
    """Create the namespace that enforces restricted: True once it exists, False while the
    server still starts (no answer yet, 5xx, 429); any other refusal is the server's last word."""
    # kubernetes and urllib3 come with the server, in the judge's own thread (see
    # JudgeApiServer.api_client).
    import urllib3
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    namespace = client.V1Namespace(metadata=client.V1ObjectMeta(
        name=NAMESPACE, labels={f"{PSS}enforce": "restricted", f"{PSS}enforce-version": version}))
    try:
        core.create_namespace(namespace, _request_timeout=5)
    except ApiException as exc:
        if exc.status == 409:
            return True
        if _starting(exc):
            return False
        raise JudgeUnavailable(f"kube-apiserver refused the judge's namespace ({exc.status}): "
                               f"{exc.reason}") from None
    except (OSError, urllib3.exceptions.HTTPError):
        return False
    return True


def _starting(exc: ApiException) -> bool:
    """An answer of a server still starting: no route yet (404), an admission plugin whose
    caches have not synced (403 "not yet ready"), too busy (429), or failing (5xx)."""
    status = exc.status or 0
    not_ready = status == 403 and "not yet ready" in str(exc.body or "")
    return status in (0, 404, 429) or status >= 500 or not_ready


class AdmissionJudge:
    """A PodJudge (vvgate.rules.model) backed by kube-apiserver's PodSecurity plugin.

    Nothing starts until `prepare()` or the first pod judged. Where no server can run, every
    pod is judged by the gate's rules instead; `on_mode` hears once which of the two judged.
    Both may be given later with `attach`, so the server can start before the run knows its
    profile; what was said meanwhile is passed on then.
    """

    def __init__(self, k8s_version: str, on_mode: Callable[[str], None] | None = None,
                 binaries_dir: Path | None = None) -> None:
        self.k8s_version = k8s_version
        self._on_mode = on_mode
        self._unheard: list[str] = []
        self._binaries_dir = binaries_dir
        self._server: JudgeApiServer | None = None
        self._binaries: Binaries | None = None
        self._core: Any = None
        self.unavailable: str | None = None
        self._ahead: dict[int, Future[list[Violation]]] = {}
        self._lock = threading.Lock()

    @property
    def server(self) -> JudgeApiServer | None:
        return self._server

    def prepare(self) -> None:
        """Launch the server now, so it comes up while other checks run; judging waits for
        it. Where it cannot run, every pod goes to the gate's rules."""
        if self._server is not None or self.unavailable is not None:
            return
        try:
            self._binaries = find_binaries(self._binaries_dir)
            server = JudgeApiServer(self._binaries)
            server.launch()
        except JudgeUnavailable as exc:
            self._fall_back(exc)
            return
        self._server = server

    def attach(self, k8s_version: str, on_mode: Callable[[str], None]) -> None:
        """The run's Kubernetes version and where its notes go; before any pod is judged."""
        self.k8s_version = k8s_version
        self._on_mode = on_mode
        for note in self._unheard:
            on_mode(note)
        self._unheard.clear()

    def _say_mode(self, note: str) -> None:
        if self._on_mode is None:
            self._unheard.append(note)
        else:
            self._on_mode(note)

    def _fall_back(self, why: JudgeUnavailable) -> None:
        self.unavailable = str(why)
        self._say_mode(f"Pod Security: judged by {RULES_MODE.format(why=why)}")

    def _api(self) -> Any:
        with self._lock:  # judge_ahead's threads and the checks' thread ask at once
            return self._api_locked()

    def _api_locked(self) -> Any:
        if self._core is not None or self.unavailable is not None:
            return self._core
        self.prepare()
        if self._server is None or self._binaries is None:
            return None
        version = policy_version(self.k8s_version, self._binaries.version)
        from kubernetes import client

        core = client.CoreV1Api(self._server.api_client())
        try:
            # The namespace made is the readiness that matters: it needs no post-start hook.
            self._server.wait_ready(lambda: _made_namespace(core, version))
        except JudgeUnavailable as exc:
            self._server = None
            self._fall_back(exc)
            return None
        except Exception as exc:  # whatever went wrong, the run says which mode judged
            self._server.stop()
            self._server = None
            self._fall_back(JudgeUnavailable(f"kube-apiserver could not be used: "
                                             f"{type(exc).__name__}: {exc}"))
            return None
        self._core = core
        self._say_mode(f"Pod Security: judged by kube-apiserver {self._binaries.version}'s "
                      f"PodSecurity admission (restricted:{version}, server-side dry-run)")
        return self._core

    def judge_ahead(self, objects: list[ManifestObject]) -> None:
        """Judge these pods in the background, a few at a time, as soon as the server is up:
        the checks that ask for them later find their verdicts waiting."""
        # Launched from this thread: the server's processes die with the thread that
        # started them (PR_SET_PDEATHSIG), and the pool's threads end early.
        self.prepare()
        pool = ThreadPoolExecutor(max_workers=PARALLEL_DRY_RUNS)
        ready = pool.submit(self._api)
        for obj in objects:
            self._ahead[id(obj)] = pool.submit(self._after, ready, obj)
        pool.shutdown(wait=False)

    def _after(self, ready: Future[Any], obj: ManifestObject) -> list[Violation]:
        ready.result()
        return self._judge_now(obj)

    def judge(self, obj: ManifestObject) -> list[Violation]:
        ahead = self._ahead.pop(id(obj), None)
        return ahead.result() if ahead is not None else self._judge_now(obj)

    def _judge_now(self, obj: ManifestObject) -> list[Violation]:
        api = self._api()
        if api is None:
            return rule_violations(obj)
        from kubernetes.client.exceptions import ApiException

        try:
            api.create_namespaced_pod(NAMESPACE, _pod(obj), dry_run="All")
        except ApiException as exc:
            message = str((json.loads(exc.body or "{}") or {}).get("message") or exc.reason)
            refusal = _REFUSAL.search(message)
            if exc.status == 403 and refusal:
                return [Violation(_path_of(obj, control),
                                  f"PodSecurity {refusal.group(1)}: {control}")
                        for control in split_controls(refusal.group(2))]
            # Refused before Pod Security could judge it: a cluster would refuse it too, and
            # the gate's rules judge its security instead.
            why = " ".join(message.split())[:400]
            found = pod_spec(obj)
            return [Violation(found[0] if found else "spec",
                              f"the API server refuses the pod ({exc.status}): {why}"),
                    *(Violation(v.path, f"{v.message} [judged by the gate's rules]")
                      for v in rule_violations(obj))]
        return []

    def close(self) -> None:
        for ahead in self._ahead.values():
            ahead.cancel()
        for ahead in self._ahead.values():
            with contextlib.suppress(Exception):
                ahead.result()  # none may still talk to the server it stops
        self._ahead.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._core = None
