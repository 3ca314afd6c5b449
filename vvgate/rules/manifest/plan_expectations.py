"""What the seed plan and the contract expect, as data (seed plan phases 0-5, contract §1, §7).

Values the real application differs on (the staging host) come from the target
profile for the tree it deploys; these are the seed's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vvgate.rules.model import Settings


@dataclass(frozen=True)
class Environment:
    namespace: str
    host: str
    tls_secret: str
    issuer: str
    # Per-member volume size of each Mongo StatefulSet (seed plan, phase 3).
    mongo_storage: tuple[tuple[str, str], ...]
    # The local cluster's MongoDB is SecantusDB (reference/mongo_entry.py), which has no
    # multi-member replica sets: one standalone member per StatefulSet, and an init Job that
    # checks that member instead of initiating a set (manifests/README.md, "The local
    # overlay"). No seed environment has this.
    single_member_mongo: bool = False
    # Registries this overlay's images may come from beyond the profile's: the local
    # cluster's node imports the reference image as vvgate.local/ (no registry serves it).
    image_registries: tuple[str, ...] = ()


PRODUCTION_ISSUER = "letsencrypt-prod"

SEED_ENVIRONMENTS = {
    "staging": Environment(
        "vinylvault-staging", "vinylvault.antisozializer.org", "vinylvault-staging-tls",
        PRODUCTION_ISSUER, (("mongodb-bff", "10Gi"), ("mongodb-backend", "50Gi")),
    ),
    "production": Environment(
        "vinylvault-production", "vinylvault.loitzl.com", "vinylvault-production-tls",
        PRODUCTION_ISSUER, (("mongodb-bff", "20Gi"), ("mongodb-backend", "100Gi")),
    ),
    # The project's own overlay for the local Kubernetes API; not part of the seed.
    "local": Environment(
        "vinylvault-local", "vinylvault.local.test", "vinylvault-local-tls",
        "vinylvault-local-ca", (("mongodb-bff", "10Gi"), ("mongodb-backend", "50Gi")),
        single_member_mongo=True, image_registries=("vvgate.local/",),
    ),
}

NFS_STORAGE_CLASSES = ("nfs-mongodb", "nfs-client")
NFS_PROVISIONER = "nfs-subdir-external-provisioner"
MONGO_UID = 999


@dataclass(frozen=True)
class Mongo:
    replica_set: str | None  # None: a standalone member (Environment.single_member_mongo)
    members: int
    headless: str
    clients: tuple[str, ...]


MONGO = {
    "mongodb-bff": Mongo("rs-bff", 3, "mongodb-bff-headless", ("bff",)),
    "mongodb-backend": Mongo("rs-backend", 3, "mongodb-backend-headless", ("backend",)),
}
# Pods besides the clients that may open 27017: the members themselves and the rs-init Job.
MONGO_PEERS = ("mongodb-rs-init",)


@dataclass(frozen=True)
class App:
    port: int
    liveness: str
    readiness: str
    memory_request: str
    memory_limit: str
    session_affinity: str | None = None


APPS = {
    "frontend": App(80, "/", "/", "128Mi", "256Mi"),
    "bff": App(3000, "/health", "/ready", "256Mi", "512Mi", "ClientIP"),
    "backend": App(4000, "/health", "/health", "256Mi", "512Mi"),
}
HPA_MIN, HPA_MAX = 2, 4

# What every overlay must hold, so that no rule passes merely because its object is absent.
INVENTORY: tuple[tuple[str, str | None], ...] = (
    *(("Deployment", name) for name in ("backend", "bff", "frontend")),
    *(("StatefulSet", name) for name in ("mongodb-bff", "mongodb-backend")),
    ("Ingress", None),
)

# Contract §1: these prefixes go to the BFF, everything else to the frontend.
INGRESS_ROUTES = {"/auth": "bff", "/graphql": "bff", "/webhook": "bff", "/health": "bff",
                  "/": "frontend"}
INGRESS_CLASS = "traefik"
INGRESS_ENTRYPOINT = "websecure"
ENTRYPOINTS_ANNOTATION = "traefik.ingress.kubernetes.io/router.entrypoints"
ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"

# Phase 0.2: the Helm values of nfs-subdir-external-provisioner.
NFS_VALUES_FILE = "storage/nfs-provisioner-values.yaml"
NFS_VALUES: dict[str, object] = {
    "nfs.server": "192.168.1.5",
    "nfs.path": "/volume1/k8s-storage",
    "storageClass.reclaimPolicy": "Retain",
    "storageClass.archiveOnDelete": True,
    "storageClass.pathPattern": "${.PVC.namespace}/${.PVC.name}",
}

# Overlay consistency: the only fields staging and production may differ in.
PROMOTION_IMAGE_TAG = "latest-staging"


def profile_overlay(tree_names: list[str], kind: str, name: str) -> str | None:
    """Which tree a profile deploys: the overlay named for its kind (as the deployment fixture
    picks it), else the one named like the profile, else the only tree there is, unless
    that one is named for another kind (a staging profile checking the production overlay
    holds it to production's values)."""
    for wanted in (kind, name):
        if wanted in tree_names:
            return wanted
    if len(tree_names) == 1 and tree_names[0] not in SEED_ENVIRONMENTS:
        return tree_names[0]
    return None


def environment(tree_name: str, settings: Settings) -> Environment | None:
    """The expectations for an overlay: the seed's, and for the tree the profile deploys, the
    profile's host, namespace and issuer, whatever the tree is called."""
    seed = SEED_ENVIRONMENTS.get(tree_name)
    if settings.profile_overlay != tree_name:
        return seed
    base = seed or SEED_ENVIRONMENTS.get(settings.profile_kind or "")
    if base is None:
        return None
    return replace(
        base,
        host=settings.host or base.host,
        namespace=settings.namespace or base.namespace,
        issuer=settings.cluster_issuer or base.issuer,
    )


def planned_mongo(name: str, tree_name: str, settings: Settings) -> Mongo | None:
    """The plan's replica set for the StatefulSet `name`, as the overlay must run it: in the
    local overlay one standalone member (SecantusDB), everywhere else the seed's set."""
    want = MONGO.get(name)
    env = environment(tree_name, settings)
    if want is None or env is None or not env.single_member_mongo:
        return want
    return replace(want, replica_set=None, members=1)


def allowed_registries(tree_name: str, settings: Settings) -> tuple[str, ...]:
    """The profile's image registries, and for the local overlay its node's own."""
    env = environment(tree_name, settings)
    extra = env.image_registries if env is not None else ()
    return tuple(dict.fromkeys(settings.image_registries + extra))


def storage_classes(settings: Settings) -> tuple[str, ...]:
    extra = (settings.storage_class,) if settings.storage_class else ()
    return tuple(dict.fromkeys(NFS_STORAGE_CLASSES + extra))
