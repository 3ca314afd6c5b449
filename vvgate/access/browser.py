"""The cookies one browser holds across redirects, kept and dropped the way a browser does."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


@dataclass
class Browser:
    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} \
            if self.cookies else {}

    def keep(self, response: httpx.Response) -> None:
        for name, value in response.headers.multi_items():
            if name != "set-cookie":
                continue
            pair, _, attributes = value.partition(";")
            key, _, content = pair.strip().partition("=")
            cleared = not content or any(
                a.strip().lower() in {"max-age=0", "max-age=-1"} or "1970" in a
                for a in attributes.split(";"))
            if cleared:
                self.cookies.pop(key, None)
            else:
                self.cookies[key] = content
