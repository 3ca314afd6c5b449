"""express-session + connect-mongo, as far as the wire and the store can tell.

Store documents are `{_id: sid, expires: Date, session: "<JSON>"}` in vinylvault_bff.sessions;
cookies are `vinylvault.sid=s:<sid>.<sig>` signed with SESSION_SECRET (reference.signing).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

from pymongo.collection import Collection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from reference import faults, signing

COOKIE_NAME = "vinylvault.sid"
MAX_AGE = dt.timedelta(hours=24)


def _js_date(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Session:
    sid: str
    data: dict[str, Any]
    expires: dt.datetime
    is_new: bool = False
    extra_cookies: list[str] = field(default_factory=list)

    @property
    def user(self) -> dict[str, Any] | None:
        user = self.data.get("user")
        return user if isinstance(user, dict) and user.get("id") else None


class SessionStore:
    def __init__(self, collection: Collection[Any], secret: str) -> None:
        self._col = collection
        self._secret = secret

    def _cookie_flags(self) -> str:
        # Fault weak-cookie drops HttpOnly, so page scripts could read the session id.
        http_only = "" if faults.active("weak-cookie") else "; HttpOnly"
        # Fault insecure-cookie: the cookie may travel over plain HTTP.
        secure = "" if faults.active("insecure-cookie") else "; Secure"
        # Fault cookie-samesite-none: the cookie rides along on cross-site requests (CSRF).
        same_site = "None" if faults.active("cookie-samesite-none") else "Lax"
        return f"{http_only}{secure}; SameSite={same_site}"

    @staticmethod
    def _cookie_path() -> str:
        # Fault cookie-path: the browser would not send the session to /graphql.
        return "/auth" if faults.active("cookie-path") else "/"

    def new(self) -> Session:
        expires = dt.datetime.now(dt.UTC) + MAX_AGE
        data = {"cookie": {
            "originalMaxAge": int(MAX_AGE.total_seconds() * 1000),
            "expires": _js_date(expires),
            "secure": not faults.active("insecure-cookie"),
            "httpOnly": not faults.active("weak-cookie"),
            "path": self._cookie_path(),
            "sameSite": "none" if faults.active("cookie-samesite-none") else "lax",
        }}
        return Session(secrets.token_urlsafe(24), data, expires, is_new=True)

    async def load(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        sid = signing.unsign_cookie(raw, self._secret)
        if sid is None and faults.active("unsigned-cookie"):
            # Fault: whatever follows `s:` up to the last dot is taken as the id, unverified.
            sid = signing.cookie_sid(raw)
        if sid is None:
            return None
        query: dict[str, Any] = {"_id": sid}
        if not faults.active("expired-session"):
            # The TTL monitor runs only once a minute: expired documents must be ignored here.
            query["expires"] = {"$gt": dt.datetime.now(dt.UTC)}
        doc = await run_in_threadpool(self._col.find_one, query)
        if doc is None:
            return None
        try:
            data = json.loads(doc["session"])
        except (ValueError, TypeError, KeyError):
            return None
        expires = doc["expires"]
        # format_datetime(usegmt=True) insists on datetime.UTC itself, not an equal offset.
        expires = (expires.replace(tzinfo=dt.UTC) if expires.tzinfo is None
                   else expires.astimezone(dt.UTC))
        return Session(sid, data if isinstance(data, dict) else {}, expires)

    async def save(self, session: Session) -> str:
        """Persist the session; returns the Set-Cookie header value that goes with it."""
        doc = {"_id": session.sid, "expires": session.expires,
               "session": json.dumps(session.data, separators=(",", ":"))}
        await run_in_threadpool(self._col.replace_one, {"_id": session.sid}, doc, upsert=True)
        return (f"{COOKIE_NAME}={signing.sign_sid(session.sid, self._secret)}; "
                f"Path={self._cookie_path()}; "
                f"Expires={format_datetime(session.expires.astimezone(dt.UTC), usegmt=True)}"
                f"{self._cookie_flags()}")

    def sign(self, value: str) -> str:
        return signing.sign_sid(value, self._secret)

    def unsign(self, raw: str) -> str | None:
        return signing.unsign_cookie(raw, self._secret)

    async def renew(self, session: Session) -> str:
        """Extend the session by its full lifetime (express-session `rolling`)."""
        session.expires = dt.datetime.now(dt.UTC) + MAX_AGE
        cookie = session.data.get("cookie")
        if isinstance(cookie, dict):
            cookie["expires"] = _js_date(session.expires)
        return await self.save(session)

    async def destroy(self, session: Session | None) -> str:
        # Fault logout-noop: the browser forgets the cookie, but a copied cookie still works.
        if session is not None and not faults.active("logout-noop"):
            await run_in_threadpool(self._col.delete_one, {"_id": session.sid})
        return (f"{COOKIE_NAME}=; Path={self._cookie_path()}; "
                "Expires=Thu, 01 Jan 1970 00:00:00 GMT"
                f"{self._cookie_flags()}")
