"""What a workload is, told by what it runs and serves, never by what it is called.

A real tree may name its database StatefulSet `mongodb` instead of the plan's `mongodb-bff`
and `mongodb-backend`, or its BFF `api`; the rules that judge a database or an application
find it here, so a defect is caught whatever the object's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vvgate.rules.manifest import plan_expectations as plan
from vvgate.rules.manifest.workload import containers, pod_labels
from vvgate.rules.model import ManifestObject, Tree

# The official image and the maintained community ones (Bitnami, Percona, MongoDB's own).
MONGO_IMAGE = re.compile(
    r"(^|/)(mongo|mongodb|mongodb-community-server|mongodb-enterprise-server|"
    r"percona-server-mongodb)(:|@|$)")
APP_ROLES = tuple(plan.APPS)  # frontend, bff, backend
MONGO_ROLE = "mongodb"


def image_name(container: Mapping[str, Any]) -> str:
    return str(container.get("image") or "")


def command_words(container: Mapping[str, Any]) -> list[str]:
    return [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]


def runs_mongod(container: Mapping[str, Any]) -> bool:
    """A container that runs the database server itself: a Mongo image whose command, if it
    names one, is mongod (not a shell, mongosh or a tool that the same image ships)."""
    command = [str(w) for w in container.get("command") or []]
    if command:
        return command[0].rsplit("/", 1)[-1] == "mongod"
    if not MONGO_IMAGE.search(image_name(container)):
        return False
    args = [str(w) for w in container.get("args") or []]
    # The entrypoint runs mongod when the arguments are flags or start with `mongod`.
    return not args or args[0].startswith("-") or args[0].rsplit("/", 1)[-1] == "mongod"


def mongod_containers(obj: ManifestObject) -> list[tuple[str, Mapping[str, Any]]]:
    return [(p, c) for p, c in containers(obj, init=False) if runs_mongod(c)]


def is_mongo(obj: ManifestObject) -> bool:
    return obj.kind == "StatefulSet" and bool(mongod_containers(obj))


def app_role(obj: ManifestObject) -> str | None:
    """frontend, bff or backend: by the image's repository name, else by the one contract port
    the main container serves; None for anything else."""
    if obj.kind != "Deployment":
        return None
    found = containers(obj, init=False)
    for _, c in found:
        repository = image_name(c).rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        for role in APP_ROLES:
            if repository == role or repository.endswith(f"-{role}"):
                return role
    ports = {p.get("containerPort") for _, c in found for p in c.get("ports") or []}
    served = [role for role in APP_ROLES if plan.APPS[role].port in ports]
    return served[0] if len(served) == 1 else None


def role_of(obj: ManifestObject) -> str | None:
    return MONGO_ROLE if is_mongo(obj) else app_role(obj)


def workloads_with_role(tree: Tree, *roles: str) -> list[ManifestObject]:
    return [o for o in tree.objects if role_of(o) in roles]


def labels_of_role(tree: Tree, *roles: str) -> list[Mapping[str, Any]]:
    return [pod_labels(o) for o in workloads_with_role(tree, *roles)]
