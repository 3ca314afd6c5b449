"""The fault switches: each one breaks exactly one contract property.

This table is the single source of truth: the lifecycle validates `--fault` names against it,
components ask `active()` whether to misbehave, and selftests iterate it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FAULTS_ENV = "VV_FAULTS"


@dataclass(frozen=True)
class Fault:
    name: str
    gate: str  # the gate (vvgate/gates/catalog.py) this fault must make fail
    breaks: str
    # Components whose behaviour the fault changes; only these restart when it is toggled.
    components: tuple[str, ...]
    # Advisory gates (contract SHOULDs) the fault fails too, as a direct consequence.
    also_fails: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("introspection-on", "graphql",
              "GraphQL introspection (__schema) is answered instead of refused with 400",
              ("bff", "backend")),
        Fault("predictable-state", "auth",
              "the OAuth state is the clock in seconds and a counter", ("bff",)),
        Fault("state-unchecked", "auth",
              "the OAuth callback goes on to the code exchange whatever state it is given",
              ("bff",)),
        Fault("state-reused", "auth",
              "the OAuth callback keeps the state, so it can be used again", ("bff",)),
        Fault("open-return-to", "auth",
              "GET /auth/github packs return_to, unchecked, into the state", ("bff",)),
        Fault("session-fixation", "auth",
              "signing in keeps the session id the browser held before, so a planted one is "
              "signed in too", ("bff",)),
        Fault("return-to-dropped", "auth",
              "signing in always lands on the home page, whatever return_to asked for",
              ("bff",)),
        Fault("anonymous-user-read", "auth",
              "query user(id) answers an anonymous caller, email included", ("backend",)),
        Fault("anonymous-mutation", "auth",
              "mutation upsertUser runs for an anonymous caller", ("backend",)),
        Fault("tenant-leak", "tenancy",
              "query record(id) searches every tenant database, ignoring the active tenant",
              ("backend",)),
        Fault("role-escalation", "tenancy",
              "addUserToTenant checks ADMIN in the caller's active tenant, not the target tenant",
              ("backend",)),
        Fault("no-revocation", "tenancy",
              "the backend trusts the role in the session's JWT, so removed roles stay effective",
              ("backend",)),
        Fault("weak-cookie", "headers",
              "the session cookie vinylvault.sid is set without HttpOnly", ("bff",)),
        Fault("unsigned-webhook", "auth",
              "POST /webhook/github accepts a missing or wrong X-Hub-Signature-256", ("bff",)),
        Fault("no-hsts", "headers",
              "BFF responses carry no Strict-Transport-Security header", ("bff",)),
        Fault("powered-by", "headers",
              "BFF responses carry X-Powered-By: Express", ("bff",)),
        Fault("cors-reflect", "headers",
              "Access-Control-Allow-Origin echoes any request Origin", ("bff",)),
        Fault("expired-cert", "tls",
              "the ingress serves a certificate whose notAfter is in the past", ("traefik",)),
        # TLS 1.0 has no AEAD suite: a server that speaks it offers a CBC one, and Go offers one
        # suite list for TLS 1.0 to 1.2.
        Fault("tls10", "tls",
              "the ingress accepts TLS 1.0 and 1.1 (minVersion VersionTLS10)", ("traefik",),
              also_fails=("tls-suites",)),
        Fault("cert-expiring-soon", "tls",
              "the ingress serves a certificate valid now whose notAfter is 7 days away",
              ("traefik",)),
        Fault("not-yet-valid-cert", "tls",
              "the ingress serves a certificate whose notBefore is 30 days in the future",
              ("traefik",)),
        Fault("wrong-host-cert", "tls",
              "the ingress serves a certificate from the local CA whose subjectAltName names only "
              "another host, wrong-host.<domain> (its CN, which clients ignore, names the host)",
              ("traefik",)),
        Fault("untrusted-cert", "tls",
              "the ingress serves a certificate for the host signed by a CA the profile does not "
              "trust", ("traefik",)),
        Fault("weak-ciphers", "tls",
              "the ingress offers TLS_ECDHE_ECDSA_WITH_RC4_128_SHA under TLS 1.2 "
              "(tls.options cipherSuites)", ("traefik",)),
        Fault("weak-leaf-key", "tls",
              "the ingress serves a leaf with a 1024-bit RSA key", ("traefik",)),
        Fault("sha1-leaf", "tls",
              "the ingress serves a leaf the CA signed over SHA-1", ("traefik",)),
        Fault("cbc-suites", "tls-suites",
              "the ingress also offers TLS_ECDHE_ECDSA_WITH_AES_{128,256}_CBC_SHA under TLS 1.2",
              ("traefik",)),
        Fault("no-https-redirect", "tls",
              "plain HTTP redirects to HTTPS with 302 Found, not permanently", ("traefik",)),
        Fault("mongo-noauth", "database",
              "both SecantusDB servers run without --auth (anonymous access)",
              ("mongo-bff", "mongo-backend")),
        Fault("backend-exposed", "auth",
              "the ingress routes /backend/* (prefix stripped) to the backend", ("traefik",)),
        Fault("slow-records", "load",
              "query records sleeps 600 ms before answering", ("backend",)),
        # auth: each one lets a caller who is not (or no longer) signed in be served.
        Fault("bearer-forwarded", "auth",
              "the BFF forwards a client's own Authorization header to the backend when it has "
              "no session, so a bearer signed with JWT_SECRET authenticates", ("bff",)),
        Fault("unsigned-cookie", "auth",
              "the BFF takes the session id from vinylvault.sid without checking its HMAC",
              ("bff",)),
        Fault("expired-session", "auth",
              "the BFF honours session documents whose `expires` is in the past", ("bff",)),
        Fault("logout-noop", "auth",
              "POST /auth/logout answers success and clears the cookie but keeps the stored "
              "session", ("bff",)),
        Fault("csrf-off", "graphql",
              "GET /graphql without a preflight header is executed (no CSRF prevention)",
              ("bff",)),
        Fault("graphql-accepts-text-plain", "graphql",
              "a text/plain POST to /graphql is parsed as JSON and executed without a preflight "
              "header (a body parser that takes text/plain as JSON)", ("bff",)),
        Fault("batching-on", "graphql",
              "a JSON array body to /graphql is executed as a batch", ("bff",)),
        Fault("stack-traces", "graphql",
              "GraphQL errors carry extensions.stacktrace (Apollo outside production mode)",
              ("bff", "backend")),
        Fault("legacy-stack-traces", "graphql",
              "GraphQL errors carry extensions.exception.stacktrace (Apollo 2/3's shape)",
              ("bff", "backend")),
        # graphql: abuse resistance (contract §6), one bound or leak each
        Fault("unbounded-aliases", "graphql",
              "a request may hold any number of aliases (no 15-alias bound)", ("bff", "backend")),
        Fault("unbounded-directives", "graphql",
              "a request may hold any number of directives (no 15-directive bound)",
              ("bff", "backend")),
        Fault("unbounded-cost", "graphql",
              "GraphQL answers a request of any cost: no cost limit", ("bff", "backend")),
        Fault("unbounded-depth", "graphql",
              "a request may nest any depth (no depth bound of 10)", ("bff", "backend")),
        Fault("field-suggestions", "graphql",
              "validation errors suggest field names (\"Did you mean ...?\")", ("bff", "backend")),
        Fault("graphql-ide", "graphql",
              "GET /graphql with Accept: text/html serves a GraphiQL page", ("bff",)),
        Fault("graphql-tracing", "graphql",
              "every GraphQL answer carries extensions.tracing (apollo-tracing)", ("bff",)),
        Fault("get-mutations", "graphql",
              "a mutation sent by GET (with a preflight header) is executed", ("bff",)),
        Fault("graphql-accepts-form", "graphql",
              "a form-encoded POST to /graphql is executed without a preflight header",
              ("bff",)),
        Fault("session-for-everyone", "auth",
              "anonymous GET /auth/me creates a session and sets vinylvault.sid "
              "(express-session saveUninitialized)", ("bff",)),
        Fault("oauth-http-callback", "auth",
              "GET /auth/github sends redirect_uri=http://<host>/auth/github/callback (the "
              "BFF ignores X-Forwarded-Proto)", ("bff",)),
        Fault("no-ratelimit-headers", "auth",
              "rate limits still apply but responses carry no RateLimit/RateLimit-Policy",
              ("bff",)),
        Fault("loose-graphql-limit", "auth",
              "/graphql allows 4000 requests per 15 minutes and client, not the contract's 400",
              ("bff",)),
        Fault("oauth-dev-frontend", "auth",
              "GET /auth/github/callback redirects to http://localhost:5173, the development "
              "frontend a BFF without FRONTEND_URL falls back to", ("bff",)),
        Fault("setup-skips-login", "auth",
              "GET /auth/setup without a session skips sign-in and redirects to "
              "<frontend>?installation=complete", ("bff",)),
        # tenancy
        Fault("viewer-writes", "tenancy",
              "createRecord/updateRecord/deleteRecord accept a VIEWER of the active tenant",
              ("backend",)),
        Fault("switch-any-tenant", "tenancy",
              "switchTenant accepts a tenant the user holds no role in", ("bff",)),
        Fault("search-leak", "tenancy",
              "searchRecords searches every tenant database, ignoring the active tenant",
              ("backend",)),
        Fault("cross-tenant-write", "tenancy",
              "updateRecord/deleteRecord find the record by id in any tenant database",
              ("backend",)),
        Fault("tenant-takeover", "tenancy",
              "createTenant for an existing organisation tenant makes the caller its ADMIN",
              ("backend",)),
        Fault("self-accept", "tenancy",
              "respondToFriendRequest lets the requester accept its own request", ("backend",)),
        Fault("records-leak", "tenancy",
              "query records lists the records of every tenant database, ignoring the active "
              "tenant", ("backend",)),
        Fault("webhook-grants-role", "tenancy",
              "handleGitHubInstallationWebhook takes a signed-in user's call and makes the caller "
              "ADMIN of the account's organisation tenant", ("backend",)),
        Fault("setup-grants-role", "tenancy",
              "completeInstallationSetup makes the caller ADMIN of the organisation tenant the "
              "installation belongs to, without asking whether the caller administers it",
              ("backend",)),
        Fault("tenant-db-name", "tenancy",
              "tenants the backend creates get databaseName vv_<tenantId>, not vv_+sha256[:12], "
              "and their data lives there", ("backend",)),
        Fault("records-mirrored", "tenancy",
              "createRecord also copies each new record into a shared database the backend "
              "registers as tenant `community` (a cross-tenant feed)",
              ("backend",)),
        # ownership (SHOULD, an advisory gate unless a profile makes it blocking)
        Fault("member-edits-any", "ownership",
              "inside a shared tenant a MEMBER may update or delete any member's record",
              ("backend",)),
        Fault("admin-edits-own-only", "ownership",
              "inside a shared tenant an ADMIN may change only the records they created",
              ("backend",)),
        # headers: one helmet header (or cookie flag) each
        Fault("no-csp", "headers",
              "BFF responses carry no Content-Security-Policy", ("bff",)),
        Fault("no-nosniff", "headers",
              "BFF responses carry no X-Content-Type-Options", ("bff",)),
        Fault("frameable", "headers",
              "BFF responses carry neither X-Frame-Options nor CSP frame-ancestors", ("bff",)),
        Fault("referrer-leak", "headers",
              "BFF responses carry Referrer-Policy: unsafe-url", ("bff",)),
        Fault("no-coop", "headers",
              "BFF responses carry no Cross-Origin-Opener-Policy", ("bff",)),
        Fault("no-corp", "headers",
              "BFF responses carry no Cross-Origin-Resource-Policy", ("bff",)),
        Fault("cors-no-credentials", "headers",
              "Access-Control-Allow-Credentials is missing for the frontend origin", ("bff",)),
        Fault("spa-sniffable", "headers",
              "the SPA's HTML is served without X-Content-Type-Options: nosniff", ("frontend",)),
        Fault("spa-frameable", "headers",
              "the SPA's HTML is served without X-Frame-Options: DENY", ("frontend",)),
        Fault("insecure-cookie", "headers",
              "the session cookie vinylvault.sid is set without Secure", ("bff",)),
        Fault("cookie-path", "headers",
              "the session cookie vinylvault.sid is set with Path=/auth, not Path=/", ("bff",)),
        Fault("cookie-samesite-none", "headers",
              "the session cookie vinylvault.sid is set with SameSite=None", ("bff",)),
        # headers: one class of response, or one rule of §6's CSP
        Fault("graphql-no-hsts", "headers",
              "POST /graphql answers without Strict-Transport-Security; every other route "
              "has it", ("bff",)),
        Fault("bare-errors", "headers",
              "BFF error answers (4xx) carry no helmet headers, only CORS", ("bff",)),
        Fault("weak-csp", "headers",
              "the BFF's CSP is default-src * 'unsafe-inline' 'unsafe-eval'", ("bff",)),
        Fault("spa-no-csp", "headers",
              "the SPA's HTML is served without a Content-Security-Policy", ("frontend",)),
        Fault("bare-assets", "headers",
              "hashed assets and the missing-asset 404 carry no HSTS, nosniff or frame "
              "header (nginx add_header inheritance)", ("frontend",)),
        Fault("server-banner", "headers",
              "every frontend answer carries Server: nginx/1.25.3", ("frontend",)),
        # health
        Fault("spa-fallback-off", "health",
              "unknown app routes such as /browse answer 404 instead of the SPA shell",
              ("frontend",)),
        Fault("asset-fallback", "health",
              "a missing /assets/ file answers the SPA shell with 200 instead of 404",
              ("frontend",)),
        Fault("mutable-assets", "health",
              "hashed assets are served without Cache-Control public, immutable", ("frontend",)),
        Fault("health-shape", "health",
              "GET /health answers without its timestamp", ("bff",)),
        # database: the apps create their indexes at start, so toggling restarts them and
        # they drop and recreate the index in the shape asked for.
        Fault("no-ttl-index", "database",
              "sessions.expires has a plain index, no TTL (expireAfterSeconds)", ("bff",)),
        Fault("no-unique-index", "database",
              "registry users.githubLogin has a plain, not a unique, index", ("backend",)),
        Fault("no-unique-installation", "database",
              "registry installations.installation_id has a plain, not a unique, index",
              ("backend",)),
        Fault("no-unique-installation-role", "database",
              "registry user_installation_roles{user_id,installation_id} has a plain, not a "
              "unique, index", ("backend",)),
        Fault("no-unique-friend-request", "database",
              "registry friend_requests{requesterId,recipientId} has a plain, not a unique, "
              "index", ("backend",)),
        # The bare-* faults make no index at all, so they outrank the index faults above.
        Fault("bare-session-store", "database",
              "the BFF sets up nothing in vinylvault_bff (no index): the database holds only "
              "the sessions others write into it", ("bff",)),
        Fault("bare-registry", "database",
              "the backend sets up nothing in vinylvault_registry (no index): the database holds "
              "only what others write into it", ("backend",)),
        Fault("mongo-any-password", "database",
              "both SecantusDB servers take any password for an existing user (the SCRAM client "
              "proof is not checked)", ("mongo-bff", "mongo-backend")),
    )
}


# Faults that each choose the one leaf the ingress serves: at most one of them at a time.
EXCLUSIVE: tuple[tuple[str, ...], ...] = (
    ("expired-cert", "cert-expiring-soon", "not-yet-valid-cert", "wrong-host-cert",
     "untrusted-cert", "weak-leaf-key", "sha1-leaf"),
)


class UnknownFaultError(ValueError):
    pass


class ConflictingFaultsError(ValueError):
    pass


def parse(spec: str | None) -> tuple[str, ...]:
    """`a,b` -> ('a', 'b') in table order; raises UnknownFaultError on a name not in FAULTS
    and ConflictingFaultsError on two faults of one EXCLUSIVE group."""
    if not spec:
        return ()
    names = {n.strip() for n in spec.split(",") if n.strip()}
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise UnknownFaultError(
            f"unknown fault {unknown[0]!r}; known: {', '.join(FAULTS)}"
        )
    for group in EXCLUSIVE:
        chosen = [n for n in group if n in names]
        if len(chosen) > 1:
            raise ConflictingFaultsError(
                f"faults {' and '.join(chosen)} cannot be combined: each one chooses the "
                f"certificate the ingress serves")
    return tuple(n for n in FAULTS if n in names)


def for_component(component: str, active_faults: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in active_faults if component in FAULTS[n].components)


def active(name: str) -> bool:
    """Whether this process was started with fault `name` (components read VV_FAULTS)."""
    if name not in FAULTS:
        raise KeyError(name)
    return name in os.environ.get(FAULTS_ENV, "").split(",")
