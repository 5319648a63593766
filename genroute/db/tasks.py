"""Repository functions for tasks: create, read, publish, sweep, finish, requeue and dead
letters. None of them commits: the caller owns the transaction."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from genroute.contract import RouteDecision, StoredAttachment, TaskRequest, TaskStatus
from genroute.db.budgets import release_holds
from genroute.db.models import Task
from genroute.db.rollups import roll_up_task

FALLBACK_QUEUE = "fallback"


def db_now(session: Session) -> datetime:
    """The database's clock, so leases compare across hosts without clock skew."""
    return session.execute(select(func.now())).scalar_one()


def task_row(
    request: TaskRequest,
    decision: RouteDecision,
    max_attempts: int,
    owner: str | None = None,
    api_key_id: uuid.UUID | None = None,
    classification: dict[str, Any] | None = None,
    attachments: list[StoredAttachment] | None = None,
) -> dict[str, Any]:
    """The column values of a new, queued task (`classification`: what `auto` resolved to;
    `attachments`: the request's as stored at submit)."""
    return dict(
        id=uuid.uuid4(),
        task_type=request.task_type,
        request=request.record(attachments),
        input_modality=request.input_modality.value,
        status=TaskStatus.queued.value,
        route_path=decision.path.value,
        route_rule=decision.rule,
        policy_version=decision.policy_version,
        fallback_path=decision.fallback_path.value if decision.fallback_path else None,
        route_reason=decision.reason,
        route_path_state=decision.path_state,
        max_output_tokens=decision.max_output_tokens,
        queue=decision.path.value,
        attempt_count=0,
        max_attempts=max_attempts,
        owner=owner,
        api_key_id=api_key_id,
        idempotency_key=request.idempotency_key,
        classification=classification,
        cache=None,
        trace=None,
        # Set now, not at publish: a fast worker may claim before the publish is recorded.
        # (Bulk inserts replace it with one database timestamp for the batch.)
        enqueued_at=func.now(),
    )


def create_task(
    session: Session, request: TaskRequest, decision: RouteDecision, max_attempts: int
) -> Task:
    """One task through the ORM (no idempotency handling: see `genroute.db.submissions`)."""
    task = Task(**task_row(request, decision, max_attempts))
    session.add(task)
    session.flush()
    return task


def get_task(session: Session, task_id: uuid.UUID) -> Task | None:
    return session.get(Task, task_id)


def task_status(session: Session, task_id: uuid.UUID) -> tuple[str, str | None] | None:
    """(status, owner) of a task, one indexed read: what a long poll checks while it waits."""
    row = session.execute(select(Task.status, Task.owner).where(Task.id == task_id)).first()
    return None if row is None else (row[0], row[1])


def locked_task(session: Session, task_id: uuid.UUID) -> Task | None:
    """The task under a row lock, read fresh: `populate_existing` replaces whatever an earlier,
    unlocked read of this session left in the identity map, so decisions made under the lock
    never rest on stale state."""
    query = (
        select(Task)
        .where(Task.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one_or_none()


def mark_published(
    session: Session, task_ids: Sequence[uuid.UUID], *, requeued: bool = False
) -> None:
    """Record that these tasks' messages are in the broker, in one statement; a requeue also
    restarts their queue wait."""
    if not task_ids:
        return
    values = {"published_at": func.now(), "updated_at": func.now()}
    if requeued:
        values["enqueued_at"] = func.now()
    session.execute(update(Task).where(Task.id.in_(list(task_ids))).values(**values))


def cancel_task(session: Session, task_id: uuid.UUID, now: datetime) -> Task | None:
    """Cancel `task_id` if it is still queued (a delivered message then finds nothing to claim).
    Returns the task, whatever its status, or None if it does not exist."""
    task = locked_task(session, task_id)
    if task is not None and task.status == TaskStatus.queued.value:
        finish_task(session, task, now, TaskStatus.cancelled, error="cancelled by the producer")
    return task


def tasks_to_republish(
    session: Session, unpublished_grace_s: float, stale_queued_s: float, limit: int = 500
) -> list[Task]:
    """Tasks whose message may not be in the broker: committed but never published, claimed
    by a worker whose lease ran out and not republished since, or queued so long that the
    message may have died with a broker crash (a duplicate of a live one is a no-op claim)."""
    cutoff = func.now() - timedelta(seconds=unpublished_grace_s)
    queued = Task.status == TaskStatus.queued.value
    never_published = queued & Task.published_at.is_(None)
    stale = queued & (Task.published_at < func.now() - timedelta(seconds=stale_queued_s))
    # A claimed task can have no publish recorded (its message went out, then the mark
    # failed): NULL must count as "published before the lease ran out", not as "never".
    lease_lost = (
        (Task.status == TaskStatus.running.value)
        & (Task.lease_expires_at < func.now())
        & (Task.published_at.is_(None) | (Task.published_at < Task.lease_expires_at))
    )
    query = (
        select(Task)
        # updated_at, not created_at: a requeue (fallback, diversion) also unpublishes, and its
        # own worker publishes right after commit; only a publish that never came is swept.
        .where((never_published & (Task.updated_at < cutoff)) | lease_lost | stale)
        .order_by(Task.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def queued_published_before(
    session: Session, seconds: float, queues: Sequence[str], limit: int = 500
) -> list[Task]:
    """Queued tasks on `queues` whose message went out more than `seconds` ago: the ones whose
    message the sweeper looks for in the broker."""
    query = (
        select(Task)
        .where(
            (Task.status == TaskStatus.queued.value)
            & Task.queue.in_(list(queues))
            & (Task.published_at < func.now() - timedelta(seconds=seconds))
        )
        .order_by(Task.published_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def finish_task(
    session: Session,
    task: Task,
    now: datetime,
    status: TaskStatus,
    *,
    error: str | None = None,
    output: str | None = None,
    result_attempt_id: uuid.UUID | None = None,
) -> None:
    task.status = status.value
    task.error = error
    task.output_text = output
    task.result_attempt_id = result_attempt_id
    task.finished_at = now
    task.updated_at = now
    task.lease_expires_at = None
    release_holds(session, task.id)
    if status in (TaskStatus.succeeded, TaskStatus.failed):
        roll_up_task(session, task.id)


def requeue(session: Session, task: Task, now: datetime, queue: str) -> None:
    """Put `task` back in the queued state on `queue`, unpublished: the caller publishes after
    commit, and the sweeper does if the caller dies first."""
    task.status = TaskStatus.queued.value
    task.queue = queue
    task.current_attempt_id = None
    task.lease_expires_at = None
    task.published_at = None
    task.enqueued_at = now
    task.updated_at = now
    task.finished_at = None


def divert_to_fallback(session: Session, task_id: uuid.UUID, from_queue: str, why: str) -> bool:
    """Move a task still queued on `from_queue` to the fallback queue without an attempt (its
    path was rolled back after it was routed there). False if it is not queued there or has no
    fallback; the caller publishes after commit."""
    task = locked_task(session, task_id)
    if task is None or task.status != TaskStatus.queued.value or task.queue != from_queue:
        return False
    if task.fallback_path is None:
        return False
    requeue(session, task, db_now(session), FALLBACK_QUEUE)
    task.route_reason = f"{task.route_reason}; {why}"
    return True


def refuse_task(session: Session, task_id: uuid.UUID, why: str) -> bool:
    """End a queued task, without an attempt, that the path it reached must not run (its model
    cannot take the task's input). False if it is not queued."""
    task = locked_task(session, task_id)
    if task is None or task.status != TaskStatus.queued.value:
        return False
    finish_task(session, task, db_now(session), TaskStatus.failed, error=why)
    return True


def failed_tasks(session: Session, limit: int = 100, owner: str | None = None) -> list[Task]:
    """The dead letters (of `owner`, or everyone's), newest first; their attempts, with each
    one's validations, load with them: their lineage."""
    query = (
        select(Task)
        .where(Task.status == TaskStatus.failed.value)
        .order_by(Task.finished_at.desc())
        .limit(limit)
    )
    if owner is not None:
        query = query.where(Task.owner == owner)
    return list(session.scalars(query))


def requeue_failed(
    session: Session, task_id: uuid.UUID, queue: str | None, extra_attempts: int
) -> Task | None:
    """Give a failed task `extra_attempts` more and queue it again (on its routed path's queue
    unless `queue` says otherwise). None if the task is not failed."""
    task = locked_task(session, task_id)
    if task is None or task.status != TaskStatus.failed.value:
        return None
    roll_up_task(session, task.id, sign=-1)  # it will be counted again when it finishes
    task.max_attempts = task.attempt_count + extra_attempts
    task.error = None
    requeue(session, task, db_now(session), queue or task.route_path)
    return task
