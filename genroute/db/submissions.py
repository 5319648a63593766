"""Inserting submitted tasks with their idempotency keys, race-safe: one multi-row INSERT ...
ON CONFLICT DO NOTHING against the unique (owner, idempotency_key) index, so two
concurrent submissions of one key create one task and the loser reads the winner's row."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.contract import Purpose
from genroute.db.models import Task
from genroute.db.tasks import db_now


def tasks_by_idempotency_key(
    session: Session, owner: str | None, keys: list[str]
) -> dict[str, Task]:
    """Earlier tasks of this owner with any of these idempotency keys, by key."""
    if not keys or owner is None:
        return {}
    query = select(Task).where(Task.owner == owner, Task.idempotency_key.in_(keys))
    return {task.idempotency_key: task for task in session.scalars(query) if task.idempotency_key}


def _deadline(row: dict[str, Any], accepted_at: datetime) -> datetime | None:
    """A production request's latency budget as a time; evaluation runs and shadow copies
    measure a path and have none, and a `best_effort` request runs however late it is."""
    budget = row["request"].get("latency_budget_ms")
    if budget is None or row.get("purpose", Purpose.production.value) != Purpose.production.value:
        return None
    if row["request"].get("best_effort"):
        return None
    return accepted_at + timedelta(milliseconds=budget)


def insert_tasks(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert `rows` (from `task_row`); returns the ids actually inserted. A row whose
    idempotency key another transaction (or an earlier row here) took is skipped."""
    if not rows:
        return set()
    statement = (
        insert(Task.__table__)
        .on_conflict_do_nothing(
            index_elements=[Task.owner, Task.idempotency_key],
            index_where=text("idempotency_key IS NOT NULL"),
        )
        .returning(Task.id)
    )
    # executemany: one cached statement sent as multi-row batches ("insertmanyvalues").
    now = db_now(session)
    params = [{**row, "enqueued_at": now, "deadline_at": _deadline(row, now)} for row in rows]
    return set(session.execute(statement, params).scalars())
