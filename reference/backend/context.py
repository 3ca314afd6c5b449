"""Who is calling the backend, and the authorization checks every resolver shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from graphql import GraphQLError
from pymongo import MongoClient
from pymongo.database import Database

from reference import faults
from reference.backend import dialect_data
from reference.tenancy import REGISTRY_DB, WRITER_ROLES, tenant_database

Doc = dict[str, Any]


def unauthenticated() -> GraphQLError:
    return GraphQLError("Not authenticated", extensions={"code": "UNAUTHENTICATED"})


def forbidden(message: str = "Forbidden") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def object_id(value: str) -> ObjectId:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise bad_input(f"invalid id {value!r}") from None


@dataclass
class Context:
    client: MongoClient  # type: ignore[type-arg]
    claims: dict[str, Any] | None
    # The tenant databases' server, where it is named apart from the registry's (a pod's
    # MONGODB_URI_BASE); else the registry's client serves them too.
    tenants: MongoClient | None = None  # type: ignore[type-arg]

    @property
    def registry(self) -> Database:  # type: ignore[type-arg]
        return self.client[REGISTRY_DB]

    def tenant_db(self, tenant_id: str) -> Database:  # type: ignore[type-arg]
        name = tenant_database(tenant_id)
        if faults.active("tenant-db-name"):
            # Fault: data follows whatever name the registry recorded for the tenant.
            doc = self.registry.tenants.find_one({"tenantId": tenant_id}, {"databaseName": 1})
            name = str((doc or {}).get("databaseName") or name)
        db = (self.tenants or self.client)[name]
        dialect_data.prepare_tenant(db)
        return db

    @property
    def service(self) -> bool:
        return bool(self.claims and self.claims.get("svc") == "bff")

    def user_id(self) -> ObjectId:
        """The authenticated user's id; refuses anonymous callers."""
        if not self.claims or self.service or not self.claims.get("sub"):
            raise unauthenticated()
        return object_id(str(self.claims["sub"]))

    def role_in(self, tenant_id: str) -> str | None:
        uid = self.user_id()
        if faults.active("no-revocation") and tenant_id == self.claims_tenant():
            # Fault: believe the role the session carried when the JWT was minted.
            claimed = self.claims.get("tenantRole") if self.claims else None
            if claimed:
                return str(claimed)
        doc = self.registry.user_tenant_roles.find_one({"userId": uid, "tenantId": tenant_id})
        return str(doc["role"]) if doc else None

    def claims_tenant(self) -> str | None:
        tenant = self.claims.get("tenantId") if self.claims else None
        return str(tenant) if tenant else None

    def active_tenant(self, writers: bool = False) -> tuple[str, str]:
        """(tenantId, role) of the session's active tenant, checked against the registry."""
        self.user_id()
        tenant_id = self.claims_tenant()
        if not tenant_id:
            raise forbidden("No active tenant")
        role = self.role_in(tenant_id)
        if role is None:
            raise forbidden("Not a member of the active tenant")
        # Fault viewer-writes: any role may write, so a friend's VIEWER can change records.
        if writers and role not in WRITER_ROLES and not faults.active("viewer-writes"):
            raise forbidden("Member or Admin role required for this operation")
        return tenant_id, role
