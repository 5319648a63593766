"""Repository functions for attempts: claim a task under its row lock, keep the lease, record
the outcome. None of them commits: the caller owns the transaction, and a worker never holds
one open while generating."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from genroute.contract import AttemptOutcome, TaskStatus
from genroute.db.budgets import charge_attempt
from genroute.db.models import Attempt, AttemptValidation, Task
from genroute.db.output_cache import keep_accepted
from genroute.db.rollups import roll_up_late_attempt
from genroute.db.tasks import FALLBACK_QUEUE, db_now, finish_task, locked_task, requeue
from genroute.interfaces import Verdict


@dataclass(frozen=True)
class WorkerIdentity:
    """Who is running an attempt; recorded on every attempt."""

    path: str
    engine: str
    model: str
    host: str
    name: str
    pid: int
    gpu_id: str | None


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a task: an attempt to run, a wait, or nothing to do.
    `finished` says the claim itself ended the task (its attempt budget was spent)."""

    attempt: Attempt | None = None
    retry_after_s: float | None = None
    skipped: str | None = None
    # Set when the task was moved to another queue instead (publish it there after commit).
    requeued_on: str | None = None
    task_type: str | None = None
    finished: bool = False


def claim_task(
    session: Session, task_id: uuid.UUID, queue: str, worker: WorkerIdentity, lease_s: float
) -> Claim:
    """Claim `task_id` for a new attempt under a row lock.

    A redelivered duplicate finds the task finished (skip) or held under a live lease (retry
    later); a task whose claimant's lease expired is taken over and the old attempt marked lost.
    """
    task = locked_task(session, task_id)
    if task is None:
        return Claim(skipped="task does not exist")
    if TaskStatus(task.status).is_terminal:
        return Claim(skipped=f"task already {task.status}")
    now = db_now(session)
    if task.status == TaskStatus.running.value:
        assert task.lease_expires_at is not None
        if task.lease_expires_at > now:
            return Claim(retry_after_s=(task.lease_expires_at - now).total_seconds())
        _mark_lost(session, task.current_attempt_id, now)
    if task.deadline_at is not None and task.deadline_at <= now:
        late_s = (now - task.deadline_at).total_seconds()
        why = f"its deadline passed {late_s:.1f} s before an attempt could start"
        finish_task(session, task, now, TaskStatus.expired, error=why)
        return Claim(skipped=why, finished=True)
    if task.attempt_count >= task.max_attempts:
        finish_task(session, task, now, TaskStatus.failed, error="attempt budget spent")
        return Claim(skipped="attempt budget spent", finished=True)
    attempt = Attempt(
        id=uuid.uuid4(),
        task_id=task.id,
        attempt_no=task.attempt_count + 1,
        path=worker.path,
        queue=queue,
        engine=worker.engine,
        model=worker.model,
        worker_host=worker.host,
        worker_name=worker.name,
        worker_pid=worker.pid,
        gpu_id=worker.gpu_id,
        outcome=AttemptOutcome.running.value,
        enqueued_at=task.enqueued_at,
        started_at=now,
    )
    session.add(attempt)
    task.status = TaskStatus.running.value
    task.attempt_count += 1
    task.current_attempt_id = attempt.id
    task.lease_expires_at = now + timedelta(seconds=lease_s)
    task.updated_at = now
    session.flush()
    return Claim(attempt=attempt)


def _mark_lost(session: Session, attempt_id: uuid.UUID | None, now: datetime) -> None:
    if attempt_id is None:
        return
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, Attempt.outcome == AttemptOutcome.running.value)
        .values(
            outcome=AttemptOutcome.worker_lost.value,
            error="worker stopped renewing its claim (process died or was killed)",
            finished_at=now,
        )
    )


def renew_lease(session: Session, attempt_id: uuid.UUID, lease_s: float) -> bool:
    """Extend the claim while generating. False means the claim was taken over."""
    result = session.execute(
        update(Task)
        .where(Task.current_attempt_id == attempt_id, Task.status == TaskStatus.running.value)
        .values(lease_expires_at=func.now() + timedelta(seconds=lease_s))
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class AttemptResult:
    """What an engine produced for one attempt, ready to record."""

    outcome: AttemptOutcome
    output_text: str | None = None
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    first_output_at: datetime | None = None
    engine_facts: dict[str, Any] | None = None
    # The engine's run of the attempt's batch (None where the engine never started it).
    engine_started_at: datetime | None = None
    engine_finished_at: datetime | None = None


@dataclass(frozen=True)
class Recorded:
    """What recording an attempt did to its task: `next` is succeeded, fallback (requeued on
    `queue`, to be published by the caller after commit), failed, expired (its deadline had
    passed, so no fallback), or superseded (the attempt had lost its claim and changed
    nothing); `outcome` and `error` are the attempt's own."""

    next: str
    queue: str | None = None
    outcome: str = AttemptOutcome.succeeded.value
    error: str | None = None

    @property
    def finished_task(self) -> bool:
        return self.next in ("succeeded", "failed", "expired")


def record_attempt(
    session: Session,
    attempt_id: uuid.UUID,
    result: AttemptResult,
    verdicts: Sequence[Verdict] = (),
) -> Recorded:
    """Record `result` and its validators' verdicts; if this attempt still holds the claim,
    accept the output, requeue the task on the fallback queue, or fail it.

    A late attempt whose claim was taken over keeps its recorded loss: its output is stored for
    inspection, never accepted.
    """
    task_id = session.scalars(select(Attempt.task_id).where(Attempt.id == attempt_id)).one()
    # The task first, then the attempt: the order claim_task takes them in (it locks the task,
    # then marks the old attempt lost), so a late record and a takeover never deadlock.
    task = locked_task(session, task_id)
    assert task is not None  # attempts cascade with their task
    attempt = session.scalars(
        select(Attempt)
        .where(Attempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    now = db_now(session)
    charged_before = attempt.cost or 0.0
    _store_result(session, attempt, result, verdicts)
    charge_attempt(session, task, (attempt.cost or 0.0) - charged_before, now)
    if task.current_attempt_id != attempt.id or task.status != TaskStatus.running.value:
        late = "finished after its claim was taken over; output not accepted"
        attempt.error = f"{attempt.error}; {late}" if attempt.error else late
        if attempt.finished_at is None:
            attempt.finished_at = now
        if task.status in (TaskStatus.succeeded.value, TaskStatus.failed.value):
            roll_up_late_attempt(session, attempt.id)  # its cost was not known at the finish
        return Recorded("superseded", outcome=attempt.outcome, error=attempt.error)
    outcome, error = result.outcome, result.error
    failed_checks = [v.validator for v in verdicts if not v.passed]
    if outcome is AttemptOutcome.succeeded and failed_checks:
        outcome, error = AttemptOutcome.invalid, f"failed validation: {', '.join(failed_checks)}"
    attempt.outcome = outcome.value
    attempt.error = error
    attempt.finished_at = now
    return _settle_task(session, task, attempt, result, now)


def _store_result(
    session: Session, attempt: Attempt, result: AttemptResult, verdicts: Sequence[Verdict]
) -> None:
    """What the engine produced and each verdict, whether or not the attempt still counts."""
    attempt.output_text = result.output_text
    attempt.tokens_in = result.tokens_in
    attempt.tokens_out = result.tokens_out
    attempt.first_output_at = result.first_output_at
    attempt.engine_started_at = result.engine_started_at
    attempt.engine_finished_at = result.engine_finished_at
    attempt.engine_facts = result.engine_facts or {}
    attempt.gpu_seconds = attempt.engine_facts.get("gpu_seconds")
    attempt.cost = attempt.engine_facts.get("cost")
    session.add_all(
        AttemptValidation(
            attempt_id=attempt.id, validator=v.validator, passed=v.passed, details=v.details
        )
        for v in verdicts
    )


def _settle_task(
    session: Session, task: Task, attempt: Attempt, result: AttemptResult, now: datetime
) -> Recorded:
    """What the claiming attempt's outcome does to its task: accept, fall back, or fail."""
    if attempt.outcome == AttemptOutcome.succeeded.value:
        keep_accepted(session, task, attempt, now)
        finish_task(
            session,
            task,
            now,
            TaskStatus.succeeded,
            output=result.output_text,
            result_attempt_id=attempt.id,
        )
        return Recorded("succeeded")
    outcome = {"outcome": attempt.outcome, "error": attempt.error}
    reason = f"attempt {attempt.attempt_no} {attempt.outcome}: {attempt.error}"
    if task.fallback_path is None:
        finish_task(session, task, now, TaskStatus.failed, error=f"{reason}; fallback is off")
        return Recorded("failed", **outcome)
    if task.attempt_count >= task.max_attempts:
        budget = f"; attempt budget of {task.max_attempts} spent"
        finish_task(session, task, now, TaskStatus.failed, error=reason + budget)
        return Recorded("failed", **outcome)
    if task.deadline_at is not None and task.deadline_at <= now:
        late = f"{reason}; its deadline had passed, so no fallback was tried"
        finish_task(session, task, now, TaskStatus.expired, error=late)
        return Recorded("expired", **outcome)
    requeue(session, task, now, FALLBACK_QUEUE)
    return Recorded("fallback", FALLBACK_QUEUE, **outcome)
