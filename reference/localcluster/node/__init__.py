"""One real Kubernetes node beside the kwok nodes: `vvgate local up --cluster --node`.

containerd (CRI), kubelet, kube-proxy (iptables), kube-router (network policy only) and CoreDNS
as a pod, on this machine, with images built here without a registry. The node changes the host
(links, iptables, cgroups, mounts, sysctls, a few fixed paths); `down` and the janitor at the
start of `up` and `down` undo all of it. Root only, and one node per machine.
"""
