"""Where the local target keeps its files: <state>/local/ (VVGATE_STATE_DIR or <repo>/.state)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "vinylvault.local.test"


def state_dir() -> Path:
    override = os.environ.get("VVGATE_STATE_DIR")
    return (Path(override) if override else REPO_ROOT / ".state").resolve()


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def current(cls) -> Layout:
        return cls(state_dir() / "local")

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.env"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def db_dir(self) -> Path:
        return self.root / "db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def traefik_dir(self) -> Path:
        return self.root / "traefik"

    @property
    def ports(self) -> Path:
        return self.root / "ports.json"

    @property
    def faults(self) -> Path:
        return self.root / "faults.json"

    @property
    def schema(self) -> Path:
        """The GraphQL SDL the target serves, which the generated profile points at."""
        return self.root / "schema.graphql"

    @property
    def profile(self) -> Path:
        return self.root / "target.yaml"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def ensure(self) -> None:
        for d in (self.root, self.ca_dir, self.db_dir, self.logs, self.run, self.traefik_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
