"""Accepting requests: route each (rules, privacy tier, path health), insert the new ones in
one statement with their idempotency keys, commit, then publish. Single and batch submission
both come through here, so they behave the same; a single submit is a batch of one.

Persist first, then publish: a task is never in the broker without its row, and one that
misses the broker is republished by the sweeper.
"""

import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from celery import Celery
from fastapi import Depends
from sqlalchemy.orm import Session

from api.auth import Principal, Submitter
from api.deps import (
    CeleryDep,
    HealthDep,
    PolicyDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
)
from api.schemas import route_of
from genroute.api_models import TaskAccepted
from genroute.contract import Purpose, RouteDecision, TaskRequest, TaskStatus
from genroute.db.models import Task
from genroute.db.submissions import insert_tasks, tasks_by_idempotency_key
from genroute.db.tasks import mark_all_published, task_row
from genroute.errors import IdempotencyConflict, InputTooLarge, RateLimited, RequestRejected
from genroute.health import Admission, HealthStore, record_event
from genroute.logs import log_context
from genroute.metrics import TASKS_SUBMITTED
from genroute.queueing import publish_many
from genroute.ratelimit import RateLimiter
from genroute.settings import Settings
from policies import RoutingPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """A request's answer: the task (new or the original of an idempotent replay)."""

    accepted: TaskAccepted


Outcome = Submitted | RequestRejected


@dataclass
class Submission:
    """One API call's submissions, on behalf of `principal`."""

    session: Session
    policy: RoutingPolicy
    health: HealthStore
    settings: Settings
    celery: Celery
    principal: Principal
    limiter: RateLimiter

    def charge(self, cost: int) -> None:
        """Spend `cost` of the key's submission rate, or refuse the whole call with 429."""
        per_minute = self.principal.rate_limit_per_minute or self.settings.rate_limit_per_minute
        if cost > per_minute:
            raise RequestRejected(
                "items",
                f"{cost} items exceed this key's rate of {per_minute} per minute; split them",
            )
        try:
            verdict = self.limiter.take(str(self.principal.key_id), per_minute, cost)
        except redis.RedisError:  # the limiter lives in Redis; keep accepting while it is away
            log.warning("rate limit unreadable; accepting %d submissions unmetered", cost)
            return
        if not verdict.allowed:
            raise RateLimited(
                "authorization",
                f"this key may submit {per_minute} tasks per minute; retry in "
                f"{verdict.retry_after_s} s",
                verdict.retry_after_s,
            )

    def submit(self, requests: list[TaskRequest]) -> list[Outcome]:
        """One outcome per request, in order. Nothing is published before the commit."""
        keys = [r.idempotency_key for r in requests if r.idempotency_key]
        earlier = tasks_by_idempotency_key(self.session, self.principal.owner, keys)
        outcomes: list[Outcome | None] = [None] * len(requests)
        by_rules, first_of_key = self._route_by_rules(requests, earlier, outcomes)
        routed: dict[int, RouteDecision] = {}
        new_rows: dict[int, dict[str, Any]] = {}
        for index, outcome in self._with_health(requests, by_rules).items():
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
            )
        inserted = insert_tasks(self.session, list(new_rows.values()))
        shadows = self._shadows(requests, new_rows, routed, inserted)
        insert_tasks(self.session, shadows)
        self._settle_races(requests, new_rows, routed, inserted, outcomes)
        for index, request in enumerate(requests):  # repeats of a key within this call
            if outcomes[index] is None:
                first = first_of_key[request.idempotency_key or ""]
                outcomes[index] = _repeat_of(outcomes[first], requests[first], request)
        self.session.commit()
        created = [i for i in sorted(new_rows) if new_rows[i]["id"] in inserted]
        for index in created:
            self._accepted(new_rows[index]["id"], requests[index], routed[index])
        self._publish([new_rows[index] for index in created] + shadows)
        return [outcome for outcome in outcomes if outcome is not None]

    def _shadows(
        self,
        requests: list[TaskRequest],
        new_rows: dict[int, dict[str, Any]],
        routed: dict[int, RouteDecision],
        inserted: set[uuid.UUID],
    ) -> list[dict[str, Any]]:
        """Shadow copies of the new tasks whose rule shadows and whose draw falls in its share:
        one attempt, no fallback, published at the lowest priority."""
        rows = []
        for index, row in new_rows.items():
            if row["id"] not in inserted:
                continue
            request, decision = requests[index], routed[index]
            target = self.policy.shadow_path(request, decision, random.random())
            if target is None:
                continue
            copy = decision.model_copy(
                update={
                    "path": target,
                    "fallback_path": None,
                    "health": "active",
                    "reason": f"shadow copy of task {row['id']} ({decision.rule})",
                }
            )
            shadow = task_row(request, copy, 1, self.principal.owner, self.principal.key_id)
            shadow.update(idempotency_key=None, purpose=Purpose.shadow.value, shadow_of=row["id"])
            rows.append(shadow)
        return rows

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
            key = request.idempotency_key
            if key in earlier:
                outcomes[index] = _replay(earlier[key], request)
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
        if len(request.input) > self.settings.max_input_chars:
            raise InputTooLarge(
                "input",
                f"input is {len(request.input)} characters; "
                f"the limit is {self.settings.max_input_chars}",
            )
        return self.policy.decide(request)

    def _with_health(
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
                admissions = self.health.admit_many(path, task_type, len(indexes))
            except redis.RedisError:
                # Health lives in Redis; without it, keep accepting on the rules' route (the
                # task is persisted and the sweeper publishes it once the broker is back).
                log.warning("path health unreadable; routing %s by the rules alone", path)
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
            return self.policy.with_health(decision, "unknown", True, tier)
        if admission.transition is not None:
            path = decision.path.value
            record_event(self.session, path, request.task_type, admission.transition)
        return self.policy.with_health(decision, admission.state.value, admission.admitted, tier)

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
                outcomes[index] = _replay(winners[requests[index].idempotency_key], requests[index])

    def _publish(self, rows: list[dict[str, Any]]) -> None:
        try:
            messages = [(row["id"], row["queue"], _priority(row)) for row in rows]
            publish_many(self.celery, messages)
            mark_all_published(self.session, [row["id"] for row in rows])
            self.session.commit()
        except Exception:  # rows are committed; the sweeper publishes what is left
            log.exception("publishing %d tasks failed; the sweeper will retry", len(rows))
            self.session.rollback()


def _priority(row: dict[str, Any]) -> int:
    """The request's priority; shadow copies go last (kombu's Redis transport serves lower
    numbers first), so they wait behind the traffic producers are waiting for."""
    return 9 if row.get("purpose") == Purpose.shadow.value else row["request"]["priority"]


def _replay(task: Task, request: TaskRequest) -> Outcome:
    if task.request != request.model_dump(mode="json"):
        return IdempotencyConflict(
            "idempotency_key",
            f"'{request.idempotency_key}' was already used for a different request (task "
            f"{task.id}); use a new key for a new request",
        )
    return Submitted(
        TaskAccepted(
            id=task.id, status=TaskStatus(task.status), route=route_of(task), created=False
        )
    )


def _repeat_of(first: Outcome | None, first_request: TaskRequest, request: TaskRequest) -> Outcome:
    if not isinstance(first, Submitted):
        return first if first is not None else RequestRejected("idempotency_key", "not accepted")
    if first_request != request:
        return IdempotencyConflict(
            "idempotency_key",
            f"'{request.idempotency_key}' appears twice in this call with different requests",
        )
    return Submitted(first.accepted.model_copy(update={"created": False}))


def _submission(
    principal: Submitter,
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    celery: CeleryDep,
    health: HealthDep,
    limiter: RateLimiterDep,
) -> Submission:
    return Submission(session, policy, health, settings, celery, principal, limiter)


SubmissionDep = Annotated[Submission, Depends(_submission)]
