"""The generate task: claim, generate, validate, record, and route what comes next.

Each step uses its own short transaction; none is open while the model generates. The claim
(a row lock plus `current_attempt_id`) makes redelivered and duplicate messages harmless, so
waiting and retrying are bounded: a message given up on is covered by the sweeper. What
Flower shows says what happened: an attempt that did not produce an accepted output fails
the Celery task with its outcome (after it is recorded and its fallback queued).
"""

import logging
import math
import random
import uuid
from collections.abc import Callable

from celery import Celery, Task
from celery.exceptions import MaxRetriesExceededError
from opentelemetry import trace
from sqlalchemy.exc import DBAPIError

from genroute.db.attempts import Claim, Recorded
from genroute.observability.logs import add_log_context, log_context
from genroute.observability.tracing import current_carrier
from genroute.runtime.db_retry import is_transient
from genroute.runtime.publishing import publish_committed
from genroute.runtime.queueing import GENERATE_TASK, Message
from genroute.workers.attempt import check_output, generate_once, record
from genroute.workers.attempt_spans import (
    add_verdicts,
    attempt_attributes,
    delivery_span,
    message_trace,
    model_call_span,
    validation_span,
)
from genroute.workers.claiming import Prepared, claim
from genroute.workers.context import WorkerContext

log = logging.getLogger(__name__)

# A delivery that cannot claim (database away) comes back this often, for as long as the
# worker rides out an outage (GENROUTE_DB_RETRY_BUDGET_S).
DB_OUTAGE_RETRY_S = 5.0


class AttemptFailed(Exception):
    """The attempt ended without an accepted output (invalid, error, timeout, lost claim);
    raised after it is recorded, so Flower counts the Celery task as failed."""


def publish_requeued(
    app: Celery, context: WorkerContext, task_id: uuid.UUID, queue: str, task_type: str
) -> None:
    """Publish a task just committed as queued again (fallback or diversion), in the trace of
    the delivery that requeued it."""
    budget = context.settings.db_retry_budget_s
    message = Message(task_id, queue, task_type=task_type, trace=current_carrier())
    publish_committed(app, context.sessions, [message], retry_budget_s=budget)


def register_generate(app: Celery, current_context: Callable[[], WorkerContext]) -> Task:
    """Add the generate task to `app`; `current_context` returns this process's context."""

    @app.task(name=GENERATE_TASK, bind=True, throws=(AttemptFailed,))
    def generate(self: Task, task_id: str, task_type: str | None = None) -> str:
        context = current_context()
        queue = (self.request.delivery_info or {}).get("routing_key") or "unknown"
        identity = context.identity
        with (
            log_context(
                task_id=task_id,
                path=identity.path,
                queue=queue,
                engine=identity.engine,
                worker=identity.name,
            ),
            delivery_span(context, task_id, queue, message_trace(self.request)),
        ):
            return run_generate(self, context, uuid.UUID(task_id), queue)

    return generate


def _jittered(seconds: float) -> float:
    """Spread retries, so deliveries that failed together do not return together."""
    return seconds * (0.75 + 0.5 * random.random())


def _claim(
    celery_task: Task, context: WorkerContext, task_id: uuid.UUID, queue: str
) -> tuple[Claim, Prepared | None]:
    try:
        claimed, prepared = claim(context, task_id, queue)
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        # Nothing was claimed: put the message back for later rather than lose it.
        retries = math.ceil(context.settings.db_retry_budget_s / DB_OUTAGE_RETRY_S)
        countdown = _jittered(DB_OUTAGE_RETRY_S)
        raise celery_task.retry(countdown=countdown, max_retries=retries) from exc
    if claimed.retry_after_s is not None:
        # Another attempt holds a live lease: look again once it would have expired, for as
        # long as an attempt may hold one (then its lease lapses and the sweeper sends it).
        settings = context.settings
        waits = math.ceil(settings.task_hard_time_limit_s / settings.claim_lease_s) + 3
        countdown = _jittered(claimed.retry_after_s + 0.5)
        raise celery_task.retry(countdown=countdown, max_retries=waits)
    return claimed, prepared


def run_generate(celery_task: Task, context: WorkerContext, task_id: uuid.UUID, queue: str) -> str:
    """One delivery of a task; returns what happened, or raises AttemptFailed saying it."""
    try:
        claimed, prepared = _claim(celery_task, context, task_id, queue)
    except MaxRetriesExceededError:
        log.warning("task %s: giving this message up; the sweeper republishes the task", task_id)
        return "message given up after bounded retries; the sweeper republishes the task"
    if claimed.requeued_on is not None:
        app = celery_task.app
        publish_requeued(app, context, task_id, claimed.requeued_on, claimed.task_type or "")
        log.info("task %s: %s", task_id, claimed.skipped)
        return f"diverted: {claimed.skipped}"
    if prepared is None:
        if claimed.finished:
            context.announce_finished(task_id)
        log.info("task %s: nothing to do (%s)", task_id, claimed.skipped)
        return f"nothing to do: {claimed.skipped}"
    add_log_context(attempt_id=str(prepared.attempt_id), attempt=prepared.attempt_no)
    generated = generate_once(context, prepared)
    model_call_span(context, prepared, generated)
    with validation_span(prepared) as checking:
        result, verdicts = check_output(context, prepared, generated)
        add_verdicts(checking, verdicts)
    recorded = record(context, prepared, result, verdicts)
    attempt_attributes(trace.get_current_span(), prepared, result, recorded)
    if recorded.queue is not None:
        publish_requeued(celery_task.app, context, task_id, recorded.queue, prepared.task_type_name)
    return _outcome(context, prepared, recorded)


def _outcome(context: WorkerContext, prepared: Prepared, recorded: Recorded) -> str:
    summary = (
        f"{prepared.task_type_name} on {context.identity.path}, attempt {prepared.attempt_no}: "
        f"{recorded.outcome}; task {recorded.next}"
    )
    log.info("task %s attempt %s: %s", prepared.task_id, prepared.attempt_id, summary)
    if recorded.outcome != "succeeded":
        raise AttemptFailed(f"{summary} ({recorded.error})")
    return summary
