"""Pod Security Standards "restricted", one case per workload.

Where the gate has a kube-apiserver binary, the real PodSecurity admission code judges each
workload's pod (vvgate/rules/admission.py, given as Settings.pod_security). Without one, the
checks below stand in: the controls of the baseline and restricted profiles as the
Kubernetes documentation lists them, with messages in the admission plugin's words. The
run's notes say which of the two judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vvgate.rules.manifest.best_practice import is_workload
from vvgate.rules.manifest.workload import containers, pod_metadata, pod_spec
from vvgate.rules.model import (
    ManifestObject,
    ObjectRule,
    RuleInfo,
    Settings,
    Tree,
    Violation,
)

RULE_ID = "PSS-RESTRICTED"
RULES_MODE = ("the gate's rules for the restricted profile (no kube-apiserver to judge with: "
              "{why})")
ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret")
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes"})
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _ctx(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ctx = node.get("securityContext")
    return ctx if isinstance(ctx, Mapping) else {}


def _all_containers(obj: ManifestObject) -> list[tuple[str, Mapping[str, Any]]]:
    found = containers(obj)
    spec = pod_spec(obj)
    if spec is not None:
        for i, c in enumerate(spec[1].get("ephemeralContainers") or []):
            if isinstance(c, Mapping):
                found.append((f"{spec[0]}.ephemeralContainers[{i}]", c))
    return found


def _pod_controls(path: str, spec: Mapping[str, Any]) -> Iterator[Violation]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield Violation(f"{path}.{key}", f"host namespaces ({key}=true)")
    for i, volume in enumerate(spec.get("volumes") or []):
        if not isinstance(volume, Mapping):
            continue
        kinds = [k for k in volume if k != "name"]
        bad = [k for k in kinds if k not in ALLOWED_VOLUMES]
        if bad:
            yield Violation(f"{path}.volumes[{i}].{bad[0]}",
                            f"restricted volume types (volume {volume.get('name')!r} uses "
                            f"restricted volume type {bad[0]!r})")
    pod = _ctx(spec)
    for i, sysctl in enumerate(pod.get("sysctls") or []):
        name = sysctl.get("name") if isinstance(sysctl, Mapping) else None
        if name not in SAFE_SYSCTLS:
            yield Violation(f"{path}.securityContext.sysctls[{i}]",
                            f"forbidden sysctls ({name})")


def _effective(c: Mapping[str, Any], pod: Mapping[str, Any], key: str) -> Any:
    own = _ctx(c).get(key)
    return own if own is not None else pod.get(key)


def _container_controls(where: str, c: Mapping[str, Any], pod: Mapping[str, Any],
                        annotations: Mapping[str, Any]) -> Iterator[Violation]:
    name = c.get("name")
    ctx = _ctx(c)
    sc = f"{where}.securityContext"
    if ctx.get("privileged") is True:
        yield Violation(f"{sc}.privileged", f"privileged (container {name!r} must not set "
                                            "securityContext.privileged=true)")
    if (ctx.get("windowsOptions") or {}).get("hostProcess") is True:
        yield Violation(f"{sc}.windowsOptions.hostProcess", f"hostProcess (container {name!r})")
    if ctx.get("allowPrivilegeEscalation") is not False:
        yield Violation(f"{sc}.allowPrivilegeEscalation",
                        f"allowPrivilegeEscalation != false (container {name!r} must set "
                        "securityContext.allowPrivilegeEscalation=false)")
    caps = ctx.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        yield Violation(f"{sc}.capabilities.drop", f"unrestricted capabilities (container "
                                                   f"{name!r} must set capabilities.drop=[ALL])")
    added = [a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"]
    if added:
        yield Violation(f"{sc}.capabilities.add", f"unrestricted capabilities (container "
                                                  f"{name!r} must not add {added})")
    if _effective(c, pod, "runAsNonRoot") is not True:
        yield Violation(f"{sc}.runAsNonRoot", f"runAsNonRoot != true (pod or container "
                                              f"{name!r} must set runAsNonRoot=true)")
    if _effective(c, pod, "runAsUser") == 0:
        yield Violation(f"{sc}.runAsUser", f"runAsUser=0 (container {name!r})")
    seccomp = _effective(c, pod, "seccompProfile")
    kind = seccomp.get("type") if isinstance(seccomp, Mapping) else None
    if kind not in SECCOMP_TYPES:
        yield Violation(f"{sc}.seccompProfile", f"seccompProfile (pod or container {name!r} "
                                                f"must set type RuntimeDefault or Localhost, "
                                                f"not {kind or 'unset'})")
    apparmor = _effective(c, pod, "appArmorProfile")
    legacy = annotations.get(f"{APPARMOR_ANNOTATION}{name}")
    if (isinstance(apparmor, Mapping) and apparmor.get("type") == "Unconfined") or \
            legacy == "unconfined":
        yield Violation(f"{sc}.appArmorProfile", f"forbidden AppArmor profile (container "
                                                 f"{name!r} is unconfined)")
    selinux = _effective(c, pod, "seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or \
            selinux.get("role"):
        yield Violation(f"{sc}.seLinuxOptions", f"seLinuxOptions (container {name!r})")
    if ctx.get("procMount") not in (None, "Default"):
        yield Violation(f"{sc}.procMount", f"procMount (container {name!r})")
    for i, port in enumerate(c.get("ports") or []):
        if isinstance(port, Mapping) and port.get("hostPort"):
            yield Violation(f"{where}.ports[{i}].hostPort",
                            f"hostPort (container {name!r} uses hostPort {port['hostPort']})")


def _annotations(obj: ManifestObject) -> Mapping[str, Any]:
    annotations = pod_metadata(obj).get("annotations")
    return annotations if isinstance(annotations, Mapping) else {}


def rule_violations(obj: ManifestObject) -> list[Violation]:
    """The restricted profile judged by these rules."""
    found = pod_spec(obj)
    if found is None:
        return []
    path, spec = found
    pod = _ctx(spec)
    out = list(_pod_controls(path, spec))
    annotations = _annotations(obj)
    for where, c in _all_containers(obj):
        out.extend(_container_controls(where, c, pod, annotations))
    return out


def check_restricted(obj: ManifestObject, tree: Tree, s: Settings) -> list[Violation]:
    if s.pod_security is not None:
        return s.pod_security.judge(obj)
    return rule_violations(obj)


RULE = ObjectRule(
    RuleInfo(RULE_ID, "Pods meet Pod Security Standards restricted",
             "set the pod's securityContext as the restricted profile asks (runAsNonRoot, "
             "seccompProfile RuntimeDefault, allowPrivilegeEscalation false, capabilities "
             "drop ALL) and use only its volume types", "pod-security"),
    is_workload,
    check_restricted,
)
