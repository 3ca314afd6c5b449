"""The local target's secrets: generated once at first `up`, kept in a 0600 env file."""

from __future__ import annotations

import secrets
from pathlib import Path

from reference import envfile

BFF_USER = "vv_bff"
BACKEND_USER = "vv_backend"
_GENERATED = ("SESSION_SECRET", "JWT_SECRET", "GITHUB_APP_WEBHOOK_SECRET", "GITHUB_CLIENT_SECRET",
              "MONGODB_BFF_PASSWORD", "MONGODB_BACKEND_PASSWORD")


def ensure(path: Path) -> tuple[dict[str, str], bool]:
    """The secrets, generating any that are missing; True when something was generated."""
    values = envfile.read(path) if path.is_file() else {}
    missing = [k for k in _GENERATED if not values.get(k)]
    if missing:
        for key in missing:
            values[key] = secrets.token_hex(32)
        envfile.write(path, values)
    return values, bool(missing)


def with_uris(path: Path, values: dict[str, str], bff_port: int, backend_port: int) -> None:
    """Record the connection strings (they embed the passwords, so they live here too)."""
    uris = {
        "MONGODB_BFF_URI": (f"mongodb://{BFF_USER}:{values['MONGODB_BFF_PASSWORD']}"
                            f"@127.0.0.1:{bff_port}/vinylvault_bff"
                            "?authSource=admin&directConnection=true"),
        "MONGODB_BACKEND_URI": (f"mongodb://{BACKEND_USER}:{values['MONGODB_BACKEND_PASSWORD']}"
                                f"@127.0.0.1:{backend_port}/vinylvault_registry"
                                "?authSource=admin&directConnection=true"),
    }
    if any(values.get(k) != v for k, v in uris.items()):
        values.update(uris)
        envfile.write(path, values)
