"""The rollback controller's path states in Redis, shared by every API process and worker, and
their events in PostgreSQL.

The state machine is `genroute.policies.rollback`; this module only loads, applies and stores
it. Each update is an optimistic Redis transaction (WATCH the key, apply the pure function,
write), so concurrent processes never lose each other's outcomes; each transition becomes an
event row.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.orm import Session

from genroute.db.models import RollbackEvent
from genroute.policies.rollback import (
    PathState,
    RollbackState,
    RollbackThresholds,
    Transition,
    admit,
    cooling_down,
    force,
    observe,
)
from genroute.runtime.redis_keys import PATH_STATE_PREFIX, path_state_key

log = logging.getLogger(__name__)

# One change of a stored state, given it and Redis' clock: (value, new state, transition).
Step = Callable[[RollbackState, float], tuple[Any, RollbackState, Transition | None]]


@dataclass(frozen=True)
class Admission:
    """Whether one request may use the path, the state it saw, and any change it caused."""

    admitted: bool
    state: PathState
    transition: Transition | None


def _seconds(clock: tuple[int, int]) -> float:
    """Redis' TIME reply (seconds, microseconds) as seconds."""
    return clock[0] + clock[1] / 1_000_000


class PathStateStore:
    """Every process's view of the path states, on Redis' clock: cooldowns are stored and
    compared in Redis' time, so hosts whose clocks disagree still agree on when a cooldown
    ends (as leases use the database's clock and the rate limiter Redis')."""

    def __init__(self, client: redis.Redis, limits: RollbackThresholds) -> None:
        self._client = client
        self._limits = limits

    def _update(
        self, path: str, task_type: str, step: Step
    ) -> tuple[Any, RollbackState, Transition | None]:
        key = path_state_key(path, task_type)
        result: list[Any] = []

        def apply(pipe: redis.client.Pipeline) -> None:
            current = RollbackState.from_json(pipe.get(key))
            value, updated, transition = step(current, _seconds(pipe.time()))
            pipe.multi()
            if updated != current:
                pipe.set(key, updated.to_json())
            result[:] = [value, updated, transition]

        self._client.transaction(apply, key)
        return result[0], result[1], result[2]

    def admit(self, path: str, task_type: str) -> Admission:
        return self.admit_many(path, task_type, 1)[0]

    def admit_many(self, path: str, task_type: str, count: int) -> list[Admission]:
        """`count` admissions in one Redis transaction (as if made one after another), so a
        batch of submissions costs one round of Redis calls per (path, task type)."""

        def step(
            current: RollbackState, now: float
        ) -> tuple[list[Admission], RollbackState, Transition | None]:
            admissions, first_transition = [], None
            for _ in range(count):
                admitted, current, transition = admit(current, now, random.random(), self._limits)
                admissions.append(Admission(admitted, current.state, transition))
                first_transition = first_transition or transition
            return admissions, current, first_transition

        return self._update(path, task_type, step)[0]

    def observe(self, path: str, task_type: str, accepted: bool) -> Transition | None:
        return self._change(
            path, task_type, lambda current, now: observe(current, accepted, now, self._limits)
        )

    def force(self, path: str, task_type: str, state: PathState) -> Transition | None:
        return self._change(
            path, task_type, lambda current, now: force(current, state, now, self._limits)
        )

    def _change(
        self,
        path: str,
        task_type: str,
        change: Callable[[RollbackState, float], tuple[RollbackState, Transition | None]],
    ) -> Transition | None:
        return self._update(path, task_type, lambda current, now: (None, *change(current, now)))[2]

    def cooling_down(self, path: str, task_type: str) -> bool:
        """Whether the path is rolled back for `task_type` and its cooldown still runs."""
        return path in self.cooling_down_paths([path], task_type)

    def cooling_down_paths(self, paths: list[str], task_type: str) -> set[str]:
        """Those of `paths` rolled back for `task_type` with their cooldown still running, in
        one round trip."""
        states, now = self._states_and_clock(paths, task_type)
        return {path for path, state in states.items() if cooling_down(state, now)}

    def states_of(self, paths: list[str], task_type: str) -> dict[str, RollbackState]:
        return self._states_and_clock(paths, task_type)[0]

    def _states_and_clock(
        self, paths: list[str], task_type: str
    ) -> tuple[dict[str, RollbackState], float]:
        pipe = self._client.pipeline(transaction=False)
        pipe.mget([path_state_key(path, task_type) for path in paths])
        pipe.time()
        stored, clock = pipe.execute()
        states = {
            path: RollbackState.from_json(value) for path, value in zip(paths, stored, strict=True)
        }
        return states, _seconds(clock)

    def all(self) -> dict[tuple[str, str], RollbackState]:
        keys = sorted(self._client.scan_iter(match=f"{PATH_STATE_PREFIX}*"))
        values = self._client.mget(keys) if keys else []
        states = {}
        for key, value in zip(keys, values, strict=True):
            path, task_type = key.decode().removeprefix(PATH_STATE_PREFIX).split(":", 1)
            states[(path, task_type)] = RollbackState.from_json(value)
        return states


def record_event(
    session: Session, path: str, task_type: str, transition: Transition, manual: bool = False
) -> None:
    """Add the event row for `transition`; the caller commits."""
    session.add(
        RollbackEvent(
            path=path,
            task_type=task_type,
            from_state=transition.from_state.value,
            to_state=transition.to_state.value,
            samples=transition.samples,
            failures=transition.failures,
            failure_rate=round(transition.failure_rate, 4),
            cooldown_s=transition.cooldown_s,
            reason=transition.reason,
            manual=manual,
        )
    )
    log.warning(
        "%s/%s: %s -> %s (%s)",
        path,
        task_type,
        transition.from_state,
        transition.to_state,
        transition.reason,
    )
