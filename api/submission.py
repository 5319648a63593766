"""Accepting requests: route each (rules, privacy tier, path state), insert the new ones in
one statement with their idempotency keys, commit, then publish. Single and batch submission
both come through here, so they behave the same; a single submit is a batch of one.

Persist first, then publish: a task is never in the broker without its row, and one that
misses the broker is republished by the sweeper.
"""

import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from celery import Celery
from fastapi import Depends
from sqlalchemy.orm import Session, sessionmaker

from genroute.api.auth import Principal, Submitter
from genroute.api.auto_task_types import AutoTaskTypes
from genroute.api.deps import (
    AutoTaskTypesDep,
    CeleryDep,
    LiveFiguresDep,
    PathStatesDep,
    PolicyDep,
    RateLimiterDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from genroute.api.rate_limits import charge
from genroute.api.replays import Outcome, Submitted, repeat_of, replay_of
from genroute.api.request_checks import check_request
from genroute.api.shadows import priority_of, shadow_rows
from genroute.contract import Route, RouteDecision, TaskAccepted, TaskRequest, TaskStatus
from genroute.db.models import Task
from genroute.db.submissions import insert_tasks, tasks_by_idempotency_key
from genroute.db.tasks import task_row
from genroute.errors import RequestRejected
from genroute.observability.logs import log_context
from genroute.observability.metrics import TASKS_SUBMITTED
from genroute.policies import RoutingPolicy
from genroute.policies.adaptive_share import other_path
from genroute.policies.deadlines import meet_budget
from genroute.policies.route_steps import after_rules
from genroute.runtime.live_figures import LiveFigures
from genroute.runtime.path_states import Admission, PathStateStore, record_event
from genroute.runtime.publishing import publish_committed
from genroute.runtime.queueing import Message
from genroute.runtime.ratelimit import RateLimiter
from genroute.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Submission:
    """One API call's submissions, on behalf of `principal`."""

    session: Session
    sessions: sessionmaker[Session]
    policy: RoutingPolicy
    path_states: PathStateStore
    settings: Settings
    celery: Celery
    principal: Principal
    limiter: RateLimiter
    auto: AutoTaskTypes
    live: LiveFigures

    def charge(self, cost: int) -> None:
        """Spend `cost` of the key's submission rate, or refuse the whole call with 429."""
        charge(self.limiter, self.principal, self.settings.rate_limit_per_minute, cost)

    def submit(
        self,
        requests: list[TaskRequest],
        before_commit: Callable[[list[Outcome]], None] | None = None,
    ) -> list[Outcome]:
        """One outcome per request, in order. Nothing is published before the commit;
        `before_commit` sees the outcomes inside the transaction that makes the tasks (so a
        caller's own record of them, and any lock it holds, commit with them)."""
        outcomes: list[Outcome | None] = [None] * len(requests)
        resolved: list[tuple[TaskRequest, dict[str, Any] | None]] = []
        for index, request in enumerate(requests):
            try:
                resolved.append(self.auto.resolve(request))
            except RequestRejected as exc:  # refuses this request, not the whole call
                outcomes[index] = exc
                resolved.append((request, None))
        requests = [request for request, _ in resolved]
        keys = [r.idempotency_key for r in requests if r.idempotency_key]
        earlier = tasks_by_idempotency_key(self.session, self.principal.owner, keys)
        by_rules, first_of_key = self._route_by_rules(requests, earlier, outcomes)
        routed: dict[int, RouteDecision] = {}
        new_rows: dict[int, dict[str, Any]] = {}
        for index, outcome in self._with_path_states(requests, by_rules).items():
            if isinstance(outcome, RequestRejected):
                outcomes[index] = outcome
                continue
            routed[index] = outcome
            new_rows[index] = task_row(
                requests[index],
                outcome,
                self.settings.max_attempts,
                self.principal.owner,
                self.principal.key_id,
                classification=resolved[index][1],
            )
        inserted = insert_tasks(self.session, list(new_rows.values()))
        created = [i for i in sorted(new_rows) if new_rows[i]["id"] in inserted]
        shadows = shadow_rows(
            self.policy,
            self.principal,
            [(new_rows[i], requests[i], routed[i]) for i in created],
        )
        insert_tasks(self.session, shadows)
        self._settle_races(requests, new_rows, routed, inserted, outcomes)
        for index, request in enumerate(requests):  # repeats of a key within this call
            if outcomes[index] is None:
                first = first_of_key[request.idempotency_key or ""]
                outcomes[index] = repeat_of(outcomes[first], requests[first], request)
        if before_commit is not None:
            before_commit([outcome for outcome in outcomes if outcome is not None])
        self.session.commit()
        for index in created:
            self._accepted(new_rows[index]["id"], requests[index], routed[index])
        self._publish([new_rows[index] for index in created] + shadows)
        return [outcome for outcome in outcomes if outcome is not None]

    def _route_by_rules(
        self,
        requests: list[TaskRequest],
        earlier: dict[str, Task],
        outcomes: list[Outcome | None],
    ) -> tuple[dict[int, RouteDecision], dict[str, int]]:
        """The rules' decision for each request that needs a new task, and where each
        idempotency key first appears. Replays of earlier tasks and rejections go straight
        into `outcomes`; later repeats of a key in this call are left for after the insert."""
        by_rules: dict[int, RouteDecision] = {}
        first_of_key: dict[str, int] = {}
        for index, request in enumerate(requests):
            if outcomes[index] is not None:  # refused already (an `auto` that did not resolve)
                continue
            key = request.idempotency_key
            if key in earlier:
                outcomes[index] = replay_of(earlier[key], request)
            elif key is None or key not in first_of_key:
                try:
                    by_rules[index] = self._decide(request)
                except RequestRejected as exc:
                    outcomes[index] = exc
                    continue
                if key is not None:
                    first_of_key[key] = index
        return by_rules, first_of_key

    def _accepted(self, task_id: uuid.UUID, request: TaskRequest, decision: RouteDecision) -> None:
        """Count and log one new task (the log line carries its id, like the workers' lines)."""
        path = decision.path.value
        TASKS_SUBMITTED.labels(path, request.task_type).inc()
        with log_context(task_id=str(task_id), path=path, owner=self.principal.owner):
            log.info("accepted %s task on %s (%s)", request.task_type, path, decision.rule)

    def _decide(self, request: TaskRequest) -> RouteDecision:
        """Check the request, then route it: the rules, their split and cheapest output
        (route_steps), then its latency budget."""
        check_request(request, self.policy.catalog, self.settings.max_input_chars)
        decision = self.policy.decide(request)
        splits = self.policy.adaptive_share(decision) is not None
        cheapest = self.policy.prefers_cheapest(decision)
        decision = after_rules(  # only the live figures the rule uses are read
            self.policy,
            request,
            decision,
            share_now=self.live.share(decision.rule, request.task_type) if splits else None,
            draw=random.random(),
            cooling_down=self._cooling_down(request, decision) if splits else set(),
            costs=self.live.costs(request.task_type) if cheapest else {},
        )
        if request.latency_budget_ms is None:
            return decision
        estimates = self.live.estimates(
            request.task_type, request.priority, decision.max_output_tokens
        )
        return meet_budget(decision, request, estimates, self.policy.allowed_paths(request))

    def _cooling_down(self, request: TaskRequest, decision: RouteDecision) -> set[Route]:
        """The paths of the decision's adaptive split that are cooling down after a rollback."""
        pair = [path.value for path in (decision.path, other_path(decision.path))]
        try:
            return {Route(p) for p in self.path_states.cooling_down_paths(pair, request.task_type)}
        except redis.RedisError:
            return set()  # admission below still keeps traffic off a rolled-back path

    def _with_path_states(
        self, requests: list[TaskRequest], decided: dict[int, RouteDecision]
    ) -> dict[int, RouteDecision | RequestRejected]:
        """Each decision as the rollback controller leaves it, admitting a whole group of one
        (path, task type) in one Redis transaction."""
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, decision in decided.items():
            if self.policy.can_roll_back(decision.path):
                groups[(decision.path.value, requests[index].task_type)].append(index)
        final: dict[int, RouteDecision | RequestRejected] = dict(decided)
        for (path, task_type), indexes in groups.items():
            try:
                admissions = self.path_states.admit_many(path, task_type, len(indexes))
            except redis.RedisError:
                # Path states live in Redis; without them, keep accepting on the rules' route
                # (the task is persisted and the sweeper publishes it once the broker is back).
                log.warning("path state unreadable; routing %s by the rules alone", path)
                admissions = [None] * len(indexes)
            for index, admission in zip(indexes, admissions, strict=True):
                try:
                    final[index] = self._apply(decided[index], admission, requests[index])
                except RequestRejected as exc:
                    final[index] = exc
        return final

    def _apply(
        self, decision: RouteDecision, admission: Admission | None, request: TaskRequest
    ) -> RouteDecision:
        tier = request.privacy_tier
        if admission is None:
            return self.policy.with_path_state(decision, "unknown", True, tier)
        if admission.transition is not None:
            path = decision.path.value
            record_event(self.session, path, request.task_type, admission.transition)
        state = admission.state.value
        return self.policy.with_path_state(decision, state, admission.admitted, tier)

    def _settle_races(
        self,
        requests: list[TaskRequest],
        new_rows: dict[int, dict[str, Any]],
        routed: dict[int, RouteDecision],
        inserted: set[uuid.UUID],
        outcomes: list[Outcome | None],
    ) -> None:
        """New rows answer as accepted; a row another transaction beat to its idempotency key
        answers with the winner's task."""
        lost = [i for i, row in new_rows.items() if row["id"] not in inserted]
        winners = tasks_by_idempotency_key(
            self.session,
            self.principal.owner,
            [requests[i].idempotency_key or "" for i in lost],
        )
        for index, row in new_rows.items():
            if row["id"] in inserted:
                accepted = TaskAccepted(id=row["id"], status=TaskStatus.queued, route=routed[index])
                outcomes[index] = Submitted(accepted)
            else:
                key = requests[index].idempotency_key
                outcomes[index] = replay_of(winners[key], requests[index])

    def _publish(self, rows: list[dict[str, Any]]) -> None:
        messages = [
            Message(row["id"], row["queue"], priority_of(row), row["task_type"]) for row in rows
        ]
        try:
            publish_committed(self.celery, self.sessions, messages)
        except Exception:  # rows are committed; the sweeper publishes what is left
            log.exception("publishing %d tasks failed; the sweeper will retry", len(rows))


def _submission(
    principal: Submitter,
    session: SessionDep,
    sessions: SessionsDep,
    policy: PolicyDep,
    settings: SettingsDep,
    celery: CeleryDep,
    path_states: PathStatesDep,
    limiter: RateLimiterDep,
    auto: AutoTaskTypesDep,
    live: LiveFiguresDep,
) -> Submission:
    return Submission(
        session, sessions, policy, path_states, settings, celery, principal, limiter, auto, live
    )


SubmissionDep = Annotated[Submission, Depends(_submission)]
