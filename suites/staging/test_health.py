"""Health endpoints and SPA serving (contract §2)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from vvgate.access.https_client import TargetHttp, json_object
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("health"), pytest.mark.plan("2.6")]

SPA_MARKERS = ("<title>Vinyl Vault</title>", '<div id="root">')


@pytest.mark.smoke
@pytest.mark.plan("9.5")
def test_health_reports_ok_with_a_timestamp(http: TargetHttp) -> None:
    response = http.get("/health")
    assert response.status_code == 200, f"/health answered {response.status_code}"
    body = json_object(response)
    assert body is not None, f"/health did not answer a JSON object: {response.text[:120]!r}"
    assert body.get("status") == "ok", f"/health status is {body.get('status')!r}, not 'ok'"
    stamp = str(body.get("timestamp", ""))
    try:
        dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        pytest.fail(f"/health timestamp {stamp!r} is not ISO-8601")


@pytest.mark.plan("4.3")
def test_ready_is_checked_inside_the_cluster(profile: Profile) -> None:
    # /ready is deliberately not routed through the ingress (contract §2); it is
    # checked through a port-forward by the rollout gate where a cluster exists.
    if profile.kubernetes is None:
        pytest.skip("/ready is in-cluster only and this target has no Kubernetes API")
    pytest.skip("/ready is checked by the rollout gate through a port-forward")


@pytest.mark.smoke
@pytest.mark.parametrize("path", ["/", "/browse", "/records/123"])
def test_spa_serves_its_shell_for_app_routes(http: TargetHttp, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200, f"GET {path} answered {response.status_code}"
    for marker in SPA_MARKERS:
        assert marker in response.text, f"GET {path} is not the SPA shell (no {marker})"


def test_missing_asset_is_404_not_the_spa(http: TargetHttp) -> None:
    response = http.get("/assets/vvgate-missing-0000.js")
    assert response.status_code == 404, (
        f"a missing asset answered {response.status_code}"
        + (" with the SPA shell" if SPA_MARKERS[0] in response.text else ""))


def test_hashed_assets_are_cached_immutably(http: TargetHttp) -> None:
    shell = http.get("/").text
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', shell)
    assert assets, "the SPA shell references no /assets/ file"
    response = http.get(assets[0])
    assert response.status_code == 200, f"GET {assets[0]} answered {response.status_code}"
    cache = response.headers.get("cache-control", "")
    directives = {d.strip().lower() for d in cache.split(",")}
    assert {"public", "immutable"} <= directives, (
        f"{assets[0]} has Cache-Control {cache!r}; expected public, immutable")
