"""The node's names, addresses and folders, and the configuration files of its components.

Everything the node writes lives under <state>/local/cluster/node/, except what containerd 1.6,
the kubelet and libcni write to fixed host paths whatever they are told (HOST_PATHS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reference.localcluster.layout import ClusterLayout

NODE_NAME = "vvgate-node"
# The kubelet refuses a loopback node IP, and this kernel has no `dummy` links: the node's
# address sits on one end of a veth pair of its own. Pods reach the API server, the kubelet and
# NodePorts there; the host reaches it too (a local address), nothing else does (network.py).
NODE_IP = "10.17.0.1"
POD_CIDR = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
DNS_IP = "10.96.0.10"
BRIDGE = "vvgate-br0"
NODE_LINK, NODE_PEER = "vvgate-node0", "vvgate-node1"
KUBELET_PORT = 10250
# The real node is amd64 beside four arm64 kwok nodes: only pods that ask for it land here.
LABEL = "vvgate.io/real-node"
TAINT = {"key": LABEL, "value": "true", "effect": "NoSchedule"}
# kubelet's cgroupRoot (pods below it) and the cgroup of the node's host processes and of the
# containerd shims they start: `down` kills what is left in them, shims that outlive containerd.
CGROUP_ROOT = "vvgate-node"
RUNTIME_CGROUP = "vvgate-node-runtime"
# Written by containerd 1.6 (shim sockets, fifos), the kubelet (device-plugin socket, log
# symlinks) and libcni (results cache) whatever their configuration says. None may exist
# before the node starts (preflight.py), so `down` removes them whole.
HOST_PATHS = (Path("/var/lib/kubelet"), Path("/run/containerd"), Path("/var/lib/cni"))
CONTAINER_LOGS = Path("/var/log/containers")
# Shared host files the node's components create when missing (the kubelet's log symlink
# folder, iptables' lock): removed by `down` only when they did not exist before (journal.py).
MAY_CREATE = (CONTAINER_LOGS, Path("/run/xtables.lock"))
# Where the host's machine-wide node state lives: one node per machine.
HOST_DIR = Path("/run/vvgate-node")


@dataclass(frozen=True)
class NodeLayout:
    root: Path

    @classmethod
    def of(cls, cluster: ClusterLayout) -> NodeLayout:
        return cls(cluster.root / "node")

    @classmethod
    def current(cls) -> NodeLayout:
        return cls.of(ClusterLayout.current())

    @property
    def cluster(self) -> ClusterLayout:
        return ClusterLayout(self.root.parent)

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def cni_conf(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def shim(self) -> Path:
        return self.root / "shim"

    @property
    def images(self) -> Path:
        """The images `up` imported, by role: what a manifest for this node names."""
        return self.root / "images.json"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def runtime_paths(self) -> list[Path]:
        """What a node start fills and `down` removes: everything but containerd's content
        store and snapshots (containerd/root), kept so the next start imports nothing."""
        return [self.containerd / "state", self.containerd / "runc", self.containerd / "opt",
                self.socket, self.socket.with_name(self.socket.name + ".ttrpc"),
                self.root / "cni", self.kubelet, self.pod_logs, self.shim]


def containerd_toml(node: NodeLayout, pause_image: str) -> str:
    c = node.containerd
    return f"""# containerd for the vvgate real node: its own root, state and socket; CRI on.
version = 2
root = "{c / 'root'}"
state = "{c / 'state'}"
oom_score = 0

[grpc]
  address = "{node.socket}"
[ttrpc]
  address = ""
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{c / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  enable_selinux = false
  disable_apparmor = true
  # Without CAP_SYS_RESOURCE (this VM) runc cannot lower oom_score_adj below its own, which
  # the sandbox's -998 asks for; clamp instead of failing every pod.
  restrict_oom_score_adj = true
  # Pod network namespaces as mounts under our state, not /var/run/netns.
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "{c / 'runc'}"
        # PID 1 is not systemd here: the kubelet drives cgroups through cgroupfs too.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{node.cni_conf}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
"""


def cni_conflist(node: NodeLayout) -> str:
    """A bridge with the pods' gateway, masquerading to the outside, hairpin (a pod reaches
    itself through its Service), host-local addresses under our state; portmap for hostPort."""
    return json.dumps({
        "cniVersion": "0.4.0",
        "name": "vvgate",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": True,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(node.cni_ipam)}},
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }, indent=1)


def kubelet_yaml(node: NodeLayout, healthz_port: int) -> str:
    pki = node.cluster.pki
    doc: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP, "port": KUBELET_PORT, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": healthz_port,
        # The API server's client certificate and webhook decisions, never anonymous access.
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "rotateCertificates": False, "serverTLSBootstrap": False,
        "containerRuntimeEndpoint": f"unix://{node.socket}",
        # PID 1 is not systemd; cgroup v1 is what this kernel offers (v1 needs the opt-in).
        "cgroupDriver": "cgroupfs", "cgroupRoot": f"/{CGROUP_ROOT}", "failCgroupV1": False,
        "failSwapOn": False,
        "podLogsDir": str(node.pod_logs),
        "volumePluginDir": str(node.kubelet / "volume-plugins"),
        "clusterDomain": "cluster.local", "clusterDNS": [DNS_IP],
        "resolvConf": "/etc/resolv.conf",
        # The images are imported, never pulled: garbage collection must never remove one.
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        # A developer's disk is often fuller than a node's: evict only when it really is full.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%"},
        "evictionPressureTransitionPeriod": "10s",
        "maxPods": 40, "serializeImagePulls": False,
        "registerNode": True, "registerWithTaints": [TAINT],
        "nodeStatusReportFrequency": "10s",
        # false: the kubelet sets the sysctls it wants (vm.overcommit_memory, kernel.panic,
        # ...) instead of refusing to start; journal.py saves and `down` restores them.
        "protectKernelDefaults": False,
        "localStorageCapacityIsolation": True,
        "shutdownGracePeriod": "0s",
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kube_proxy_yaml(node: NodeLayout, healthz_port: int, metrics_port: int) -> str:
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(node.cluster.component_kubeconfig("kube-proxy"))},
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "clusterCIDR": CLUSTER_CIDR, "detectLocalMode": "ClusterCIDR",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        # Zeros leave the host's conntrack sysctls as they are.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s",
                      "tcpCloseWaitTimeout": "0s"},
        # NodePorts on the node IP only: nothing on the host's own interfaces, and no
        # route_localnet (which loopback NodePorts would need).
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"masqueradeAll": False, "syncPeriod": "30s", "minSyncPeriod": "1s"},
    }
    return yaml.safe_dump(doc, sort_keys=False)
