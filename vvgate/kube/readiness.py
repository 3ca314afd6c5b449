"""When an applied object counts as ready, and how long each kind may take to get there.

Pure verdicts over plain object dicts, so the rules are testable without a cluster; the
waiting loop polls through kube_objects.Kube.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vvgate.kube.objects import Kube, ref
from vvgate.kube.stuck import diagnose

WORKLOADS = frozenset({"Deployment", "StatefulSet"})

# Seconds per kind: a StatefulSet waits on its PVCs binding and starts members one by one.
TIMEOUTS_S: dict[str, float] = {
    "PersistentVolumeClaim": 60.0,
    "Deployment": 180.0,
    "StatefulSet": 300.0,
    "Job": 180.0,
}
POLL_S = 1.0
# Not ready this long, a workload is asked why (its pods, its claims): a state that waiting
# cannot fix ends the wait at once. Asked every few polls, not on each.
DIAGNOSE_AFTER_S = 5.0
DIAGNOSE_EVERY_S = 3.0


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str
    # A state that will not fix itself (a failed Job): stop waiting at once.
    final: bool = False


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def deployment(obj: dict[str, Any]) -> Verdict:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        return Verdict(False, "rollout not observed yet")
    progressing = _condition(obj, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(False, "progress deadline exceeded", final=True)
    updated, avail = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    if updated < want or status.get("replicas", 0) > updated or avail < updated:
        return Verdict(False, f"rollout {updated}/{want} updated, {avail} available")
    available = _condition(obj, "Available") or {}
    if available.get("status") != "True":
        return Verdict(False, f"not Available ({available.get('reason', 'no condition')})")
    return Verdict(True, f"Available, {avail}/{want} replicas")


def statefulset(obj: dict[str, Any]) -> Verdict:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        return Verdict(False, "not observed yet")
    ready = status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    if ready < want or updated < want:
        return Verdict(False, f"{ready}/{want} ready, {updated} updated")
    return Verdict(True, f"{ready}/{want} ready")


def pvc(obj: dict[str, Any]) -> Verdict:
    phase = (obj.get("status") or {}).get("phase", "Pending")
    if phase == "Lost":
        return Verdict(False, "Lost", final=True)
    return Verdict(phase == "Bound", phase)


def job(obj: dict[str, Any]) -> Verdict:
    if (_condition(obj, "Complete") or {}).get("status") == "True":
        return Verdict(True, "Complete")
    failed = _condition(obj, "Failed") or {}
    if failed.get("status") == "True":
        return Verdict(False, f"Failed ({failed.get('reason', '')})", final=True)
    return Verdict(False, f"{(obj.get('status') or {}).get('active', 0)} active")


RULES: dict[str, Callable[[dict[str, Any]], Verdict]] = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "PersistentVolumeClaim": pvc,
    "Job": job,
}


@dataclass(frozen=True)
class NotReady:
    obj: dict[str, Any]  # the live object (or the applied one when missing)
    verdict: Verdict
    waited_s: float

    def message(self) -> str:
        return f"{ref(self.obj)} not ready after {self.waited_s:.0f}s: {self.verdict.reason}"


def wait_all(kube: Kube, objects: list[dict[str, Any]], say: Callable[[str], None],
             timeouts: dict[str, float] | None = None,
             missing_is_final: bool = False) -> dict[str, NotReady]:
    """Wait until every object with a readiness rule is ready, or has run out of its kind's
    time, or failed for good. Returns the ones that did not make it, by ref: each check
    then fails for its own objects only, so a broken StatefulSet fails the database gate
    and not the rollout gate. Prints one line per object. `missing_is_final` when nothing
    is applying them (observing production): a missing object will not appear by waiting."""
    limits = {**TIMEOUTS_S, **(timeouts or {})}
    start = time.monotonic()
    pending = [o for o in objects if o["kind"] in RULES]
    failed: dict[str, NotReady] = {}
    asked: dict[str, float] = {}
    while pending:
        for obj in list(pending):
            meta = obj["metadata"]
            live = kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            verdict = (RULES[obj["kind"]](live) if live
                       else Verdict(False, "missing", final=missing_is_final))
            waited = time.monotonic() - start
            if (live and not verdict.ready and not verdict.final and waited > DIAGNOSE_AFTER_S
                    and obj["kind"] in WORKLOADS
                    and waited - asked.get(ref(obj), -DIAGNOSE_EVERY_S) >= DIAGNOSE_EVERY_S):
                asked[ref(obj)] = waited
                stuck = diagnose(kube, live)
                if stuck:
                    verdict = Verdict(False, f"{verdict.reason}; {stuck}", final=True)
            if verdict.ready:
                pending.remove(obj)
                say(f"  ready {ref(obj)}: {verdict.reason} ({waited:.1f}s)")
            elif verdict.final or waited > limits[obj["kind"]]:
                pending.remove(obj)
                failed[ref(obj)] = NotReady(live or obj, verdict, waited)
                say(f"  NOT READY {failed[ref(obj)].message()}")
        if pending:
            time.sleep(POLL_S)
    return failed
