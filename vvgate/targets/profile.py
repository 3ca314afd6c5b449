"""Target profiles: what to check on a deployment and how to reach it.

A profile never holds a secret value, only where to fetch one; `extra="forbid"`
everywhere so a misspelt key is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vvgate.errors import ConfigError
from vvgate.gates.catalog import GATES, Severity
from vvgate.load.steps import STEPS
from vvgate.paths import STATE_DIR, TARGETS_DIR
from vvgate.rules.model import DEFAULT_REGISTRIES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Kind(StrEnum):
    LOCAL = "local"
    STAGING = "staging"
    PRODUCTION = "production"


class EnvSecret(Strict):
    env: str


class FileSecret(Strict):
    """A KEY=VALUE env file kept outside git (for example the local target's 0600 file)."""

    file: Path
    key: str


class KubernetesSecretRef(Strict):
    secret: str
    key: str
    namespace: str | None = None


class KubernetesSecret(Strict):
    kubernetes: KubernetesSecretRef


SecretSource = EnvSecret | FileSecret | KubernetesSecret


def _not_a_literal(value: Any) -> Any:
    # The value itself never appears in the message: it may be the secret.
    if isinstance(value, str | int | float):
        raise ValueError("is a literal value; a profile names where the secret lives "
                         "({env: VAR}, {file: PATH, key: KEY} or {kubernetes: {secret: S, "
                         "key: KEY}}), never the secret itself")
    return value


class KubernetesAccess(Strict):
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str
    storage_class: str
    version: str = Field(default="1.31", pattern=r"^1\.\d+$")
    # Namespaces no fixture may ever write to from this profile, whatever its kind.
    protected_namespaces: tuple[str, ...] = ()
    # The cert-manager ClusterIssuer the overlay's Ingress names (default: the plan's).
    cluster_issuer: str | None = None


class DirectMongo(Strict):
    """A connection string held as a secret (it carries credentials)."""

    uri_secret: str


class PortForwardMongo(Strict):
    """Reach MongoDB through a Kubernetes port-forward to a Service or Pod."""

    service: str
    port: int = 27017
    username_secret: str
    password_secret: str
    auth_source: str = "admin"


class MongoInstance(Strict):
    access: DirectMongo | PortForwardMongo
    replica_set: str | None = None
    members: int = Field(default=1, ge=1)


class MongoAccess(Strict):
    bff: MongoInstance
    backend: MongoInstance
    session_database: str = "vinylvault_bff"
    registry_database: str = "vinylvault_registry"


class EndpointSlo(Strict):
    p95_ms: float = Field(gt=0)
    p99_ms: float = Field(gt=0)
    max_failure_ratio: float = Field(ge=0, le=1)
    min_rps: float = Field(default=0, ge=0)


class LoadCaps(Strict):
    max_users: int = Field(ge=1)
    max_duration_s: int = Field(ge=1)
    max_requests: int = Field(ge=1)


class JourneyWeights(Strict):
    anonymous: int = Field(default=1, ge=0)
    signed_in: int = Field(default=1, ge=0)


class LoadProfile(Strict):
    users: int = Field(ge=1)
    spawn_rate: float = Field(gt=0)
    duration_s: int = Field(ge=1)
    # Journeys per second per user (Locust constant_throughput): bounds the run's requests.
    user_rate: float = Field(default=1.0, gt=0)
    weights: JourneyWeights = JourneyWeights()
    caps: LoadCaps
    total: EndpointSlo
    endpoints: dict[str, EndpointSlo] = Field(default_factory=dict)
    # Requests one run may send per rate-limited path, kept under the target's per-client
    # limits (the BFF's 15-minute windows); a spent budget stops that path's steps.
    budgets: dict[str, int] = Field(default_factory=dict)
    # Abort when a threshold is breached by this factor, so a sick cluster is not hammered.
    abort_margin: float = Field(default=2.0, ge=1)
    baseline_tolerance: float = Field(default=0.25, ge=0)
    # A p95 this close to the baseline is noise, whatever the ratio (a few ms on a fast path).
    baseline_slack_ms: float = Field(default=25, ge=0)

    @field_validator("endpoints")
    @classmethod
    def _known_steps(cls, v: dict[str, EndpointSlo]) -> dict[str, EndpointSlo]:
        unknown = [name for name in v if name not in STEPS]
        if unknown:
            raise ValueError(f"unknown load step {unknown[0]!r}; known: {', '.join(STEPS)}")
        return v

    @field_validator("budgets")
    @classmethod
    def _budget_paths(cls, v: dict[str, int]) -> dict[str, int]:
        for path, count in v.items():
            if not path.startswith("/") or count < 0:
                raise ValueError(f"budgets: {path!r}: a path (/...) and a count >= 0")
        return v

    @model_validator(mode="after")
    def _within_caps(self) -> LoadProfile:
        if self.weights.anonymous + self.weights.signed_in == 0:
            raise ValueError("weights: at least one journey needs a weight above 0")
        if self.users > self.caps.max_users:
            raise ValueError(f"users {self.users} exceeds caps.max_users {self.caps.max_users}")
        if self.duration_s > self.caps.max_duration_s:
            raise ValueError(
                f"duration_s {self.duration_s} exceeds caps.max_duration_s "
                f"{self.caps.max_duration_s}"
            )
        return self


class Waiver(Strict):
    gate: str | None = None
    test: str | None = Field(default=None, description="pytest node id, or an fnmatch pattern")
    reason: str = Field(min_length=10)
    expires: dt.date

    @model_validator(mode="after")
    def _one_subject(self) -> Waiver:
        if (self.gate is None) == (self.test is None):
            raise ValueError("a waiver names exactly one of 'gate' or 'test'")
        if self.gate is not None and self.gate not in GATES:
            raise ValueError(f"unknown gate {self.gate!r}; known: {', '.join(GATES)}")
        return self

    @property
    def subject(self) -> str:
        return f"gate {self.gate}" if self.gate else f"test {self.test}"

    def expired(self, today: dt.date) -> bool:
        return self.expires < today


class GraphQLSettings(Strict):
    """The target's GraphQL schema (SDL files; a stitched schema may span several), which the
    suite builds every request from (without one it falls back to minimal shapes), and the
    server's cost limit, where it has one."""

    # `schema` in the YAML; the attribute cannot be named so on a pydantic model.
    sdl: tuple[Path, ...] = Field(default=(), alias="schema")
    max_cost: int | None = Field(default=None, ge=1, description="the server's cost limit")


class OAuthProvider(Strict):
    """Where the BFF sends a browser to sign in, and whether a verifier can sign in there."""

    authorize_url: str = "https://github.com/login/oauth/authorize"
    # True: the provider is a stand-in that signs in, without a prompt, whichever account
    # the browser names in `login` (GitHub's account hint). The suite then takes the whole
    # sign-in, code exchange included; against GitHub itself it cannot.
    stand_in: bool = False


class TlsExpectations(Strict):
    min_days_to_expiry: int = Field(default=21, ge=0)


class Profile(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Kind
    host: str
    base_url: str
    # "IP" or "IP:PORT": talk to the host there, with its SNI and Host header, without DNS.
    address_override: str | None = None
    http_port: int | None = Field(default=None, description="port of the plain-HTTP entrypoint")
    ca_bundle: Path | None = Field(default=None, description="PEM file; null means public roots")
    frontend_url: str | None = None
    kubernetes: KubernetesAccess | None = None
    mongodb: MongoAccess | None = None
    secrets: dict[str, Annotated[SecretSource, Field(union_mode="left_to_right"),
                                 BeforeValidator(_not_a_literal)]] = Field(
        default_factory=dict
    )
    tls: TlsExpectations = TlsExpectations()
    oauth: OAuthProvider = OAuthProvider()
    graphql: GraphQLSettings | None = None
    load: LoadProfile | None = None
    gates: dict[str, Severity] = Field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    allow_destructive: bool = False
    # Default per kind (_safe_defaults_per_kind): true, but false for production.
    allow_synthetic_users: bool = True
    # Where the static gate lets images come from: registry/path prefixes.
    image_registries: tuple[str, ...] = DEFAULT_REGISTRIES
    # What a report must say about how this target differs from what it stands in for (a
    # local cluster's volumes that are bind mounts, not NFS): each line goes into the run's
    # notes.
    notes: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _safe_defaults_per_kind(cls, data: Any) -> Any:
        # Whatever writes data into the target is off for production unless said there.
        if isinstance(data, dict) and "allow_synthetic_users" not in data:
            data = {**data, "allow_synthetic_users": data.get("kind") != Kind.PRODUCTION.value}
        return data

    @field_validator("host")
    @classmethod
    def _bare_host(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9.-]+", v):
            raise ValueError("host is a bare DNS name, without scheme, port or path")
        return v

    @field_validator("ca_bundle")
    @classmethod
    def _readable_pem(cls, v: Path | None) -> Path | None:
        if v is None:
            return v
        if not v.is_file():
            raise ValueError(f"ca_bundle {v} does not exist")
        try:
            ssl.create_default_context(cafile=str(v))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ValueError(f"ca_bundle {v} holds no PEM certificate the TLS stack can "
                             f"load ({exc.__class__.__name__})") from None
        return v

    @field_validator("address_override")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9a-fA-F.:\[\]]+", v):
            raise ValueError("address_override is 'IP' or 'IP:PORT'")
        return v

    @field_validator("gates")
    @classmethod
    def _known_gates(cls, v: dict[str, Severity]) -> dict[str, Severity]:
        unknown = [g for g in v if g not in GATES]
        if unknown:
            raise ValueError(f"unknown gate {unknown[0]!r}; known: {', '.join(GATES)}")
        return v

    @model_validator(mode="after")
    def _production_rules(self) -> Profile:
        if not self.base_url.startswith(f"https://{self.host}"):
            raise ValueError(f"base_url must be https://{self.host}[...]")
        if self.kind is Kind.PRODUCTION and self.allow_destructive:
            raise ValueError("allow_destructive is refused for a production target")
        if self.kind is Kind.PRODUCTION and self.oauth.stand_in:
            raise ValueError("oauth.stand_in is refused for a production target: its users "
                             "sign in at GitHub")
        for ref in self.secrets.values():
            if isinstance(ref, KubernetesSecret) and self.kubernetes is None:
                raise ValueError("a Kubernetes secret reference needs a 'kubernetes' section")
        return self

    def severity(self, gate: str, default: Severity = Severity.BLOCKING) -> Severity:
        """The profile's word on `gate`, else the gate's own default."""
        return self.gates.get(gate, default)

    @property
    def production(self) -> bool:
        return self.kind is Kind.PRODUCTION

    @property
    def read_only_namespaces(self) -> frozenset[str]:
        """Namespaces no write may reach; all of them on a production target."""
        if self.kubernetes is None:
            return frozenset()
        protected = set(self.kubernetes.protected_namespaces)
        if self.production:
            protected.add(self.kubernetes.namespace)
        return frozenset(protected)

    def connect_address(self) -> tuple[str, int]:
        """Where TCP connections for the public host really go."""
        default_port = 443
        if self.address_override is None:
            return self.host, default_port
        addr = self.address_override
        if addr.startswith("["):
            ip, _, port = addr[1:].partition("]:")
            return ip.rstrip("]"), int(port) if port else default_port
        if addr.count(":") == 1:
            ip, port = addr.split(":")
            return ip, int(port)
        return addr, default_port

    def summary(self) -> dict[str, Any]:
        """Non-secret facts about the target, for report metadata."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "host": self.host,
            "base_url": self.base_url,
            "address_override": self.address_override,
            "namespace": self.kubernetes.namespace if self.kubernetes else None,
            "storage_class": self.kubernetes.storage_class if self.kubernetes else None,
        }


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Line (1-based) of the YAML node at a pydantic error location, as deep as it resolves."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if getattr(k, "value", None) == part]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            # pydantic inserts union member names into the loc; skip them.
            continue
        line = node.start_mark.line + 1
    return line


# The target when none is named: `vvgate run` and pytest read it alike.
TARGET_ENV = "VVGATE_TARGET"


def resolve_profile_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path:
        if not candidate.is_file():
            raise ConfigError(f"target profile {name_or_path} does not exist")
        return candidate.resolve()
    named = TARGETS_DIR / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    generated = generated_profile_path(name_or_path)
    if generated.is_file():
        return generated
    if name_or_path == "local":
        raise ConfigError(
            f"the local target is not running (no profile at {generated}); start it with: "
            "vvgate local up"
        )
    known = ", ".join(sorted(profile_name(p) for p in list_profiles())) or "none"
    raise ConfigError(f"unknown target {name_or_path!r}; known targets: {known}")


def generated_profile_path(name: str) -> Path:
    """Profiles an environment writes for itself, such as the local target's."""
    return STATE_DIR / name / "target.yaml"


class _ProfileLoader(yaml.SafeLoader):
    """YAML as profiles read it: a date stays text until the profile parses it, so a date
    such as 2026-13-45 is reported as that field's error, with its line, not a crash."""


_ProfileLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def load_profile(name_or_path: str) -> Profile:
    path = resolve_profile_path(name_or_path)
    text = path.read_text(encoding="utf-8")
    shown = _display(path)
    try:
        root = yaml.compose(text)
        data = yaml.load(text, Loader=_ProfileLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.line >= len(text.splitlines()):
            # an error found only at the end of the file started where its context did
            mark = getattr(exc, "context_mark", None) or mark
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{shown}{where}: malformed YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: a profile is a YAML mapping")
    data = _relative_paths(data, path.parent)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        named = tuple(msg.split()[0].split(".")) if msg else ()
        if not loc and named and named[0] in Profile.model_fields:
            # A rule across fields names its field first ("allow_destructive is refused..."):
            # point at that field's line, not the profile's first.
            loc = named
        line = _line_of(root, loc)
        where = f":{line}" if line else ""
        field = ".".join(str(p) for p in loc if not _is_union_tag(p)) or "(profile)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{shown}{where}: {field}: {msg}{more}") from None


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and part in {
        "EnvSecret", "FileSecret", "KubernetesSecret", "DirectMongo", "PortForwardMongo"
    }


def _relative_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Resolve relative file paths in a profile against the profile's own folder."""
    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not value.startswith(("/", "~")):
            return str(base / value)
        if isinstance(value, str) and value.startswith("~"):
            return str(Path(value).expanduser())
        return value

    out = dict(data)
    if "ca_bundle" in out:
        out["ca_bundle"] = fix(out["ca_bundle"])
    kube = out.get("kubernetes")
    if isinstance(kube, dict) and "kubeconfig" in kube:
        out["kubernetes"] = {**kube, "kubeconfig": fix(kube["kubeconfig"])}
    graphql = out.get("graphql")
    if isinstance(graphql, dict) and isinstance(graphql.get("schema"), list):
        out["graphql"] = {**graphql, "schema": [fix(s) for s in graphql["schema"]]}
    secrets = out.get("secrets")
    if isinstance(secrets, dict):
        out["secrets"] = {
            k: {**v, "file": fix(v["file"])} if isinstance(v, dict) and "file" in v else v
            for k, v in secrets.items()
        }
    return out


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def list_profiles() -> list[Path]:
    shipped = sorted(TARGETS_DIR.glob("*.yaml"))
    generated = sorted(p for p in STATE_DIR.glob("*/target.yaml"))
    return shipped + [g for g in generated if g.parent.name not in {p.stem for p in shipped}]


def profile_name(path: Path) -> str:
    return path.parent.name if path.name == "target.yaml" else path.stem

