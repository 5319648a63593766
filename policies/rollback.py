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


class PathState(StrEnum):
    """Whether a path takes its traffic for a task type (`active`), takes none while it cools
    down (`rolled_back`), or takes a probe share (`probing`)."""

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
class RollbackState:
    """What the controller remembers of one (path, task type): its state and the recent outcomes
    (True = accepted) since the last change."""

    state: PathState = PathState.active
    outcomes: tuple[bool, ...] = ()
    changed_at: float = 0.0
    cooldown_s: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> "RollbackState":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            state=PathState(data["state"]),
            outcomes=tuple(data["outcomes"]),
            changed_at=data["changed_at"],
            cooldown_s=data["cooldown_s"],
        )


@dataclass(frozen=True)
class Transition:
    """A change of state with the figures that caused it, as recorded in an event row."""

    from_state: PathState
    to_state: PathState
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
    current: RollbackState, accepted: bool, now: float, limits: RollbackThresholds
) -> tuple[RollbackState, Transition | None]:
    """Count one outcome of the path; may roll it back, restore it, or roll it back again."""
    if current.state is PathState.rolled_back:
        return current, None  # late results of traffic sent before the rollback
    window = limits.window if current.state is PathState.active else limits.probes_needed
    outcomes = (*current.outcomes, accepted)[-window:]
    samples, failures = _figures(outcomes)
    rate = failures / samples
    if current.state is PathState.active:
        if samples >= limits.min_samples and rate > limits.max_failure_rate:
            cooldown = limits.cooldown_s
            reason = (
                f"failure rate {rate:.0%} over {samples} outcomes > {limits.max_failure_rate:.0%}"
            )
            return _move(current, PathState.rolled_back, now, cooldown, reason, samples, failures)
        return replace(current, outcomes=outcomes), None
    if samples < limits.probes_needed:
        return replace(current, outcomes=outcomes), None
    if rate > limits.max_failure_rate:
        cooldown = min(current.cooldown_s * 2, limits.max_cooldown_s)
        reason = f"probes failed: {failures} of {samples}; cooldown doubled to {cooldown:g}s"
        return _move(current, PathState.rolled_back, now, cooldown, reason, samples, failures)
    reason = f"probes healthy: {failures} of {samples} failed"
    return _move(current, PathState.active, now, 0.0, reason, samples, failures)


def admit(
    current: RollbackState, now: float, draw: float, limits: RollbackThresholds
) -> tuple[bool, RollbackState, Transition | None]:
    """Whether a request may use the path; `draw` is uniform in [0, 1). A rolled-back path whose
    cooldown has passed starts probing here."""
    transition = None
    if current.state is PathState.rolled_back:
        if now - current.changed_at < current.cooldown_s:
            return False, current, None
        current, transition = _move(
            current,
            PathState.probing,
            now,
            current.cooldown_s,
            f"cooldown of {current.cooldown_s:g}s over; probing with {limits.probe_share:.0%}",
            0,
            0,
        )
    if current.state is PathState.probing:
        return draw < limits.probe_share, current, transition
    return True, current, transition


def cooling_down(current: RollbackState, now: float) -> bool:
    """Whether the path is rolled back and its cooldown still runs: no traffic at all, not even
    work that was queued for it before the rollback."""
    return current.state is PathState.rolled_back and now - current.changed_at < current.cooldown_s


def force(
    current: RollbackState, target: PathState, now: float, limits: RollbackThresholds
) -> tuple[RollbackState, Transition | None]:
    """An operator's rollback or restore."""
    if current.state is target:
        return current, None
    samples, failures = _figures(current.outcomes)
    cooldown = limits.cooldown_s if target is PathState.rolled_back else 0.0
    return _move(current, target, now, cooldown, "set by an operator", samples, failures)


def _move(
    current: RollbackState,
    state: PathState,
    now: float,
    cooldown_s: float,
    reason: str,
    samples: int,
    failures: int,
) -> tuple[RollbackState, Transition]:
    moved = RollbackState(state=state, outcomes=(), changed_at=now, cooldown_s=cooldown_s)
    return moved, Transition(current.state, state, reason, samples, failures, cooldown_s)
