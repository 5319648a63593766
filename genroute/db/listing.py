"""Listing tasks with filters and keyset pagination, newest first. The cursor is the
(created_at, id) of the last row seen, so pages stay stable while new tasks arrive."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, noload

from genroute.db.models import Task
from genroute.errors import RequestRejected


@dataclass(frozen=True)
class TaskQuery:
    """What to list; None means "any". `owner` None lists every owner's tasks (admin).
    Evaluation runs and shadow copies are listed only when asked for by `purpose`."""

    owner: str | None
    purpose: str | None = "production"
    status: str | None = None
    task_type: str | None = None
    path: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    tags: tuple[tuple[str, str], ...] = ()
    limit: int = 50
    cursor: str | None = None


def encode_cursor(task: Task) -> str:
    raw = json.dumps([task.created_at.isoformat(), str(task.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, task_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at), uuid.UUID(task_id)
    except (ValueError, TypeError) as exc:
        raise RequestRejected("cursor", "not a cursor returned by this API") from exc


def list_tasks(session: Session, query: TaskQuery) -> tuple[list[Task], str | None]:
    """One page of tasks and the cursor of the next page (None on the last)."""
    statement = select(Task).options(noload(Task.attempts))
    conditions = {
        Task.owner: query.owner,
        Task.purpose: query.purpose,
        Task.status: query.status,
        Task.task_type: query.task_type,
        Task.route_path: query.path,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if query.created_after is not None:
        statement = statement.where(Task.created_at >= query.created_after)
    if query.created_before is not None:
        statement = statement.where(Task.created_at < query.created_before)
    if query.tags:
        # Containment on the metadata object: served by the GIN index.
        wanted = {key: value for key, value in query.tags}
        statement = statement.where(Task.request["metadata"].contains(wanted))
    if query.cursor is not None:
        created_at, task_id = decode_cursor(query.cursor)
        statement = statement.where(tuple_(Task.created_at, Task.id) < (created_at, task_id))
    statement = statement.order_by(Task.created_at.desc(), Task.id.desc()).limit(query.limit + 1)
    rows = list(session.scalars(statement))
    page, more = rows[: query.limit], len(rows) > query.limit
    return page, (encode_cursor(page[-1]) if more else None)
