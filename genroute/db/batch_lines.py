"""Reading and writing a batch's lines: each line's task or error, the first line of a custom
id, counts by status, pages of lines with their tasks, and cancelling the queued ones.
Functions never commit: the batch runner or route that opened the transaction owns it."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from genroute.contract import TaskStatus
from genroute.contract.openai_batch import RequestCounts
from genroute.db.models import Batch, BatchLine, Task
from genroute.db.tasks import db_now, finish_task


def add_lines(session: Session, batch_id: str, lines: Sequence[dict]) -> None:
    """Record each line's task or error; a line recorded before (a resumed step) is kept."""
    if not lines:
        return
    rows = [{"batch_id": batch_id, **line} for line in lines]
    statement = insert(BatchLine).on_conflict_do_nothing(index_elements=["batch_id", "line_no"])
    session.execute(statement, rows)


def first_lines_of(session: Session, batch_id: str, custom_ids: set[str]) -> dict[str, int]:
    """The first recorded line of each of `custom_ids` in the batch, for those recorded."""
    if not custom_ids:
        return {}
    query = (
        select(BatchLine.custom_id, func.min(BatchLine.line_no))
        .where(BatchLine.batch_id == batch_id, BatchLine.custom_id.in_(custom_ids))
        .group_by(BatchLine.custom_id)
    )
    return {custom_id: line_no for custom_id, line_no in session.execute(query)}


@dataclass(frozen=True)
class LineCounts:
    """A batch's lines by where they stand: refused lines, and tasks by status."""

    refused: int
    by_status: dict[str, int]

    @property
    def tasks(self) -> int:
        return sum(self.by_status.values())

    @property
    def unfinished(self) -> int:
        return self.by_status.get("queued", 0) + self.by_status.get("running", 0)


def line_counts(session: Session, batch_id: str) -> LineCounts:
    query = (
        select(Task.status, func.count())
        .select_from(BatchLine)
        .join(Task, Task.id == BatchLine.task_id)
        .where(BatchLine.batch_id == batch_id)
        .group_by(Task.status)
    )
    by_status = {status: count for status, count in session.execute(query)}
    refused = session.scalar(
        select(func.count())
        .select_from(BatchLine)
        .where(BatchLine.batch_id == batch_id, BatchLine.task_id.is_(None))
    )
    return LineCounts(refused or 0, by_status)


def batch_lines(session: Session, batch_id: str, after_line: int, limit: int) -> list[BatchLine]:
    query = (
        select(BatchLine)
        .where(BatchLine.batch_id == batch_id, BatchLine.line_no > after_line)
        .order_by(BatchLine.line_no)
        .limit(limit)
    )
    return list(session.scalars(query))


def tasks_with_attempts(session: Session, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Task]:
    query = select(Task).where(Task.id.in_(task_ids)).options(selectinload(Task.attempts))
    return {task.id: task for task in session.scalars(query)}


def cancel_queued_lines(session: Session, batch_id: str, why: str) -> list[uuid.UUID]:
    """Cancel the batch's tasks that no worker has claimed; returns their ids."""
    line_tasks = select(BatchLine.task_id).where(BatchLine.batch_id == batch_id)
    query = (
        select(Task)
        .where(Task.id.in_(line_tasks), Task.status == TaskStatus.queued.value)
        .with_for_update(skip_locked=True)
    )
    now = db_now(session)
    cancelled = []
    for task in session.scalars(query):
        finish_task(session, task, now, TaskStatus.cancelled, error=why)
        cancelled.append(task.id)
    return cancelled


def request_counts(row: Batch, counts: LineCounts) -> RequestCounts:
    """While a batch runs: succeeded tasks, and lines that failed (refused, or tasks failed,
    cancelled or expired). Once it has ended: what its output and error files hold, so
    completed and failed add up to the total and stay so."""
    if row.completed_count is not None and row.failed_count is not None:
        return RequestCounts(
            total=row.total_lines, completed=row.completed_count, failed=row.failed_count
        )
    not_succeeded = sum(counts.by_status.get(s, 0) for s in ("failed", "cancelled", "expired"))
    return RequestCounts(
        total=row.total_lines,
        completed=counts.by_status.get("succeeded", 0),
        failed=counts.refused + not_succeeded,
    )
