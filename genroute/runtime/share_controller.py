"""The adaptive-share controller's I/O: every `interval_s`, for each rule with an adaptive share
and each task type it splits, read both paths' first attempts on live traffic (production and
shadow copies) over `window_s` and their rollback states, ask the pure controller
(policies/adaptive_share.py) for the next share, and record a move as an event in PostgreSQL.

Every API process runs one, and the share still moves once per interval, not once per process:
inside a transaction-scoped advisory lock (one step at a time), a process steps only if it is
the first to take this interval's round (a Redis key set if absent, expiring after one
interval, on Redis' clock). Without the round, process B would step right after A on the same
evidence, from A's new share, and `max_step` would become N times itself. Routing reads the
latest event (live_figures.py), so every process splits by the same share.
"""

import logging
import os
from datetime import timedelta

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import PathName, ShareView
from genroute.db.path_outcomes import LIVE_TRAFFIC, first_attempts
from genroute.db.share_events import add_share_event, current_shares
from genroute.policies import RoutingPolicy
from genroute.policies.adaptive_share import (
    PathEvidence,
    ShareStep,
    next_share,
    other_path,
    settled_share,
)
from genroute.policies.rollback import PathState
from genroute.runtime.path_states import PathStateStore
from genroute.runtime.periodic import Periodic
from genroute.runtime.redis_keys import SHARE_ROUND_KEY

log = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key: one share step at a time across every API process.
_LOCK_KEY = 0x67656E7368617265  # "genshare"


def path_evidence(
    session: Session, task_type: str, paths: list[PathName], window: timedelta | None
) -> dict[PathName, PathEvidence]:
    """Each path's first attempts at `task_type` on live traffic, as the controller reads it."""
    found = first_attempts(session, task_type, [p.value for p in paths], window, LIVE_TRAFFIC)
    return {
        PathName(name): PathEvidence(f.outcomes, f.accepted, f.mean_cost, f.cost_sd, f.p95_ms)
        for name, f in found.items()
    }


def share_views(session: Session, policy: RoutingPolicy) -> list[ShareView]:
    """Every adaptive share of `policy` as it stands: its latest move, or its start."""
    moved = current_shares(session)
    views = []
    for rule, spec, task_types in policy.adaptive_rules():
        for task_type in task_types:
            current = moved.get((rule.name, task_type))
            views.append(
                ShareView(
                    rule=rule.name,
                    task_type=task_type,
                    path=rule.path.value,
                    other_path=other_path(rule.path).value,
                    share=spec.start if current is None else spec.clamp(current.share),
                    min=spec.min,
                    max=spec.max,
                    objective=spec.objective,
                    reason="no move yet: the starting share" if current is None else current.reason,
                    changed_at=None if current is None else current.changed_at,
                    event_id=None if current is None else current.event_id,
                )
            )
    return views


def settled_shares(
    session: Session, policy: RoutingPolicy, window: timedelta | None
) -> dict[tuple[str, str], ShareStep]:
    """Where each of `policy`'s adaptive shares would settle on the live evidence (rollback
    states aside: replay asks what the rules would do)."""
    settled = {}
    for rule, spec, task_types in policy.adaptive_rules():
        pair = [rule.path, other_path(rule.path)]
        for task_type in task_types:
            evidence = path_evidence(session, task_type, pair, window)
            settled[(rule.name, task_type)] = settled_share(spec, rule.path, evidence, {})
    return settled


class ShareController(Periodic):
    """Moves every adaptive share once per `interval_s`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: RoutingPolicy,
        path_states: PathStateStore,
        broker: redis.Redis,
        *,
        window_s: float,
        interval_s: float,
    ) -> None:
        super().__init__("share-controller", interval_s, self.step_once)
        self.interval_s = interval_s
        self._broker = broker
        self._sessions = sessions
        self._policy = policy
        self._path_states = path_states
        self._window = timedelta(seconds=window_s)

    def step_once(self) -> list[ShareStep]:
        """One step for every (rule, task type); returns the moves it recorded (none when
        another process holds the lock)."""
        moves: list[ShareStep] = []
        with self._sessions.begin() as session:
            if not session.execute(select(func.pg_try_advisory_xact_lock(_LOCK_KEY))).scalar():
                return moves
            if not self._take_round():
                return moves
            shares = current_shares(session)
            for rule, spec, task_types in self._policy.adaptive_rules():
                pair = [rule.path, other_path(rule.path)]
                for task_type in task_types:
                    current = shares.get((rule.name, task_type))
                    before = spec.start if current is None else current.share
                    blocked = self._blocked(pair, task_type)
                    if blocked is None:
                        continue
                    evidence = path_evidence(session, task_type, pair, self._window)
                    step = next_share(spec, rule.path, before, evidence, blocked)
                    if not step.moved_from(before):
                        continue
                    add_share_event(
                        session,
                        rule=rule.name,
                        task_type=task_type,
                        path=rule.path.value,
                        other_path=pair[1].value,
                        from_share=before,
                        to_share=step.share,
                        reason=step.reason,
                        evidence=step.evidence,
                        policy_version=self._policy.version,
                    )
                    log.info("share %s/%s: %.3f -> %.3f (%s)", rule.name, task_type, before,
                             step.share, step.reason)  # fmt: skip
                    moves.append(step)
        return moves

    def _take_round(self) -> bool:
        """Whether this process takes this interval's step (no other did within one interval);
        False when Redis cannot say (the shares then hold)."""
        try:
            taken = self._broker.set(
                SHARE_ROUND_KEY, os.getpid(), nx=True, px=max(1, int(self.interval_s * 1000))
            )
        except redis.RedisError as exc:
            log.warning("share round unreadable (%s); adaptive shares hold", exc)
            return False
        return bool(taken)

    def _blocked(self, pair: list[PathName], task_type: str) -> dict[PathName, str] | None:
        """Paths of `pair` the rollback controller has taken off this task type, with why;
        None when the states cannot be read (the share then holds)."""
        try:
            states = self._path_states.states_of([p.value for p in pair], task_type)
        except redis.RedisError as exc:
            log.warning("path states unreadable (%s); adaptive shares hold", exc)
            return None
        return {
            path: f"is {states[path.value].state.value} after a rollback"
            for path in pair
            if states[path.value].state is not PathState.active
        }
