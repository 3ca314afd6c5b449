"""An out-of-cluster stand-in for nfs-subdir-external-provisioner (the Go module proxy
does not serve it), with the same observable behaviour against a local directory:

- a Pending PVC (without a selector, which upstream refuses) of a StorageClass naming
  this provisioner gets a PV `pvc-<uid>` whose
  nfs.path is <export>/<pathPattern> (else <ns>-<pvc>-<pv>), and that directory is created
  with mode 0777;
- a Released PV with reclaimPolicy Delete has its directory archived to
  <export>/archived-<basename> (archiveOnDelete, default true; onDelete: delete|retain wins)
  and is deleted; with Retain nothing is touched, as upstream.

It talks to the API server over HTTPS with its own client certificate, stdlib only, and
polls: a local cluster holds a handful of claims.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import ssl
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

POLL_S = 0.5
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
_PATTERN = re.compile(r"\$\{\.PVC\.(namespace|name|labels\.[^}]+|annotations\.[^}]+)\}")


class Api:
    def __init__(self, kubeconfig: Path) -> None:
        conf = yaml.safe_load(kubeconfig.read_text())
        cluster = conf["clusters"][0]["cluster"]
        user = conf["users"][0]["user"]
        self.server = cluster["server"].rstrip("/")
        self.ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self.ctx.load_cert_chain(user["client-certificate"], user["client-key"])

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=self.ctx) as resp:
            return json.loads(resp.read() or b"null")


def sub_path(pattern: str | None, pvc: dict[str, Any], pv_name: str) -> str:
    meta = pvc["metadata"]
    default = f"{meta['namespace']}-{meta['name']}-{pv_name}"
    if not pattern:
        return default

    def field(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in ("namespace", "name"):
            return str(meta[key])
        kind, _, name = key.partition(".")
        return str((meta.get(kind) or {}).get(name, ""))

    custom = _PATTERN.sub(field, pattern).strip("/")
    return custom or default


def provision(api: Api, export: Path, name: str, server: str, pvc: dict[str, Any],
              sc: dict[str, Any]) -> None:
    pv_name = f"pvc-{pvc['metadata']['uid']}"
    rel = sub_path((sc.get("parameters") or {}).get("pathPattern"), pvc, pv_name)
    directory = export / rel
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o777)
    spec = pvc["spec"]
    pv = {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "annotations": {PROVISIONED_BY: name}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
            "storageClassName": sc["metadata"]["name"],
            "mountOptions": sc.get("mountOptions") or None,
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "nfs": {"server": server, "path": str(directory), "readOnly": False},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": pvc["metadata"]["namespace"],
                         "name": pvc["metadata"]["name"], "uid": pvc["metadata"]["uid"],
                         "resourceVersion": pvc["metadata"]["resourceVersion"]},
        },
    }
    try:
        api.call("POST", "/api/v1/persistentvolumes", pv)
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # already provisioned on an earlier pass
            raise
    log(f"provisioned {pv_name} for {pvc['metadata']['namespace']}/"
        f"{pvc['metadata']['name']} at {directory}")


def reclaim(api: Api, export: Path, pv: dict[str, Any], sc: dict[str, Any] | None) -> None:
    params = (sc or {}).get("parameters") or {}
    directory = Path(pv["spec"]["nfs"]["path"])
    if directory.is_dir() and export in directory.parents:
        on_delete = params.get("onDelete")
        archive = params.get("archiveOnDelete", "true").lower() in ("true", "1", "t")
        if on_delete == "delete" or (on_delete != "retain" and not archive):
            shutil.rmtree(directory)
        elif on_delete != "retain":
            directory.rename(export / f"archived-{directory.name}")
    api.call("DELETE", f"/api/v1/persistentvolumes/{pv['metadata']['name']}")
    log(f"reclaimed {pv['metadata']['name']} ({directory})")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def reconcile(api: Api, export: Path, name: str, server: str) -> None:
    classes = {sc["metadata"]["name"]: sc
               for sc in api.call("GET", "/apis/storage.k8s.io/v1/storageclasses")["items"]
               if sc.get("provisioner") == name}
    for pvc in api.call("GET", "/api/v1/persistentvolumeclaims")["items"]:
        sc = classes.get(pvc["spec"].get("storageClassName") or "")
        pending = (pvc.get("status") or {}).get("phase") == "Pending"
        if (sc and pending and not pvc["spec"].get("volumeName")
                and not pvc["metadata"].get("deletionTimestamp")):
            if pvc["spec"].get("selector"):
                # As upstream: a dynamically provisioned claim cannot pick its volume.
                log(f"claim Selector is not supported: {pvc['metadata']['namespace']}/"
                    f"{pvc['metadata']['name']} stays Pending")
                continue
            provision(api, export, name, server, pvc, sc)
    for pv in api.call("GET", "/api/v1/persistentvolumes")["items"]:
        mine = (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY) == name
        released = (pv.get("status") or {}).get("phase") == "Released"
        if mine and released and pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            reclaim(api, export, pv, classes.get(pv["spec"].get("storageClassName") or ""))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="provisioner")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    api = Api(args.kubeconfig)
    export = args.export.resolve()
    export.mkdir(parents=True, exist_ok=True)
    log(f"provisioner {args.name}: export {export}")
    ready = False
    while True:
        try:
            reconcile(api, export, args.name, args.server)
            if not ready:
                args.ready_file.write_text(str(os.getpid()))
                ready = True
        except (OSError, ValueError, KeyError) as exc:
            log(f"reconcile failed: {type(exc).__name__}: {exc}")
        time.sleep(POLL_S)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
