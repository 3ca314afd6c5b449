"""What an app process learns from its environment: port, secrets file, peers, faults.

Secrets come from the 0600 env file named by VV_SECRETS_FILE, never from argv, so they do not
show in `ps` or in the lifecycle's progress output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reference import envfile


@dataclass(frozen=True)
class Runtime:
    port: int
    secrets: dict[str, str]
    public_url: str
    backend_url: str

    def secret(self, key: str) -> str:
        value = self.secrets.get(key)
        if not value:
            raise RuntimeError(f"secret {key} is missing from the secrets file")
        return value


def load() -> Runtime:
    secrets_file = os.environ.get("VV_SECRETS_FILE")
    secrets = envfile.read(Path(secrets_file)) if secrets_file else {}
    return Runtime(
        port=int(os.environ.get("VV_PORT", "0")),
        secrets=secrets,
        public_url=os.environ.get("VV_PUBLIC_URL", "https://vinylvault.local.test"),
        backend_url=os.environ.get("VV_BACKEND_URL", "http://127.0.0.1:4000"),
    )
