"""The deployment plan's items, read from deployment_plan.yaml: the one list of plan ids."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vvgate.errors import ConfigError

PLAN_FILE = Path(__file__).with_name("deployment_plan.yaml")
GATE, MANUAL = "gate", "manual"
_ID = re.compile(r"^\d(\.\d+){1,2}$")


@dataclass(frozen=True)
class PlanItem:
    id: str
    text: str
    verify: str  # GATE or MANUAL
    deviation: str | None = None

    @property
    def phase(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def manual(self) -> bool:
        return self.verify == MANUAL


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    items: tuple[PlanItem, ...]


@dataclass(frozen=True)
class Plan:
    phases: tuple[Phase, ...]

    @functools.cached_property
    def by_id(self) -> dict[str, PlanItem]:
        return {item.id: item for phase in self.phases for item in phase.items}

    def unknown(self, ids: tuple[str, ...]) -> list[str]:
        return [i for i in ids if i not in self.by_id]


def _item(raw: Any, phase: str) -> PlanItem:
    if not isinstance(raw, dict):
        raise ConfigError(f"{PLAN_FILE.name}: phase {phase}: an item is not a mapping")
    item_id, verify = str(raw.get("id", "")), raw.get("verify")
    if not isinstance(raw.get("id"), str) or not _ID.match(item_id) \
            or item_id.split(".")[0] != phase:
        raise ConfigError(f"{PLAN_FILE.name}: phase {phase}: bad item id {raw.get('id')!r} "
                          f"(write it quoted, as '{phase}.N' or '{phase}.N.M')")
    if verify not in (GATE, MANUAL) or not raw.get("text"):
        raise ConfigError(f"{PLAN_FILE.name}: item {item_id}: needs text and verify "
                          f"({GATE} or {MANUAL})")
    return PlanItem(item_id, str(raw["text"]), verify, raw.get("deviation"))


@functools.cache
def load_plan(path: Path = PLAN_FILE) -> Plan:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    phases = []
    for raw in data["phases"]:
        phase_id = str(raw["id"])
        phases.append(Phase(phase_id, str(raw["title"]),
                            tuple(_item(i, phase_id) for i in raw["items"])))
    plan = Plan(tuple(phases))
    ids = [i.id for p in plan.phases for i in p.items]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"{path.name}: an item id appears twice")
    return plan


def check_claims(plan: Plan, ids: tuple[str, ...], where: str) -> None:
    """A check's claimed ids: known, and not a manual step no check can verify."""
    if not ids:
        raise ConfigError(f"{where}: plan() names no plan item")
    unknown = plan.unknown(ids)
    if unknown:
        raise ConfigError(f"{where}: unknown plan item {unknown[0]!r} "
                          f"({PLAN_FILE.name} lists the ids)")
    manual = [i for i in ids if plan.by_id[i].manual]
    if manual:
        raise ConfigError(f"{where}: plan item {manual[0]} is a manual step; no check can "
                          "verify it")


def phase_marker(item_id: str) -> str:
    return f"phase{item_id.split('.', 1)[0]}"
