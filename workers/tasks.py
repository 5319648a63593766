"""The generate task: claim, build the prompt, run the engine, record the attempt.

Each step uses its own short transaction; none is open while the model generates. The claim
(a row lock plus `current_attempt_id`) makes redelivered and duplicate messages harmless.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError

from genroute.contract import AttemptOutcome, Purpose
from genroute.db.attempts import (
    AttemptResult,
    Claim,
    Recorded,
    claim_task,
    record_attempt,
)
from genroute.db.tasks import FALLBACK_QUEUE, divert_to_fallback, get_task
from genroute.errors import EngineTimeout
from genroute.interfaces import GenerationRequest, ValidationInput, Verdict
from genroute.observability.logs import add_log_context, log_context
from genroute.policies.catalog import TaskType
from genroute.runtime.db_retry import is_connection_error, with_db_retry
from genroute.runtime.publishing import publish_committed
from genroute.runtime.queueing import GENERATE_TASK, Message
from genroute.workers import attempt_metrics
from genroute.workers.context import WorkerContext
from genroute.workers.lease import LeaseKeeper
from genroute.workers.validation.pipeline import validate, validators_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A claimed attempt, the engine request built for it, and what validation needs."""

    attempt_id: uuid.UUID
    request: GenerationRequest
    task_type: TaskType
    task_type_name: str
    task_request: dict[str, Any]
    created_at: datetime
    attempt_no: int
    # Only production outcomes feed the rollback controller: an evaluation run or a shadow
    # copy measures a path without steering traffic.
    steers_rollback: bool


def claim(context: WorkerContext, task_id: uuid.UUID, queue: str) -> tuple[Claim, Prepared | None]:
    """Claim the task and build its prompt, in one transaction. Work routed to this path before
    it was rolled back goes to the fallback queue instead, without an attempt."""
    with context.sessions.begin() as session:
        task = get_task(session, task_id)
        production = task is not None and task.purpose == Purpose.production.value
        if production and context.path_closed(task.task_type, queue):
            why = f"rerouted to fallback at claim: {queue} was rolled back for {task.task_type}"
            if divert_to_fallback(session, task_id, queue, why):
                return Claim(skipped=why, requeued_on=FALLBACK_QUEUE), None
        result = claim_task(
            session, task_id, queue, context.identity, context.settings.claim_lease_s
        )
        if result.attempt is None:
            return result, None
        assert task is not None
        task_type = context.catalog.get(task.task_type)
        request = GenerationRequest(
            system_prompt=task_type.system_prompt,
            prompt=task_type.render_prompt(task.request["input"]),
            max_output_tokens=task.max_output_tokens,
            choices=task_type.validation.allowed_values or (),
        )
        prepared = Prepared(
            result.attempt.id,
            request,
            task_type,
            task.task_type,
            task.request,
            task.created_at,
            result.attempt.attempt_no,
            production,
        )
        attempt_metrics.claimed(queue, result.attempt.enqueued_at, result.attempt.started_at)
        return result, prepared


def generate_once(context: WorkerContext, prepared: Prepared) -> AttemptResult:
    """Run the engine with the claim kept alive; classify the outcome."""
    settings = context.settings
    started = time.monotonic()
    with LeaseKeeper(
        context.sessions,
        prepared.attempt_id,
        settings.claim_lease_s,
        settings.task_hard_time_limit_s,
    ):
        try:
            generation = context.generate(prepared.request)
        except Exception as exc:
            timed_out = isinstance(exc, SoftTimeLimitExceeded | EngineTimeout)
            if not timed_out:
                log.exception(
                    "engine %s failed on attempt %s", context.engine.name, prepared.attempt_id
                )
            # A failed or timed-out attempt costs the time it held the engine (unshared: how
            # much of a failed batch was this request's is unknown).
            return AttemptResult(
                AttemptOutcome.timeout if timed_out else AttemptOutcome.error,
                error=f"{type(exc).__name__}: {exc}",
                engine_facts=context.cost_of(time.monotonic() - started),
            )
    attempt_metrics.generated(context.identity.path, context.engine.name, generation)
    return AttemptResult(
        AttemptOutcome.succeeded,
        output_text=generation.text,
        tokens_in=generation.tokens_in,
        tokens_out=generation.tokens_out,
        first_output_at=generation.first_output_at,
        engine_facts={**generation.facts, **context.cost_facts(generation)},
    )


def check_output(prepared: Prepared, result: AttemptResult) -> list[Verdict]:
    """The task type's validators on a produced output; nothing to check otherwise."""
    if result.outcome is not AttemptOutcome.succeeded:
        return []
    subject = ValidationInput(
        output=result.output_text or "",
        request_input=prepared.task_request["input"],
        prompt=prepared.request.prompt,
        tokens_out=result.tokens_out or 0,
        json_schema=prepared.task_request.get("json_schema"),
    )
    return validate(validators_for(prepared.task_type, prepared.task_request), subject)


def finish(
    context: WorkerContext, prepared: Prepared, result: AttemptResult, verdicts: list[Verdict]
) -> Recorded:
    """Record the attempt and feed the rollback controller, in one transaction."""
    with context.sessions.begin() as session:
        recorded = record_attempt(session, prepared.attempt_id, result, verdicts)
        if recorded.next != "superseded" and prepared.steers_rollback:
            accepted = recorded.next == "succeeded"
            context.observe(session, context.identity.path, prepared.task_type_name, accepted)
    if recorded.next != "superseded":
        path, task_type = context.identity.path, prepared.task_type_name
        attempt_metrics.finished(path, task_type, result, verdicts, recorded, prepared.created_at)
    return recorded


def publish_requeued(app: Celery, context: WorkerContext, task_id: uuid.UUID, queue: str) -> None:
    """Publish a task just committed as queued again (fallback or diversion)."""
    budget = context.settings.db_retry_budget_s
    publish_committed(app, context.sessions, [Message(task_id, queue)], retry_budget_s=budget)


def register_generate(app: Celery, current_context: Callable[[], WorkerContext]) -> Task:
    """Add the generate task to `app`; `current_context` returns this process's context."""

    @app.task(name=GENERATE_TASK, bind=True, max_retries=None)
    def generate(self: Task, task_id: str) -> None:
        context = current_context()
        queue = (self.request.delivery_info or {}).get("routing_key") or "unknown"
        identity = context.identity
        with log_context(
            task_id=task_id,
            path=identity.path,
            queue=queue,
            engine=identity.engine,
            worker=identity.name,
        ):
            run_generate(self, context, uuid.UUID(task_id), queue)

    return generate


def run_generate(celery_task: Task, context: WorkerContext, task_id: uuid.UUID, queue: str) -> None:
    """One delivery of a task: claim, generate, validate, record, and route what comes next."""
    try:
        claimed, prepared = claim(context, task_id, queue)
    except DBAPIError as exc:
        if not is_connection_error(exc):
            raise
        # Nothing was claimed: put the message back for later rather than lose it.
        raise celery_task.retry(countdown=5) from exc
    if claimed.requeued_on is not None:
        publish_requeued(celery_task.app, context, task_id, claimed.requeued_on)
        log.info("task %s: %s", task_id, claimed.skipped)
        return
    if claimed.retry_after_s is not None:
        # Another attempt holds a live lease: look again once it would have expired.
        raise celery_task.retry(countdown=claimed.retry_after_s + 0.5)
    if prepared is None:
        log.info("task %s: nothing to do (%s)", task_id, claimed.skipped)
        return
    add_log_context(attempt_id=str(prepared.attempt_id), attempt=prepared.attempt_no)
    result = generate_once(context, prepared)
    verdicts = check_output(prepared, result)
    budget = context.settings.db_retry_budget_s
    recorded = with_db_retry(
        lambda: finish(context, prepared, result, verdicts), budget, "recording an attempt"
    )
    if recorded.queue is not None:
        publish_requeued(celery_task.app, context, task_id, recorded.queue)
    log.info(
        "task %s attempt %s: %s -> %s",
        task_id,
        prepared.attempt_id,
        result.outcome.value,
        recorded.next,
    )
