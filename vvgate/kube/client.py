"""Kubernetes API clients for a target, always built on the write guard."""

from __future__ import annotations

from typing import Any

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from vvgate.errors import ConfigError
from vvgate.kube.write_guard import GuardedApiClient
from vvgate.targets.profile import Profile


def api_client(profile: Profile) -> GuardedApiClient:
    kube = profile.kubernetes
    if kube is None:
        raise ConfigError(f"target {profile.name!r} has no 'kubernetes' section")
    configuration = client.Configuration()
    kubeconfig = str(kube.kubeconfig) if kube.kubeconfig else None
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=kube.context, client_configuration=configuration
        )
    except (ConfigException, OSError) as exc:
        raise ConfigError(
            f"cannot load kubeconfig {kubeconfig or '~/.kube/config'} "
            f"(context {kube.context or 'current'}): {' '.join(str(exc).split())}"
        ) from None
    return GuardedApiClient(
        configuration,
        target=profile.name,
        read_only_all=profile.production,
        protected=profile.read_only_namespaces,
    )


def core_api(profile: Profile) -> Any:
    return client.CoreV1Api(api_client(profile))
