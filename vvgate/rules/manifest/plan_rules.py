"""Plan conformance: the tree holds what the seed plan and the contract call for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from vvgate.kube.kustomize import UNKNOWN_KEYS_MARKER
from vvgate.rules.manifest import plan_expectations as plan
from vvgate.rules.manifest import roles
from vvgate.rules.manifest.best_practice import is_workload
from vvgate.rules.manifest.quantity import parse
from vvgate.rules.manifest.workload import containers, get, pod_labels, pod_spec, selector_matches
from vvgate.rules.model import (
    ManifestObject,
    NotApplicable,
    ObjectRule,
    RuleInfo,
    Settings,
    Tree,
    TreeRule,
    Violation,
    advice,
)


def _info(rule_id: str, title: str, hint: str) -> RuleInfo:
    return RuleInfo(rule_id, title, hint, "plan")


def _env(tree: Tree, s: Settings) -> plan.Environment:
    env = plan.environment(tree.name, s)
    if env is None:
        raise NotApplicable(f"overlay {tree.name!r} is none of "
                            f"{', '.join(plan.SEED_ENVIRONMENTS)}: no expected values")
    return env


# --- Ingress ---------------------------------------------------------------

def _annotations(obj: ManifestObject) -> Mapping[str, Any]:
    ann = obj.metadata.get("annotations")
    return ann if isinstance(ann, Mapping) else {}


def _rule_hosts(obj: ManifestObject) -> list[tuple[int, str]]:
    return [(i, str(r.get("host") or "")) for i, r in enumerate(obj.spec.get("rules") or [])]


def check_ingress_tls(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    tls = obj.spec.get("tls") or []
    if not tls:
        yield Violation("spec.tls", "Ingress has no TLS section")
        return
    covered = {h for entry in tls for h in entry.get("hosts") or []}
    for i, host in _rule_hosts(obj):
        if host not in covered:
            yield Violation(f"spec.rules[{i}].host", f"host {host!r} is not covered by spec.tls")
    env = plan.environment(tree.name, s)
    for i, entry in enumerate(tls):
        secret = entry.get("secretName")
        if not secret:
            yield Violation(f"spec.tls[{i}].secretName", "TLS entry names no secret")
        elif env is not None and secret != env.tls_secret:
            yield Violation(f"spec.tls[{i}].secretName",
                            f"TLS secret {secret!r}, expected {env.tls_secret!r}")


def check_ingress_issuer(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    issuer = _annotations(obj).get(plan.ISSUER_ANNOTATION)
    env = plan.environment(tree.name, s)
    path = f"metadata.annotations[{plan.ISSUER_ANNOTATION}]"
    if not issuer:
        yield Violation(path, "no cert-manager cluster-issuer annotation")
    else:
        # Staging and production alike get browser-trusted certificates: an overlay of any
        # name is held to the plan's production issuer unless it is one the plan knows.
        want = env.issuer if env is not None else plan.PRODUCTION_ISSUER
        if issuer != want:
            yield Violation(path, f"issuer {issuer!r}, expected {want!r}")


def check_ingress_class(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    cls = obj.spec.get("ingressClassName")
    if cls != plan.INGRESS_CLASS:
        yield Violation("spec.ingressClassName",
                        f"ingress class {cls!r}, expected {plan.INGRESS_CLASS!r}")
    entry = str(_annotations(obj).get(plan.ENTRYPOINTS_ANNOTATION) or "")
    points = {p.strip() for p in entry.split(",") if p.strip()}
    if points != {plan.INGRESS_ENTRYPOINT}:
        yield Violation(f"metadata.annotations[{plan.ENTRYPOINTS_ANNOTATION}]",
                        f"entrypoints {sorted(points) or 'unset'}, expected only "
                        f"{plan.INGRESS_ENTRYPOINT}")


def check_ingress_host(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    env = _env(tree, s)
    hosts = _rule_hosts(obj)
    if not hosts:
        yield Violation("spec.rules", "Ingress has no rules")
    for i, host in hosts:
        if host != env.host:
            yield Violation(f"spec.rules[{i}].host",
                            f"host {host!r} does not match overlay {tree.name} ({env.host})")


def _port_ok(port: Any, want: int) -> bool:
    """A named port is accepted (PLAN-SERVICES checks the Service); a number must match."""
    if not isinstance(port, Mapping):
        return False
    if "number" in port:
        return bool(port["number"] == want)
    return bool(port.get("name"))


def check_ingress_paths(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    routes: dict[str, tuple[str, str, Any]] = {}
    for i, rule in enumerate(obj.spec.get("rules") or []):
        for j, p in enumerate(get(rule, "http.paths") or []):
            svc = get(p, "backend.service") or {}
            where = f"spec.rules[{i}].http.paths[{j}]"
            routes[str(p.get("path", "/"))] = (where, str(svc.get("name")), svc.get("port"))
            if svc.get("name") == "backend":
                yield Violation(f"{where}.backend.service.name",
                                "the backend must not be reachable from outside the cluster")
    for path, service in plan.INGRESS_ROUTES.items():
        if path not in routes:
            yield Violation("spec.rules", f"no route for {path} (to {service})")
            continue
        where, name, port = routes[path]
        want = plan.APPS[service].port
        if name != service:
            yield Violation(f"{where}.backend.service.name",
                            f"{path} goes to {name!r}, expected {service!r}")
        elif not _port_ok(port, want):
            yield Violation(f"{where}.backend.service.port",
                            f"{path} goes to port {port}, expected {want}")


# --- Storage and MongoDB ---------------------------------------------------

def _is_mongo(obj: ManifestObject) -> bool:
    return roles.is_mongo(obj)


def _planned_mongo(obj: ManifestObject, tree: Tree, s: Settings) -> plan.Mongo:
    want = plan.planned_mongo(obj.name, tree.name, s)
    if want is None:
        raise NotApplicable(f"{obj.name} is a MongoDB StatefulSet the seed plan does not name "
                            f"({', '.join(plan.MONGO)}): no planned replica set to compare")
    return want


def _claim(obj: ManifestObject) -> tuple[str, Mapping[str, Any]] | None:
    for i, t in enumerate(obj.spec.get("volumeClaimTemplates") or []):
        if get(t, "metadata.name") == "data" or len(obj.spec["volumeClaimTemplates"]) == 1:
            return f"spec.volumeClaimTemplates[{i}].spec", t.get("spec") or {}
    return None


def check_storage_class(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    params = obj.doc.get("parameters") or {}
    if obj.doc.get("reclaimPolicy") != "Retain":
        yield Violation("reclaimPolicy",
                        f"reclaimPolicy {obj.doc.get('reclaimPolicy')!r}, expected 'Retain'")
    if str(params.get("archiveOnDelete")).lower() != "true":
        yield Violation("parameters.archiveOnDelete", "archiveOnDelete is not \"true\"")
    if not params.get("pathPattern"):
        yield Violation("parameters.pathPattern", "no pathPattern: volumes share one folder")
    if plan.NFS_PROVISIONER not in str(obj.doc.get("provisioner", "")):
        yield Violation("provisioner", f"provisioner {obj.doc.get('provisioner')!r} is not "
                                       f"{plan.NFS_PROVISIONER}")


def check_mongo_storage(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    claim = _claim(obj)
    if claim is None:
        yield Violation("spec.volumeClaimTemplates", "no volume claim template: data is lost")
        return
    path, spec = claim
    cls = spec.get("storageClassName")
    allowed = plan.storage_classes(s)
    if cls not in allowed:
        yield Violation(f"{path}.storageClassName",
                        f"storage class {cls!r}, expected one of {list(allowed)}")
        return
    defined = tree.find("StorageClass", str(cls))
    if defined is not None and defined.doc.get("reclaimPolicy") != "Retain":
        yield Violation(f"{path}.storageClassName",
                        f"storage class {cls} does not retain volumes (reclaimPolicy "
                        f"{defined.doc.get('reclaimPolicy')!r})")


def check_mongo_size(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    want = dict(_env(tree, s).mongo_storage).get(obj.name)
    claim = _claim(obj)
    if want is None or claim is None:
        raise NotApplicable("no size or claim to compare")
    path, spec = claim
    size = get(spec, "resources.requests.storage")
    if parse(size) != parse(want):
        yield Violation(f"{path}.resources.requests.storage",
                        f"volume size {size}, the seed plans {want} for {tree.name}")


def check_mongo_replica_set(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    want = _planned_mongo(obj, tree, s)
    for path, c in roles.mongod_containers(obj):
        words = roles.command_words(c)
        names = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--replSet"]
        names += [w.split("=", 1)[1] for w in words if w.startswith("--replSet=")]
        if want.replica_set is None:
            # The local overlay's SecantusDB: a set it cannot form would be a defect there.
            if names:
                yield Violation(f"{path}.args", f"--replSet {names}, but overlay {tree.name} "
                                                "runs one standalone member (SecantusDB has no "
                                                "multi-member replica sets)")
        elif names != [want.replica_set]:
            yield Violation(f"{path}.args",
                            f"--replSet {names or 'missing'}, expected {want.replica_set}")
    if obj.spec.get("replicas") != want.members:
        yield Violation("spec.replicas",
                        f"{obj.spec.get('replicas')} members, expected {want.members}")


def _env_value(container: Mapping[str, Any], name: str) -> str | None:
    for e in container.get("env") or []:
        if e.get("name") == name and "value" in e:
            return str(e["value"])
    return None


def check_rs_init(tree: Tree, s: Settings) -> Iterator[Violation]:
    jobs = [(j, c) for j in tree.of_kind("Job") for _, c in containers(j, init=False)]
    for sts in tree.of_kind("StatefulSet"):
        # In the local overlay the Job checks its one member: it names no REPLICA_SET.
        want = plan.planned_mongo(sts.name, tree.name, s)
        if want is None:
            continue
        match = [(j, c) for j, c in jobs if _env_value(c, "STATEFULSET") == sts.name]
        if not match:
            yield Violation("spec.template.spec.containers",
                            f"no replica-set init Job for {sts.name}",
                            subject=f"{tree.name}/Job/(missing rs-init for {sts.name})")
        for job, c in match:
            got = (_env_value(c, "REPLICA_SET"), _env_value(c, "MEMBERS"),
                   _env_value(c, "SERVICE"))
            expected = (want.replica_set, str(sts.spec.get("replicas")), want.headless)
            if got != expected:
                yield Violation("spec.template.spec.containers[0].env",
                                f"REPLICA_SET/MEMBERS/SERVICE {got}, expected {expected}",
                                subject=job.ref)


def check_mongo_security(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    found = pod_spec(obj)
    pod = (found[1].get("securityContext") or {}) if found else {}
    if pod.get("fsGroup") != plan.MONGO_UID:
        yield Violation("spec.template.spec.securityContext.fsGroup",
                        f"fsGroup {pod.get('fsGroup')}, expected {plan.MONGO_UID}")
    for path, c in containers(obj):
        user = (c.get("securityContext") or {}).get("runAsUser", pod.get("runAsUser"))
        if user != plan.MONGO_UID:
            yield Violation(f"{path}.securityContext.runAsUser",
                            f"runs as UID {user}, expected {plan.MONGO_UID}")


def _service_selects(svc: ManifestObject, obj: ManifestObject) -> bool:
    selector = svc.spec.get("selector")
    return bool(selector) and selector_matches({"matchLabels": selector}, pod_labels(obj))


def check_mongo_headless(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    planned = plan.MONGO.get(obj.name)
    named = obj.spec.get("serviceName")
    want = planned.headless if planned else str(named or "")
    if not want:
        yield Violation("spec.serviceName", "no serviceName: the members have no stable names")
        return
    if named != want:
        yield Violation("spec.serviceName",
                        f"serviceName {obj.spec.get('serviceName')!r}, expected {want!r}")
    svc = tree.find("Service", want)
    if svc is None:
        yield Violation("spec.serviceName", f"headless Service {want} is missing")
        return
    if svc.spec.get("clusterIP") != "None":
        yield Violation("spec.clusterIP", f"Service {want} is not headless", subject=svc.ref)
    if 27017 not in [p.get("port") for p in svc.spec.get("ports") or []]:
        yield Violation("spec.ports", f"Service {want} does not expose 27017", subject=svc.ref)
    if not _service_selects(svc, obj):
        yield Violation("spec.selector", f"Service {want} does not select {obj.name}'s pods",
                        subject=svc.ref)


def _peer_labels(peer: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if set(peer) != {"podSelector"}:
        return None
    labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
    return labels if labels else None


def _mongo_clients(obj: ManifestObject, tree: Tree) -> set[str]:
    """The `app` labels that may connect: the plan's clients, or for a database the plan does
    not name, the BFF and the backend wherever the tree runs them."""
    planned = plan.MONGO.get(obj.name)
    if planned is not None:
        return {*planned.clients, obj.name}
    return {str(labels.get("app")) for labels in roles.labels_of_role(tree, "bff", "backend")
            } | {str(pod_labels(obj).get("app") or obj.name)}


def check_mongo_isolation(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    allowed = {*_mongo_clients(obj, tree), *plan.MONGO_PEERS}
    selecting = [
        p for p in tree.of_kind("NetworkPolicy")
        if p.namespace == obj.namespace
        and selector_matches(p.spec.get("podSelector") or {}, pod_labels(obj))
        and "Ingress" in (p.spec.get("policyTypes") or ["Ingress"])
    ]
    if not selecting:
        yield Violation("spec.template.metadata.labels",
                        "no NetworkPolicy restricts ingress to this database")
    for pol in selecting:
        for i, rule in enumerate(pol.spec.get("ingress") or []):
            peers = rule.get("from")
            if not peers:
                yield Violation(f"spec.ingress[{i}].from", "admits traffic from anywhere",
                                subject=pol.ref)
                continue
            for j, peer in enumerate(peers):
                labels = _peer_labels(peer)
                if labels is None or labels.get("app") not in allowed:
                    yield Violation(f"spec.ingress[{i}].from[{j}]",
                                    f"admits {dict(peer)} to {obj.name}; only "
                                    f"{sorted(allowed)} may connect", subject=pol.ref)


# --- Application -----------------------------------------------------------

def _is_app(obj: ManifestObject) -> bool:
    return roles.app_role(obj) is not None


def _planned_app(obj: ManifestObject) -> plan.App:
    role = roles.app_role(obj)
    assert role is not None  # only applied to applications
    return plan.APPS[role]


def _main_container(obj: ManifestObject) -> tuple[str, Mapping[str, Any]] | None:
    found = containers(obj, init=False)
    named = [c for c in found if c[1].get("name") in (obj.name, roles.app_role(obj))]
    chosen = named or found
    return chosen[0] if chosen else None


def _probe_path(probe: Any) -> str | None:
    if not isinstance(probe, Mapping):
        return None
    path = get(probe, "httpGet.path")
    return str(path) if path is not None else None


def check_app_contract(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    want = _planned_app(obj)
    main = _main_container(obj)
    if main is None:
        yield Violation("spec.template.spec.containers", "no container")
        return
    path, c = main
    ports = {p.get("containerPort"): p.get("name") for p in c.get("ports") or []}
    if want.port not in ports:
        yield Violation(f"{path}.ports", f"container port {want.port} is not declared")
    for kind, expected in (("livenessProbe", want.liveness), ("readinessProbe", want.readiness)):
        probe = c.get(kind)
        got = _probe_path(probe)
        if got != expected:
            yield Violation(f"{path}.{kind}.httpGet.path",
                            f"{kind} probes {got!r}, the contract says GET {expected}")
            continue
        port = get(probe, "httpGet.port") if isinstance(probe, Mapping) else None
        if port not in (want.port, ports.get(want.port)):
            yield Violation(f"{path}.{kind}.httpGet.port",
                            f"{kind} probes port {port!r}, expected {want.port}")


def check_app_resources(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    want = _planned_app(obj)
    main = _main_container(obj)
    if main is None:
        return
    path, c = main
    for section, minimum in (("requests", want.memory_request), ("limits", want.memory_limit)):
        got = get(c, f"resources.{section}.memory")
        value = parse(got)
        if value is None or value < (parse(minimum) or 0):
            yield Violation(f"{path}.resources.{section}.memory",
                            f"memory {section[:-1]} {got}, the seed plans at least {minimum}")


def check_services(tree: Tree, s: Settings) -> Iterator[Violation]:
    deployments = {d.name: d for d in tree.of_kind("Deployment")}
    for name, want in plan.APPS.items():
        svc = tree.find("Service", name)
        subject = f"{tree.name}/Service/{name}"
        if svc is None:
            yield Violation("(object)", f"Service {name} (port {want.port}) is missing",
                            subject=subject)
            continue
        subject = svc.ref
        ports = [p.get("port") for p in svc.spec.get("ports") or []]
        if want.port not in ports:
            yield Violation("spec.ports", f"Service {name} exposes {ports}, expected {want.port}",
                            subject=subject)
        target = deployments.get(name)
        if target is None or not _service_selects(svc, target):
            yield Violation("spec.selector", f"Service {name} selects no {name} Deployment",
                            subject=subject)
        if want.session_affinity and svc.spec.get("sessionAffinity") != want.session_affinity:
            yield Violation("spec.sessionAffinity",
                            f"sessionAffinity {svc.spec.get('sessionAffinity')!r}, expected "
                            f"{want.session_affinity}", subject=subject)


def check_hpas(tree: Tree, s: Settings) -> Iterator[Violation]:
    hpas = {get(h.doc, "spec.scaleTargetRef.name"): h for h in
            tree.of_kind("HorizontalPodAutoscaler")
            if get(h.doc, "spec.scaleTargetRef.kind") == "Deployment"}
    for name in plan.APPS:
        hpa = hpas.get(name)
        if hpa is None:
            yield Violation("(object)", f"no HorizontalPodAutoscaler scales {name}",
                            subject=f"{tree.name}/HorizontalPodAutoscaler/{name}")
            continue
        low, high = hpa.spec.get("minReplicas", 1), hpa.spec.get("maxReplicas")
        if not (isinstance(low, int) and isinstance(high, int)
                and plan.HPA_MIN <= low <= high <= plan.HPA_MAX):
            yield Violation("spec.minReplicas", f"scales {low}-{high}, expected within "
                                                f"{plan.HPA_MIN}-{plan.HPA_MAX}", subject=hpa.ref)
        metrics = [get(m, "resource.name") for m in hpa.spec.get("metrics") or []]
        if "cpu" not in metrics:
            yield Violation("spec.metrics", "does not scale on CPU", subject=hpa.ref)


def _references(obj: ManifestObject) -> Iterator[tuple[str, str, str, str | None, bool]]:
    """(path, kind, name, key, optional) of every Secret/ConfigMap a workload uses."""
    found = pod_spec(obj)
    if found is None:
        return
    spec_path, spec = found
    for path, c in containers(obj):
        for i, e in enumerate(c.get("env") or []):
            for ref_key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = get(e, f"valueFrom.{ref_key}")
                if isinstance(ref, Mapping):
                    yield (f"{path}.env[{i}].valueFrom.{ref_key}", kind, str(ref.get("name")),
                           str(ref.get("key")), bool(ref.get("optional")))
        for i, e in enumerate(c.get("envFrom") or []):
            for ref_key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                ref = e.get(ref_key)
                if isinstance(ref, Mapping):
                    yield (f"{path}.envFrom[{i}].{ref_key}", kind, str(ref.get("name")), None,
                           bool(ref.get("optional")))
    for i, v in enumerate(spec.get("volumes") or []):
        if isinstance(v.get("secret"), Mapping):
            sec = v["secret"]
            for item in sec.get("items") or [None]:
                yield (f"{spec_path}.volumes[{i}].secret", "Secret", str(sec.get("secretName")),
                       item.get("key") if item else None, bool(sec.get("optional")))
        if isinstance(v.get("configMap"), Mapping):
            cm = v["configMap"]
            for item in cm.get("items") or [None]:
                yield (f"{spec_path}.volumes[{i}].configMap", "ConfigMap", str(cm.get("name")),
                       item.get("key") if item else None, bool(cm.get("optional")))


def check_references(obj: ManifestObject, tree: Tree, s: Settings) -> Iterator[Violation]:
    for path, kind, name, key, optional in _references(obj):
        if optional:
            continue
        target = next((o for o in tree.of_kind(kind) if o.name == name
                       and o.namespace == obj.namespace), None)
        if target is None:
            if kind == "Secret" and name in tree.documented_secrets:
                continue
            where = ("neither defined in this tree nor documented (a SECRETS.md at the "
                     "manifests root or Markdown beside the overlay)"
                     if kind == "Secret" else "not defined in this tree")
            yield Violation(path, f"{kind} {name!r} is {where}")
            continue
        keys = {*(target.doc.get("data") or {}), *(target.doc.get("stringData") or {}),
                *(target.doc.get("binaryData") or {})}
        if key is not None and UNKNOWN_KEYS_MARKER not in keys and key not in keys:
            yield Violation(path, f"{kind} {name!r} has no key {key!r}")


def check_inventory(tree: Tree, s: Settings) -> Iterator[Violation]:
    for kind, name in plan.INVENTORY:
        present = (any(True for _ in tree.of_kind(kind)) if name is None
                   else tree.find(kind, name) is not None)
        if not present:
            what = f"{kind} {name}" if name else f"an {kind}"
            yield Violation("(object)", f"the overlay has no {what}",
                            subject=f"{tree.name}/{kind}/{name or '(any)'}")


def check_nfs_values(tree: Tree, s: Settings) -> Iterator[Violation]:
    subject = f"{tree.name}/HelmValues/{plan.NFS_VALUES_FILE}"
    if tree.root is None:
        raise NotApplicable("no manifests root: the Helm values file cannot be located")
    file = tree.root / plan.NFS_VALUES_FILE
    if not file.is_file():
        yield Violation("(file)", f"{plan.NFS_VALUES_FILE} is missing", subject=subject)
        return
    values = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    for dotted, want in plan.NFS_VALUES.items():
        got = get(values, dotted)
        if got != want:
            yield Violation(dotted, f"{dotted} is {got!r}, the seed plans {want!r}",
                            subject=subject)


def _rule(rule_id: str, title: str, hint: str, check: Any, applies: Any) -> ObjectRule:
    return ObjectRule(_info(rule_id, title, hint), applies, check)


def _tree(rule_id: str, title: str, hint: str, check: Any, applies: Any) -> TreeRule:
    return TreeRule(_info(rule_id, title, hint), check, applies)


def _is_ingress(obj: ManifestObject) -> bool:
    return obj.kind == "Ingress"


def _has_apps(tree: Tree) -> bool:
    return any(d.name in plan.APPS for d in tree.of_kind("Deployment"))


def _has_mongo(tree: Tree) -> bool:
    return any(_is_mongo(o) for o in tree.objects)


def _nfs_class(obj: ManifestObject) -> bool:
    return obj.kind == "StorageClass" and obj.name in plan.NFS_STORAGE_CLASSES


RULES: list[ObjectRule | TreeRule] = [
    _rule("PLAN-INGRESS-TLS", "Ingress terminates TLS with the overlay's secret",
          "add spec.tls covering every host with secretName vinylvault-<env>-tls",
          check_ingress_tls, _is_ingress),
    _rule("PLAN-INGRESS-ISSUER", "Ingress asks cert-manager for its certificate",
          "annotate cert-manager.io/cluster-issuer: letsencrypt-prod",
          check_ingress_issuer, _is_ingress),
    _rule("PLAN-INGRESS-CLASS", "Ingress uses Traefik's websecure entrypoint",
          "set ingressClassName: traefik and router.entrypoints: websecure",
          check_ingress_class, _is_ingress),
    _rule("PLAN-INGRESS-HOST", "Ingress host matches the overlay",
          "set the overlay's host in spec.rules[].host and spec.tls[].hosts",
          check_ingress_host, _is_ingress),
    _rule("PLAN-INGRESS-PATHS", "Ingress routes the contract's paths",
          "route /auth /graphql /webhook /health to bff:3000, / to frontend:80, nothing to backend",
          check_ingress_paths, _is_ingress),
    _rule("PLAN-STORAGECLASS", "NFS StorageClass retains and archives volumes",
          "reclaimPolicy: Retain, archiveOnDelete: \"true\", a pathPattern, the NFS provisioner",
          check_storage_class, _nfs_class),
    _rule("PLAN-MONGO-STORAGE", "Mongo volumes are on the NFS class with Retain",
          "storageClassName: nfs-mongodb (reclaimPolicy Retain)", check_mongo_storage, _is_mongo),
    advice(_rule("PLAN-MONGO-SIZE", "Mongo volumes have the seed's size for the environment",
          "set volumeClaimTemplates[].spec.resources.requests.storage", check_mongo_size,
          _is_mongo)),
    _rule("PLAN-MONGO-REPLSET", "Mongo runs the planned replica set with 3 members",
          "args: [--replSet, rs-bff|rs-backend, ...] and replicas: 3",
          check_mongo_replica_set, _is_mongo),
    _tree("PLAN-MONGO-RS-INIT", "Each replica set has an init Job with matching settings",
          "add a Job running the idempotent rs-init script with REPLICA_SET/MEMBERS/SERVICE",
          check_rs_init, _has_mongo),
    _rule("PLAN-MONGO-SECURITY", "Mongo runs as UID 999 with fsGroup 999",
          "set securityContext fsGroup: 999 and runAsUser: 999", check_mongo_security, _is_mongo),
    _rule("PLAN-MONGO-HEADLESS", "Mongo has its headless Service",
          "add <name>-headless with clusterIP: None on 27017; set spec.serviceName",
          check_mongo_headless, _is_mongo),
    _rule("PLAN-MONGO-ISOLATION", "Only the BFF or backend reach their Mongo",
          "limit the NetworkPolicy's ingress to pods of the client app and the members",
          check_mongo_isolation, _is_mongo),
    _rule("PLAN-APP-CONTRACT", "Deployments have the contract's ports and probes",
          "frontend :80 GET /, bff :3000 /health + /ready, backend :4000 /health",
          check_app_contract, _is_app),
    advice(_rule("PLAN-APP-RESOURCES", "Deployments have at least the seed's memory",
          "backend/bff 256Mi-512Mi, frontend 128Mi-256Mi (or more)", check_app_resources,
          _is_app)),
    _tree("PLAN-SERVICES", "The contract's Services exist",
          "add Services frontend:80, bff:3000 (sessionAffinity ClientIP), backend:4000",
          check_services, _has_apps),
    advice(_tree("PLAN-HPA", "Each app Deployment has an HPA of 2-4 replicas on CPU",
          "add an autoscaling/v2 HPA with minReplicas >= 2, maxReplicas <= 4, CPU metric",
          check_hpas, _has_apps)),
    _rule("PLAN-REFERENCES", "Workloads use only Secrets and ConfigMaps that exist",
          "define it in the overlay (generator) or document it: a SECRETS.md table at the "
          "manifests root, or `kubectl create secret` in Markdown beside the overlay",
          check_references, is_workload),
    _tree("PLAN-INVENTORY", "The overlay holds every workload and the Ingress the plan names",
          "add the missing object (Deployments backend/bff/frontend, StatefulSets "
          "mongodb-bff/mongodb-backend, an Ingress)", check_inventory,
          lambda tree: tree.name != "storage"),
    _tree("PLAN-NFS-VALUES", "NFS provisioner Helm values match the seed",
          "server 192.168.1.5, path /volume1/k8s-storage, Retain, archiveOnDelete, pathPattern",
          check_nfs_values, lambda tree: tree.name == "storage"),
]
