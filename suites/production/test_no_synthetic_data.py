"""Production holds nothing the gate created: no synthetic users, tenants or sessions.

Read-only: it only counts. A hit means a run with synthetic users was pointed
at production and its cleanup did not finish.
"""

from __future__ import annotations

import pytest

from vvgate.identity.synthetic_users import NAME_PREFIX, TAG_FIELD
from vvgate.mongo.access import MongoAccess
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("database"), pytest.mark.plan("9.5"), pytest.mark.smoke]


@pytest.fixture(autouse=True)
def _production_only(profile: Profile) -> None:
    if not profile.production:
        pytest.skip(f"production-only check; target {profile.name!r} is {profile.kind.value} "
                    "and may hold a running gate's synthetic users")


@pytest.mark.parametrize("collection", ["users", "tenants", "user_tenant_roles"])
def test_no_synthetic_registry_entries(mongo: MongoAccess, collection: str) -> None:
    query = {"$or": [{TAG_FIELD: {"$exists": True}},
                     {"githubLogin": {"$regex": f"^{NAME_PREFIX}"}},
                     {"name": {"$regex": f"^{NAME_PREFIX}"}}]}
    found = mongo.registry[collection].count_documents(query)
    assert found == 0, f"production registry {collection} holds {found} synthetic entries"


def test_no_synthetic_sessions(mongo: MongoAccess) -> None:
    found = mongo.sessions.count_documents({TAG_FIELD: {"$exists": True}})
    assert found == 0, f"production session store holds {found} synthetic sessions"
