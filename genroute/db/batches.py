"""Reading and writing files, batches and batch lines. Functions never commit: the route or
the batch runner that opened the transaction owns it."""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from genroute.contract import TaskStatus
from genroute.db.models import Batch, BatchLine, StoredFile, Task
from genroute.db.tasks import db_now, finish_task


def new_id(prefix: str) -> str:
    """An OpenAI-style identifier: `file-...`, `batch_...`."""
    return f"{prefix}{secrets.token_hex(12)}"


def add_file(
    session: Session,
    file_id: str,
    owner: str,
    purpose: str,
    filename: str,
    content: bytes | None,
    size: int,
    location: str | None,
) -> StoredFile:
    """A file row: its bytes in `content`, or (None) at `location` in the file store."""
    row = StoredFile(
        id=file_id,
        owner=owner,
        purpose=purpose,
        filename=filename,
        bytes=size,
        content=content,
        location=location,
    )
    session.add(row)
    session.flush()
    return row


def file_content_chunk(session: Session, file_id: str, offset: int, size: int) -> bytes:
    """`size` bytes of a file kept in its row, from `offset` (0-based): a download reads a
    file in pieces rather than loading all of it."""
    piece = select(func.substring(StoredFile.content, offset + 1, size)).where(
        StoredFile.id == file_id
    )
    return session.execute(piece).scalar_one() or b""


def get_file(session: Session, file_id: str, owner: str | None) -> StoredFile | None:
    row = session.get(StoredFile, file_id)
    return row if row is not None and owner in (None, row.owner) else None


def list_files(
    session: Session, owner: str | None, purpose: str | None, limit: int
) -> list[StoredFile]:
    query = select(StoredFile).order_by(StoredFile.created_at.desc(), StoredFile.id).limit(limit)
    if owner is not None:
        query = query.where(StoredFile.owner == owner)
    if purpose is not None:
        query = query.where(StoredFile.purpose == purpose)
    return list(session.scalars(query))


def insert_batch(session: Session, row: dict[str, Any]) -> Batch | None:
    """Insert a batch, race-safe on its (owner, idempotency key): None when that key already
    names one of the owner's batches (another request, maybe a concurrent retry, made it)."""
    statement = (
        insert(Batch.__table__)
        .values(**row)
        .on_conflict_do_nothing(
            index_elements=[Batch.owner, Batch.idempotency_key],
            index_where=text("idempotency_key IS NOT NULL"),
        )
        .returning(Batch.id)
    )
    inserted = session.execute(statement).scalar_one_or_none()
    return None if inserted is None else session.get(Batch, inserted)


def batch_by_idempotency_key(session: Session, owner: str, key: str) -> Batch | None:
    query = select(Batch).where(Batch.owner == owner, Batch.idempotency_key == key)
    return session.scalars(query).one_or_none()


def get_batch(session: Session, batch_id: str, owner: str | None) -> Batch | None:
    row = session.get(Batch, batch_id)
    return row if row is not None and owner in (None, row.owner) else None


def locked_batch(session: Session, batch_id: str) -> Batch | None:
    """The batch, locked for this transaction; None while another holds it (another API
    process's runner is moving it on)."""
    query = select(Batch).where(Batch.id == batch_id).with_for_update(skip_locked=True)
    return session.scalars(query).first()


def list_batches(
    session: Session, owner: str | None, after: str | None, limit: int
) -> tuple[list[Batch], bool]:
    """Newest first; `after` is the last id of the previous page. Returns one page and
    whether more follow."""
    query = select(Batch).order_by(Batch.created_at.desc(), Batch.id.desc())
    if owner is not None:
        query = query.where(Batch.owner == owner)
    if after is not None:
        anchor = session.get(Batch, after)
        if anchor is not None:
            query = query.where(
                (Batch.created_at < anchor.created_at)
                | ((Batch.created_at == anchor.created_at) & (Batch.id < anchor.id))
            )
    rows = list(session.scalars(query.limit(limit + 1)))
    return rows[:limit], len(rows) > limit


UNFINISHED_BATCH = ("validating", "in_progress", "finalizing", "cancelling")


def unfinished_batch_ids(session: Session) -> list[str]:
    query = select(Batch.id).where(Batch.status.in_(UNFINISHED_BATCH)).order_by(Batch.created_at)
    return list(session.scalars(query))


def batches_reading(session: Session, file_id: str) -> list[str]:
    """The unfinished batches whose input is `file_id`, locked so none starts reading it
    anew while the caller decides (a batch being created takes no lock on its file: it reads
    the file at its first step, and finds it gone if deleted first)."""
    query = select(Batch.id).where(
        Batch.input_file_id == file_id, Batch.status.in_(UNFINISHED_BATCH)
    )
    return list(session.scalars(query.with_for_update()))


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


def set_status(session: Session, batch: Batch, status: str, now: datetime | None = None) -> None:
    """Move `batch` to `status`, stamping the step's own time (`in_progress_at`, ...)."""
    batch.status = status
    setattr(batch, f"{status}_at", now or db_now(session))


def advance_lines_done(session: Session, batch_id: str, lines_done: int) -> None:
    """Lines up to `lines_done` are recorded; never moves back (two runners may race)."""
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(lines_done=func.greatest(Batch.lines_done, lines_done))
    )
