"""Sessions the BFF created for the suite's anonymous requests, found and removed at the end.

The OAuth start stores its state in one. Where the suite may write to the session store, the
documents are deleted; elsewhere (production, or a store the profile gives no access to) each
is ended the way a browser ends it, by POST /auth/logout with its own cookie, so no run leaves
sessions behind there either. A run killed before its end leaves them to the store's TTL index.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable

from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.identity.synthetic_users import NAME_PREFIX
from vvgate.mongo.access import MongoAccess
from vvgate.targets.profile import Profile
from vvgate.targets.secret_store import SecretStore

LOGOUT_PATH = "/auth/logout"
# Logout answers 200 {"success": true} (contract section 2).
LOGGED_OUT = 200


def sessions_set(set_cookies: Iterable[str]) -> dict[str, str]:
    """Session id -> cookie value of each session cookie the target set during the run,
    other than the suite's own (forged ones carry its name prefix)."""
    found = {}
    for value in set_cookies:
        name, _, raw = value.split(";")[0].partition("=")
        if name.strip() != COOKIE_NAME or not raw:
            continue
        sid = urllib.parse.unquote(raw).removeprefix("s:").rpartition(".")[0]
        if sid and not sid.startswith(NAME_PREFIX):
            found[sid] = raw
    return found


def remove(profile: Profile, secrets: SecretStore, stray: dict[str, str],
           logout: Callable[[str], int]) -> str | None:
    """End the stray sessions; returns a note for the run (None when there were none).

    `logout(cookie_header)` sends POST /auth/logout with that cookie and returns its status.
    """
    if not stray:
        return None
    if not profile.production and profile.mongodb is not None:
        access = MongoAccess(profile, secrets)
        try:
            deleted = access.sessions.delete_many({"_id": {"$in": sorted(stray)}}).deleted_count
        finally:
            access.close()
        return (f"stray sessions: the target made {len(stray)} for the run's anonymous "
                f"requests; {deleted} deleted from the session store")
    ended = sum(1 for raw in stray.values()
                if logout(f"{COOKIE_NAME}={raw}") == LOGGED_OUT)
    left = len(stray) - ended
    tail = f"; {left} left to the store's TTL" if left else ""
    return (f"stray sessions: the target made {len(stray)} for the run's anonymous requests; "
            f"{ended} ended by POST {LOGOUT_PATH}{tail}")
