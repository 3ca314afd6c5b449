"""The backend's data-layout dialects: indexes and collections a correct deployment may add.

extra-unique-indexes: a tenant database gets its unique indexes the first time this process
touches it (as an application that prepares a database handle lazily does), so anything
written there afterwards meets them. extra-collections: an audit trail per tenant and in the
registry, and feature flags in the registry.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import PyMongoError

from reference import dialects

log = logging.getLogger("vinylvault.backend")
_PREPARED: set[str] = set()
_LOCK = threading.Lock()
# The embedded database's findAndModify upsert is not atomic across connections (two creates
# at once both got recordNo 1); one backend process serialises its own increments.
_COUNTER_LOCK = threading.Lock()


def prepare_tenant(db: Database) -> None:  # type: ignore[type-arg]
    if not dialects.active("extra-unique-indexes"):
        return
    with _LOCK:
        if db.name in _PREPARED:
            return
        _PREPARED.add(db.name)
    indexes: tuple[tuple[str, str, bool], ...] = (("releases", "externalId", False),
                                                   ("records", "recordNo", True))
    for collection, key, sparse in indexes:
        try:
            db[collection].create_index(key, unique=True, sparse=sparse)
        except PyMongoError as exc:  # data older than the index: the app carries on without it
            log.warning("tenant %s: index on %s.%s not made: %s", db.name, collection, key, exc)


def prepare_registry(db: Database) -> None:  # type: ignore[type-arg]
    if dialects.active("extra-unique-indexes"):
        db.users.create_index("email", unique=True, sparse=True)
    if dialects.active("extra-collections"):
        db.feature_flags.update_one({"_id": "spotify-preview"}, {"$setOnInsert": {"on": False}},
                                    upsert=True)


def next_record_no(db: Database) -> int | None:  # type: ignore[type-arg]
    if not dialects.active("extra-unique-indexes"):
        return None
    with _COUNTER_LOCK:
        counter = db.counters.find_one_and_update(
            {"_id": "recordNo"}, {"$inc": {"value": 1}}, upsert=True,
            return_document=ReturnDocument.AFTER)
    return int((counter or {}).get("value", 1))


def audit(db: Database, action: str, **details: Any) -> None:  # type: ignore[type-arg]
    """One audit entry: in a tenant database (`audit`) or in the registry (`audit_log`)."""
    if not dialects.active("extra-collections"):
        return
    collection = "audit_log" if db.name.endswith("registry") else "audit"
    db[collection].insert_one({"action": action, "at": dt.datetime.now(dt.UTC), **details})
