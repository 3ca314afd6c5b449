"""Sessions the BFF created for the suite's anonymous requests, found and removed at the end.

The OAuth start stores its state in one. On a read-only target, or one whose store the suite
cannot reach, the store's TTL index removes them within a day.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.identity.synthetic_users import NAME_PREFIX
from vvgate.mongo.access import MongoAccess
from vvgate.targets.profile import Profile
from vvgate.targets.secret_store import SecretStore


def sessions_set(set_cookies: Iterable[str]) -> set[str]:
    """Session ids of cookies the target set during a check, other than the suite's own."""
    found = set()
    for value in set_cookies:
        name, _, raw = value.split(";")[0].partition("=")
        if name.strip() != COOKIE_NAME or not raw:
            continue
        sid = urllib.parse.unquote(raw).removeprefix("s:").rpartition(".")[0]
        if sid and not sid.startswith(NAME_PREFIX):
            found.add(sid)
    return found


def remove(profile: Profile, secrets: SecretStore, stray: set[str]) -> None:
    if not stray or profile.production or profile.mongodb is None:
        return
    access = MongoAccess(profile, secrets)
    try:
        access.sessions.delete_many({"_id": {"$in": sorted(stray)}})
    finally:
        access.close()
