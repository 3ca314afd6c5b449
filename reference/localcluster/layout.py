"""Where the local cluster keeps its files: <state>/local/cluster/, beside the local target's."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from reference.localenv.paths import Layout

PINS_FILE = Path(__file__).with_name("binaries.json")


def pins() -> dict[str, str]:
    data: dict[str, str] = json.loads(PINS_FILE.read_text())
    return data


def bin_dir() -> Path:
    """The binary cache scripts/bootstrap-cluster fills (outside the repository)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vinylvault-gate" / "bin"


@dataclass(frozen=True)
class ClusterLayout:
    root: Path

    @classmethod
    def current(cls) -> ClusterLayout:
        return cls(Layout.current().root / "cluster")

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def export(self) -> Path:
        """Stands in for the Synology NFS export the provisioner writes into."""
        return self.root / "nfs-export"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def ports(self) -> Path:
        return self.root / "ports.json"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig the generated profile points at."""
        return self.root / "kubeconfig"

    def component_kubeconfig(self, name: str) -> Path:
        return self.root / "kubeconfigs" / f"{name}.kubeconfig"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def ensure(self) -> None:
        for d in (self.root, self.pki, self.etcd_data, self.export, self.run, self.logs,
                  self.root / "kubeconfigs"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
