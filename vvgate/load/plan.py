"""A load run's shape, checked against the profile's hard caps before any request is sent.

Pacing (`user_rate` journeys per second per user) bounds the run's request count in
advance: users x user_rate x duration x the most requests one journey makes. A shape over
the caps is refused (ConfigError, exit 2) unless forced; a forced run is still bounded, by
its own planned count.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vvgate.errors import ConfigError
from vvgate.load.steps import MAX_REQUESTS_PER_JOURNEY
from vvgate.targets.profile import LoadProfile


@dataclass(frozen=True)
class RunShape:
    users: int
    spawn_rate: float
    duration_s: int
    user_rate: float
    max_requests: int
    forced: bool = False

    @property
    def planned_requests(self) -> int:
        """The most requests this shape can send (setup requests included)."""
        journeys = self.users * self.user_rate * self.duration_s
        return math.ceil(journeys * MAX_REQUESTS_PER_JOURNEY) + self.users

    @property
    def target_rps(self) -> float:
        """Journeys per second the run holds once every user is running."""
        return self.users * self.user_rate


def shape(load: LoadProfile, users: int | None = None, duration_s: int | None = None,
          force: bool = False) -> RunShape:
    """The run's shape: the profile's, with command-line overrides, within the caps."""
    if users is not None and users < 1:
        raise ConfigError(f"--users must be at least 1, not {users}")
    if duration_s is not None and duration_s < 1:
        raise ConfigError(f"--duration must be at least 1 second, not {duration_s}")
    chosen = RunShape(users=users or load.users, spawn_rate=load.spawn_rate,
                      duration_s=duration_s or load.duration_s, user_rate=load.user_rate,
                      max_requests=load.caps.max_requests, forced=force)
    caps = load.caps
    over = []
    if chosen.users > caps.max_users:
        over.append(f"{chosen.users} users > caps.max_users {caps.max_users}")
    if chosen.duration_s > caps.max_duration_s:
        over.append(f"{chosen.duration_s} s > caps.max_duration_s {caps.max_duration_s}")
    if chosen.planned_requests > caps.max_requests:
        over.append(f"up to {chosen.planned_requests} requests > caps.max_requests "
                    f"{caps.max_requests}")
    if over and not force:
        raise ConfigError(f"load run refused: {'; '.join(over)} (the target's hard caps; "
                          "--force to run anyway)")
    if over:
        # Forced past the caps, the run is still bounded: by what this shape can send.
        return RunShape(chosen.users, chosen.spawn_rate, chosen.duration_s, chosen.user_rate,
                        max(caps.max_requests, chosen.planned_requests), forced=True)
    return chosen


def parse_duration(text: str) -> int:
    """`90`, `90s`, `2m` or `1m30s` -> seconds; anything else is a usage error."""
    match = re.fullmatch(r"\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", text)
    if not text.strip() or match is None or not any(match.groups()):
        raise ConfigError(f"--duration {text!r}: expected seconds, e.g. 30, 30s, 2m or 1m30s")
    minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return minutes * 60 + seconds
