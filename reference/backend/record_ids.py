"""Record ids as the API shows them: ObjectId hex, or opaque global ids in that dialect."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from reference import dialects

GLOBAL_PREFIX = "Record:"


def record_id(oid: Any) -> str:
    """A record's id as the API shows it."""
    if dialects.active("global-ids"):
        return base64.b64encode(f"{GLOBAL_PREFIX}{oid}".encode()).decode()
    return str(oid)


def parse_record_id(value: Any) -> str | None:
    """The hex id behind what a caller sent: a global id in that dialect, else the hex itself."""
    if value is None or not dialects.active("global-ids"):
        return None if value is None else str(value)
    try:
        text = base64.b64decode(str(value).encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text.removeprefix(GLOBAL_PREFIX) if text.startswith(GLOBAL_PREFIX) else None
