"""Profile validation: shipped profiles load, and every malformed one is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vvgate.errors import ConfigError
from vvgate.targets.profile import Kind, load_profile

BASE = """\
name: demo
kind: staging
host: demo.example.test
base_url: https://demo.example.test
"""


def _load(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_profile(str(path))
    message = info.value.one_line()
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["staging", "production"])
def test_shipped_profiles_are_valid(name: str) -> None:
    profile = load_profile(name)
    assert profile.kind is Kind(name)
    assert profile.kubernetes is not None
    assert profile.kubernetes.namespace == f"vinylvault-{name}"
    assert profile.allow_destructive is (name == "staging")


@pytest.mark.parametrize("kind", [k.value for k in Kind])
def test_defaults_that_write_are_off_for_production(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE.replace("kind: staging", f"kind: {kind}"))
    profile = load_profile(str(path))
    production = kind == "production"
    # Synthetic users, tenants and records, destructive checks, sign-ins at a stand-in.
    assert profile.allow_synthetic_users is not production
    assert profile.allow_destructive is False
    assert profile.oauth.stand_in is False
    # Said explicitly, production may have synthetic users.
    path.write_text(BASE.replace("kind: staging", f"kind: {kind}")
                    + "allow_synthetic_users: true\n")
    assert load_profile(str(path)).allow_synthetic_users is True


def test_production_protects_its_namespace_and_staging_protects_production() -> None:
    assert "vinylvault-production" in load_profile("production").read_only_namespaces
    assert "vinylvault-production" in load_profile("staging").read_only_namespaces
    assert "vinylvault-staging" not in load_profile("staging").read_only_namespaces


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE + "gates:\n  tls: [blocking\n")
    assert "p.yaml:" in message and "malformed YAML" in message
    line = int(message.split("p.yaml:")[1].split(":")[0])
    assert line in (6, 7)


def test_misspelt_key_is_refused_with_its_line(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE + "allow_destructiv: true\n")
    assert "p.yaml:5:" in message
    assert "allow_destructiv" in message and "Extra inputs are not permitted" in message


def test_wrong_kind_is_refused(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE.replace("kind: staging", "kind: prod"))
    assert "p.yaml:2:" in message and "kind" in message


def test_production_may_not_allow_destructive(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE.replace("kind: staging", "kind: production")
                    + "allow_destructive: true\n")
    assert "allow_destructive is refused for a production target" in message


def test_production_may_not_sign_in_at_a_stand_in(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE.replace("kind: staging", "kind: production")
                    + "oauth: {stand_in: true}\n")
    assert "oauth.stand_in is refused for a production target" in message


def test_a_cost_limit_needs_no_schema(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE + "graphql: {max_cost: 5000}\n")
    profile = load_profile(path)
    assert profile.graphql is not None and profile.graphql.max_cost == 5000
    assert profile.graphql.sdl == () and profile.oauth.stand_in is False


def test_a_literal_secret_value_is_refused(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE + "secrets:\n  SESSION_SECRET: s3cr3t-value-in-git\n")
    assert "secrets.SESSION_SECRET" in message
    assert "p.yaml:6:" in message


def test_unknown_gate_severity_is_refused(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE + "gates:\n  tsl: advisory\n")
    assert "unknown gate 'tsl'" in message


def test_unknown_severity_is_refused(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE + "gates:\n  tls: optional\n")
    assert "gates.tls" in message and "p.yaml:6:" in message


@pytest.mark.parametrize(
    ("waiver", "expected"),
    [
        ("{gate: tls, reason: 'renewal pending upstream'}", "expires"),
        ("{gate: tls, test: 'x', reason: 'renewal pending upstream', expires: 2030-01-01}",
         "exactly one of 'gate' or 'test'"),
        ("{gate: nope, reason: 'renewal pending upstream', expires: 2030-01-01}",
         "unknown gate 'nope'"),
        ("{gate: tls, reason: 'x', expires: 2030-01-01}", "reason"),
        # A date YAML cannot build either: the field's error with its line, never a crash.
        ("{gate: tls, reason: 'renewal pending upstream', expires: 2026-13-45}",
         "p.yaml:6: waivers.0.expires: Input should be a valid date"),
    ],
)
def test_bad_waivers_are_refused(tmp_path: Path, waiver: str, expected: str) -> None:
    assert expected in _load(tmp_path, BASE + f"waivers:\n  - {waiver}\n")


def test_base_url_must_be_https_on_the_host(tmp_path: Path) -> None:
    message = _load(tmp_path, BASE.replace("https://demo", "http://demo"))
    assert "base_url must be https://demo.example.test" in message


def test_load_run_shape_must_fit_its_caps(tmp_path: Path) -> None:
    load = (
        "load:\n  users: 80\n  spawn_rate: 2\n  duration_s: 60\n"
        "  caps: {max_users: 50, max_duration_s: 600, max_requests: 1000}\n"
        "  total: {p95_ms: 500, p99_ms: 900, max_failure_ratio: 0.01}\n"
    )
    assert "users 80 exceeds caps.max_users 50" in _load(tmp_path, BASE + load)


def test_unknown_target_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown target 'nope'; known targets: .*staging"):
        load_profile("nope")


def test_address_override_sets_where_connections_go(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE + "address_override: '127.0.0.1:8443'\n")
    assert load_profile(str(path)).connect_address() == ("127.0.0.1", 8443)
    path.write_text(BASE)
    assert load_profile(str(path)).connect_address() == ("demo.example.test", 443)
