"""The rollback controller's state machine, per (path, task type). Pure: callers pass the clock
and a random draw, store the state, and record the transitions.

active --(failure rate over the window crosses the threshold)--> rolled_back
rolled_back --(cooldown elapsed, at the next admission)--> probing
probing --(enough probes, failure rate within the threshold)--> active
probing --(probes fail)--> rolled_back, with the cooldown doubled (up to a ceiling)
"""

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class HealthState(StrEnum):
    active = "active"
    rolled_back = "rolled_back"
    probing = "probing"


class RollbackThresholds(BaseModel):
    """The policy file's `rollback:` block."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(default=20, ge=1, le=10_000)
    min_samples: int = Field(default=10, ge=1)
    max_failure_rate: float = Field(default=0.5, ge=0, le=1)
    cooldown_s: float = Field(default=60.0, gt=0)
    max_cooldown_s: float = Field(default=3600.0, gt=0)
    probe_share: float = Field(default=0.2, gt=0, le=1)
    probes_needed: int = Field(default=5, ge=1)


@dataclass(frozen=True)
class PathHealth:
    """What the controller remembers: recent outcomes (True = accepted) since the last change."""

    state: HealthState = HealthState.active
    outcomes: tuple[bool, ...] = ()
    changed_at: float = 0.0
    cooldown_s: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> "PathHealth":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            state=HealthState(data["state"]),
            outcomes=tuple(data["outcomes"]),
            changed_at=data["changed_at"],
            cooldown_s=data["cooldown_s"],
        )


@dataclass(frozen=True)
class Transition:
    """A change of state with the figures that caused it, as recorded in an event row."""

    from_state: HealthState
    to_state: HealthState
    reason: str
    samples: int
    failures: int
    cooldown_s: float = 0.0

    @property
    def failure_rate(self) -> float:
        return self.failures / self.samples if self.samples else 0.0


def _figures(outcomes: tuple[bool, ...]) -> tuple[int, int]:
    return len(outcomes), sum(1 for ok in outcomes if not ok)


def observe(
    health: PathHealth, accepted: bool, now: float, limits: RollbackThresholds
) -> tuple[PathHealth, Transition | None]:
    """Count one outcome of the path; may roll it back, restore it, or roll it back again."""
    if health.state is HealthState.rolled_back:
        return health, None  # late results of traffic sent before the rollback
    window = limits.window if health.state is HealthState.active else limits.probes_needed
    outcomes = (*health.outcomes, accepted)[-window:]
    samples, failures = _figures(outcomes)
    rate = failures / samples
    if health.state is HealthState.active:
        if samples >= limits.min_samples and rate > limits.max_failure_rate:
            cooldown = limits.cooldown_s
            reason = (
                f"failure rate {rate:.0%} over {samples} outcomes > {limits.max_failure_rate:.0%}"
            )
            return _move(health, HealthState.rolled_back, now, cooldown, reason, samples, failures)
        return replace(health, outcomes=outcomes), None
    if samples < limits.probes_needed:
        return replace(health, outcomes=outcomes), None
    if rate > limits.max_failure_rate:
        cooldown = min(health.cooldown_s * 2, limits.max_cooldown_s)
        reason = f"probes failed: {failures} of {samples}; cooldown doubled to {cooldown:g}s"
        return _move(health, HealthState.rolled_back, now, cooldown, reason, samples, failures)
    reason = f"probes healthy: {failures} of {samples} failed"
    return _move(health, HealthState.active, now, 0.0, reason, samples, failures)


def admit(
    health: PathHealth, now: float, draw: float, limits: RollbackThresholds
) -> tuple[bool, PathHealth, Transition | None]:
    """Whether a request may use the path; `draw` is uniform in [0, 1). A rolled-back path whose
    cooldown has passed starts probing here."""
    transition = None
    if health.state is HealthState.rolled_back:
        if now - health.changed_at < health.cooldown_s:
            return False, health, None
        health, transition = _move(
            health,
            HealthState.probing,
            now,
            health.cooldown_s,
            f"cooldown of {health.cooldown_s:g}s over; probing with {limits.probe_share:.0%}",
            0,
            0,
        )
    if health.state is HealthState.probing:
        return draw < limits.probe_share, health, transition
    return True, health, transition


def cooling_down(health: PathHealth, now: float) -> bool:
    """Whether the path is rolled back and its cooldown still runs: no traffic at all, not even
    work that was queued for it before the rollback."""
    return health.state is HealthState.rolled_back and now - health.changed_at < health.cooldown_s


def force(
    health: PathHealth, state: HealthState, now: float, limits: RollbackThresholds
) -> tuple[PathHealth, Transition | None]:
    """An operator's rollback or restore."""
    if health.state is state:
        return health, None
    samples, failures = _figures(health.outcomes)
    cooldown = limits.cooldown_s if state is HealthState.rolled_back else 0.0
    return _move(health, state, now, cooldown, "set by an operator", samples, failures)


def _move(
    health: PathHealth,
    state: HealthState,
    now: float,
    cooldown_s: float,
    reason: str,
    samples: int,
    failures: int,
) -> tuple[PathHealth, Transition]:
    moved = PathHealth(state=state, outcomes=(), changed_at=now, cooldown_s=cooldown_s)
    return moved, Transition(health.state, state, reason, samples, failures, cooldown_s)
