"""Mongo documents -> GraphQL objects."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from reference.backend.record_ids import record_id

Doc = dict[str, Any]


def iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        stamp: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return stamp.isoformat().replace("+00:00", "Z")
    return None if value is None else str(value)  # already a string or a number


def user(doc: Doc | None, private: bool = True) -> Doc | None:
    """A user; with private=False (someone else looking) without email and settings."""
    if doc is None:
        return None
    settings = doc.get("settings") or {}
    out = {
        "id": str(doc["_id"]),
        "githubId": None if doc.get("githubId") is None else str(doc["githubId"]),
        "githubLogin": doc.get("githubLogin", ""),
        "displayName": doc.get("displayName"),
        "avatarUrl": doc.get("avatarUrl"),
        "email": doc.get("email"),
        "settings": {
            "spotifyPreview": bool(settings.get("spotifyPreview", False)),
            "allowFriendInvites": bool(settings.get("allowFriendInvites", True)),
        },
        "createdAt": iso(doc.get("createdAt")),
        "updatedAt": iso(doc.get("updatedAt")),
    }
    if not private:
        out["email"] = None
        out["settings"] = None
    return out


def tenant(doc: Doc, role: str | None) -> Doc:
    return {
        "id": doc["tenantId"],
        "tenantId": doc["tenantId"],
        "name": doc.get("name", doc["tenantId"]),
        "type": doc.get("tenantType", "USER"),
        "role": role,
    }


def release(doc: Doc | None) -> Doc | None:
    if doc is None:
        return None
    return {
        "id": str(doc["_id"]),
        "barcode": doc.get("barcode"),
        "artist": doc.get("artist"),
        "title": doc.get("title"),
        "genre": doc.get("genre"),
        "source": doc.get("source"),
        "createdAt": iso(doc.get("createdAt")),
    }


def record(doc: Doc, release_doc: Doc | None) -> Doc:
    return {
        "id": record_id(doc["_id"]),
        "release": release(release_doc),
        "purchaseDate": iso(doc.get("purchaseDate")),
        "price": doc.get("price"),
        "condition": doc.get("condition"),
        "location": doc.get("location"),
        "notes": doc.get("notes"),
        "createdAt": iso(doc.get("createdAt")),
        "updatedAt": iso(doc.get("updatedAt")),
    }


def cursor(oid: Any) -> str:
    return base64.b64encode(f"record:{oid}".encode()).decode()


def uncursor(value: str) -> str | None:
    try:
        text = base64.b64decode(value.encode(), validate=True).decode()
    except ValueError:
        return None
    return text.removeprefix("record:") if text.startswith("record:") else None
