"""A Content-Security-Policy judged by the contract's rules (§6), not merely found.

The `content-security-policy` package parses; this module only applies the rules. A browser
enforces every CSP header, and every comma-joined policy in one, at once, so a restriction
holds when any one enforced policy imposes it. `Content-Security-Policy-Report-Only` enforces
nothing and is not read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from content_security_policy.parse import policy_list_from_string

Policy = dict[str, list[str]]

# Fetch directives fall back to default-src when absent; base-uri and frame-ancestors do not.
FETCH_DIRECTIVES = frozenset({
    "child-src", "connect-src", "font-src", "frame-src", "img-src", "manifest-src",
    "media-src", "object-src", "prefetch-src", "script-src", "script-src-elem",
    "script-src-attr", "style-src", "style-src-elem", "style-src-attr", "worker-src",
})
UNSAFE_SCRIPT = ("'unsafe-inline'", "'unsafe-eval'")


def policies(header_values: list[str]) -> list[Policy]:
    """Each enforced policy as directive -> sources, names and keywords lower-cased.

    A repeated directive is ignored after its first occurrence, as browsers do."""
    out: list[Policy] = []
    for value in header_values:
        for parsed in policy_list_from_string(value):
            policy: Policy = {}
            for directive in parsed:
                name = directive.name.strip().lower()
                if name and name not in policy:
                    policy[name] = [str(v).strip().lower() for v in directive.values]
            if policy:
                out.append(policy)
    return out


def effective(policy: Policy, directive: str) -> list[str] | None:
    """The sources `policy` allows for `directive`, None when it does not restrict it."""
    if directive in policy:
        return policy[directive]
    if directive in FETCH_DIRECTIVES:
        return policy.get("default-src")
    return None


def _wildcards(found: list[Policy]) -> str | None:
    """A bare `*` source no other enforced policy narrows."""
    for policy in found:
        for directive, sources in policy.items():
            if "*" not in sources:
                continue
            narrowed = any(
                (other := effective(p, directive)) is not None and "*" not in other
                for p in found if p is not policy)
            if not narrowed:
                return f"{directive} allows any source (*)"
    return None


def _scripts(found: list[Policy]) -> str | None:
    lists = [effective(p, "script-src") for p in found]
    restricting = [s for s in lists if s is not None]
    if not restricting:
        return "nothing restricts scripts (no script-src and no default-src)"
    if any(not set(UNSAFE_SCRIPT) & set(s) for s in restricting):
        return None
    unsafe = sorted({u for s in restricting for u in UNSAFE_SCRIPT if u in s})
    return f"script-src (or default-src) allows {' and '.join(unsafe)}"


def _objects(found: list[Policy]) -> str | None:
    if any(effective(p, "object-src") == ["'none'"] for p in found):
        return None
    seen = [effective(p, "object-src") for p in found]
    return f"object-src is not 'none' (effective sources: {seen})"


def _base_uri(found: list[Policy]) -> str | None:
    if any(p.get("base-uri") in (["'self'"], ["'none'"]) for p in found):
        return None
    return f"base-uri is not 'self' or 'none' ({[p.get('base-uri') for p in found]})"


@dataclass(frozen=True)
class FrameRule:
    """What frame protection a response class needs: the SPA's HTML `'none'`/DENY, the BFF
    helmet's defaults (`'self'`/SAMEORIGIN) or stricter."""

    ancestors: frozenset[str]
    x_frame_options: frozenset[str]

    def problem(self, found: list[Policy], x_frame_options: str | None) -> str | None:
        xfo = (x_frame_options or "").strip().upper()
        if xfo in self.x_frame_options:
            return None
        if any(p.get("frame-ancestors") and set(p["frame-ancestors"]) <= self.ancestors
               for p in found):
            return None
        ancestors = [p.get("frame-ancestors") for p in found]
        return (f"not protected from framing: X-Frame-Options {x_frame_options!r}, "
                f"frame-ancestors {ancestors} (needs X-Frame-Options "
                f"{'/'.join(sorted(self.x_frame_options))} or frame-ancestors within "
                f"{sorted(self.ancestors)})")


FRAME_DENY = FrameRule(frozenset({"'none'"}), frozenset({"DENY"}))
FRAME_SAME_ORIGIN = FrameRule(frozenset({"'none'", "'self'"}), frozenset({"DENY", "SAMEORIGIN"}))

# The §6 rules a CSP must meet, each on its own so a report names the one broken.
CSP_RULES: dict[str, Callable[[list[Policy]], str | None]] = {
    "no-wildcard": _wildcards,
    "script-src": _scripts,
    "object-src": _objects,
    "base-uri": _base_uri,
}
