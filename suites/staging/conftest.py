"""Cluster fixtures for the live suites (storage, database StatefulSets, rollout).

Importing them here registers them, and their report hook, for suites/staging only; with a
Kubernetes API the target's overlay is deployed before the first live check (deployed_first).
"""

from fixtures.deployment import (  # noqa: F401
    _deployments,
    deploy,
    deployed,
    deployed_first,
    expected_objects,
    kube,
    nfs_class,
    pytest_runtest_makereport,
)
from fixtures.throwaway_namespace import throwaway_namespace  # noqa: F401
