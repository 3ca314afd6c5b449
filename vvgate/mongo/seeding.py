"""Inserts of synthetic data that respect the target's own unique indexes.

A correct deployment may keep unique indexes the suite knows nothing of (an external id on
releases, an e-mail on users). Before each insert the collection's index specifications are
read, and every unique key the document leaves unset gets a value unique to the run, so two
synthetic documents never collide on a key the application cares about. A write that still
fails is set-up that could not be carried out: the check is inconclusive, and the message
names the operation and the index.
"""

from __future__ import annotations

import itertools
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from vvgate.gates.inconclusive import inconclusive

_SERIAL = itertools.count(1)


def _has(doc: dict[str, Any], path: str) -> bool:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return node is not None


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def unique_keys(collection: Collection[Any]) -> list[tuple[str, list[str]]]:
    """(index name, key paths) of every unique index but `_id`'s."""
    out = []
    for index in collection.list_indexes():
        if index.get("unique") and index.get("name") != "_id_":
            out.append((str(index["name"]), [k for k in index["key"] if not k.startswith("$")]))
    return out


def fill_unique_keys(collection: Collection[Any], doc: dict[str, Any], token: str) -> None:
    for _, paths in unique_keys(collection):
        for path in paths:
            if not _has(doc, path):
                _set(doc, path, f"{token}-{path}-{next(_SERIAL)}")


def insert(collection: Collection[Any], doc: dict[str, Any], token: str, what: str) -> None:
    """Insert `doc` (the synthetic `what`), or stop the check as inconclusive."""
    where = f"{collection.database.name}.{collection.name}"
    try:
        fill_unique_keys(collection, doc, token)
        collection.insert_one(doc)
    except DuplicateKeyError as exc:
        details = exc.details or {}
        index = details.get("keyPattern") or details.get("errmsg", str(exc))[:200]
        inconclusive(f"set-up could not insert {what} into {where}: unique index {index} "
                     f"refused it ({details.get('keyValue')})")
    except PyMongoError as exc:
        inconclusive(f"set-up could not insert {what} into {where}: {exc}")


def upsert(collection: Collection[Any], query: dict[str, Any], update: dict[str, Any],
           token: str, what: str) -> None:
    """An upsert whose inserted document also gets run-unique values for unique keys."""
    where = f"{collection.database.name}.{collection.name}"
    try:
        if collection.find_one(query, {"_id": 1}) is None:
            doc: dict[str, Any] = {**query, **update.get("$set", {}),
                                   **update.get("$setOnInsert", {})}
            fill_unique_keys(collection, doc, token)
            collection.insert_one(doc)
        else:
            collection.update_one(query, {"$set": update.get("$set", {})})
    except DuplicateKeyError as exc:
        details = exc.details or {}
        inconclusive(f"set-up could not write {what} into {where}: unique index "
                     f"{details.get('keyPattern')} refused it ({details.get('keyValue')})")
    except PyMongoError as exc:
        inconclusive(f"set-up could not write {what} into {where}: {exc}")
