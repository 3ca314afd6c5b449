"""Signing in end to end (contract §3, §6), where the profile names an OAuth stand-in.

The checks in test_oauth.py stop where GitHub would take over. With a stand-in the suite
signs in for real: the callback exchanges the code, and what a browser holds afterwards is
judged. A signed-in session must live under a new id, so one planted in the browser before
sign-in (session fixation) stays anonymous; the browser lands on the page `return_to` named
when that is a path of this site, and never on another site.

Every sign-in makes the application create a user with a personal tenant: the run adopts
and removes them. Without a stand-in these checks do not apply, and say so.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pytest

from vvgate.access import oauth_probes as oauth
from vvgate.access.browser import Browser
from vvgate.access.https_client import TargetHttp, json_object
from vvgate.access.oauth_sign_in import SignIn, sign_in
from vvgate.gates.inconclusive import inconclusive
from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.identity.synthetic_users import SyntheticWorld
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("auth"), pytest.mark.plan("8.4")]

SignInAs = Callable[..., SignIn]
LANDING = "/collection?view=grid"


@pytest.fixture
def signs_in(profile: Profile, http: TargetHttp, world: SyntheticWorld) -> SignInAs:
    if not profile.oauth.stand_in:
        pytest.skip("the profile names no OAuth stand-in (oauth.stand_in): signing in needs a "
                    "person at GitHub's consent page, so the end-to-end sign-in checks do not "
                    "apply to this target")

    def as_(label: str, browser: Browser, return_to: str | None = None) -> SignIn:
        login = world.sign_in_login(label)
        try:
            result = sign_in(http, browser, profile.oauth.authorize_url, login, return_to)
        finally:
            world.adopt(login)
        # Judged here, not only by the outcome hook (which turns failures after a 429 into
        # inconclusive ones): a sign-in stopped by a 429 never lands off site, so a check of
        # where it lands would pass without having looked.
        limited = [r for r in (result.start, result.callback) if r is not None
                   and r.status_code == 429]
        if limited:
            inconclusive(f"{limited[0].request.url.path} met the rate limit (429): the "
                         "sign-in was not judged")
        return result
    return as_


def _signed_in_login(http: TargetHttp, cookie: str | None) -> str | None:
    headers = {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}
    body = json_object(http.get("/auth/me", headers=headers)) or {}
    user = body.get("user")
    return str(user.get("githubLogin")) if isinstance(user, dict) else None


def _landed(result: SignIn) -> SignIn:
    """The sign-in, once it got back to the callback; inconclusive when it never did."""
    if result.problem:
        inconclusive(f"the sign-in at the stand-in did not come back: {result.problem}")
    return result


def test_signing_in_lands_signed_in_on_the_page_asked_for(signs_in: SignInAs,
                                                          http: TargetHttp,
                                                          profile: Profile) -> None:
    browser = Browser()
    result = signs_in("lands", browser, LANDING)
    assert result.problem is None, f"signing in at the stand-in failed: {result.problem}"
    callback = result.callback
    assert callback is not None
    assert callback.status_code in (302, 303), (
        f"the callback answered HTTP {callback.status_code}, not a redirect into the site")
    login = _signed_in_login(http, browser.cookies.get(COOKIE_NAME))
    assert login == result.login, (
        f"after signing in as {result.login}, /auth/me with the browser's cookies shows "
        f"{login!r} ({oauth.error_of(callback)})")
    where = result.landing
    own = {profile.host, urllib.parse.urlsplit(profile.frontend_url or profile.base_url).netloc}
    assert where.netloc in ("", *own) and f"{where.path}?{where.query}" == LANDING, (
        f"signed in with return_to={LANDING}, the browser lands on {oauth.location(callback)}:"
        " the page it came from (the GitHub App setup, say) is lost")


def test_signing_in_gives_the_session_a_new_id(signs_in: SignInAs, http: TargetHttp,
                                               world: SyntheticWorld) -> None:
    # An attacker who got a session id into the victim's browser (a subdomain's cookie, say)
    # is signed in as the victim if sign-in keeps that id.
    planted = world.cookie_for(world.new_anonymous_session()).partition("=")[2]
    browser = Browser({COOKIE_NAME: planted})
    result = _landed(signs_in("fixation", browser))
    now = browser.cookies.get(COOKIE_NAME)
    if _signed_in_login(http, now) != result.login:
        inconclusive(f"the sign-in did not end signed in ({oauth.error_of(result.callback)})"
                     if result.callback else "the sign-in did not end signed in")
    assert _signed_in_login(http, planted) is None, (
        f"a session id planted in the browser before sign-in is signed in as {result.login} "
        "afterwards: sign-in must regenerate the session (session fixation)")
    assert now != planted, "sign-in kept the session cookie the browser held before"


@pytest.mark.parametrize("return_to", oauth.FOREIGN_RETURN_TO)
def test_signing_in_never_lands_off_site(signs_in: SignInAs, return_to: str) -> None:
    result = signs_in("offsite", Browser(), return_to)
    if result.provider is None and 400 <= result.start.status_code < 500:
        return  # the BFF refused the foreign return_to before sending anyone to sign in
    _landed(result)
    assert result.callback is not None
    assert not oauth.names_foreign_host(oauth.location(result.callback)), (
        f"signed in with return_to={return_to}, the browser is sent to "
        f"{oauth.location(result.callback)}: an open redirect after login")
