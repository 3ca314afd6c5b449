"""What `vvgate local up --cluster [--node]`, `down` and `status` call: the only entry points
the local target's CLI (reference/localenv/cli.py) needs into the local cluster."""

from __future__ import annotations

from reference.localcluster import lifecycle, node_profile, profile_section
from reference.localcluster.layout import ClusterLayout
from reference.localcluster.node import lifecycle as node_lifecycle
from reference.localenv import lifecycle as target_lifecycle
from reference.localenv import state
from reference.localenv.paths import Layout


def check_node() -> None:
    """Before the local target starts: refuse `--node` in one line when this machine or this
    moment cannot have a real node (root, packages, binaries, images, another state's node),
    and build the node's images where an input changed."""
    node_lifecycle.check()


def up(timeout_s: float, node: bool = False) -> int:
    """After the local target is up: start the cluster and add it to the profile.

    On failure nothing is left running (the target too is stopped, since `up --cluster`
    asked for both) and the error names the component and its log."""
    layout = Layout.current()
    ports = state.load_ports(layout)
    try:
        kubeconfig = lifecycle.up({k: v for k, v in ports.items() if k.startswith("mongo-")},
                                  timeout_s, node)
        # With a real node the application the gate judges is the overlay's pods behind the
        # in-cluster Traefik, not the process target's.
        profile_section.add(layout.profile, kubeconfig,
                            node_profile.profile_for_node if node else None)
    except BaseException:
        target_lifecycle.down(purge=False)
        raise
    served = " (the application served by the real node's pods)" if node else ""
    state.say(f"profile: {layout.profile} (with kubernetes){served}")
    return 0


def down() -> None:
    stopped = lifecycle.down()
    if stopped:
        state.say(f"cluster stopped: {', '.join(stopped)}")


def status() -> bool | None:
    """None when no cluster component runs here, else whether all are healthy."""
    cluster = ClusterLayout.current()
    if not lifecycle.running(cluster) and not node_lifecycle.present(cluster):
        return None
    return lifecycle.status()
