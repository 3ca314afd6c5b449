"""`mount` as the real node's kubelet sees it: an NFS mount of an export on this machine becomes
a bind mount of the export's folder; everything else goes to the real mount(8) unchanged.

This kernel has no NFS client, and the local cluster's provisioner (reference/localcluster/
nfsprovisioner) serves its "export" as a local folder, naming server 127.0.0.1 in the volumes it
makes. With this shim first on its PATH, the kubelet's own NFS volume plugin mounts those
volumes unchanged. It is not NFS: no export options, no root squashing, no network round trip,
no NFS locking or caching semantics; ownership and permissions are the folder's own.

Stdlib only, run as `python -I -S mount_shim.py --log FILE -- MOUNT_ARGS...`.
"""

from __future__ import annotations

import os
import sys
import time

REAL_MOUNT = "/usr/bin/mount"
LOCAL_SERVERS = ("127.0.0.1", "localhost", "10.17.0.1")  # loopback and the node's address


def _parse(args: list[str]) -> tuple[str, list[str], list[str]]:
    """(file system type, options, positional arguments) of a mount(8) command line."""
    fstype, options, positional = "", [], []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-t" and i + 1 < len(args):
            fstype, i = args[i + 1], i + 2
            continue
        if arg == "-o" and i + 1 < len(args):
            options += args[i + 1].split(",")
            i += 2
            continue
        if not arg.startswith("-"):
            positional.append(arg)
        i += 1
    return fstype, options, positional


def main(argv: list[str]) -> int:
    log = ""
    if argv[:1] == ["--log"] and len(argv) > 1:
        log, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    fstype, options, positional = _parse(argv)
    if fstype not in ("nfs", "nfs4") or len(positional) != 2:
        os.execv(REAL_MOUNT, [REAL_MOUNT, *argv])
    source, target = positional
    server, _, path = source.partition(":")
    if server not in LOCAL_SERVERS:
        sys.stderr.write(f"mount: {target}: no NFS client on this node; only exports of this "
                         f"machine (server {', '.join(LOCAL_SERVERS)}) can be mounted\n")
        return 32
    if not os.path.isdir(path):
        sys.stderr.write(f"mount.nfs: access denied by server while mounting {source}\n")
        return 32
    if log:
        with open(log, "a") as out:
            out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} nfs {source} -> bind {target}\n")
    os.execv(REAL_MOUNT, [REAL_MOUNT, "--bind", *(["-o", "ro"] if "ro" in options else []),
                          path, target])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
