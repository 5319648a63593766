"""The cache of accepted outputs in PostgreSQL: find a live entry, keep a production task's
accepted output under the key its submission computed, and answer a new task from an entry
(an attempt of its own, outcome `cached`, no engine and no cost). None of these commits."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.contract import AttemptOutcome, Purpose, TaskStatus
from genroute.db.models import Attempt, OutputCacheEntry, Task
from genroute.db.tasks import finish_task

CACHE_ENGINE = "cache"


def live_entry(session: Session, key: str, now: datetime) -> OutputCacheEntry | None:
    query = select(OutputCacheEntry).where(
        OutputCacheEntry.key == key, OutputCacheEntry.expires_at > now
    )
    return session.scalars(query).one_or_none()


def keep_accepted(session: Session, task: Task, attempt: Attempt, now: datetime) -> None:
    """`task`'s accepted output under its cache key, if its type caches (a newer output for
    the key replaces an older one). Only outputs that passed validation come here."""
    if not task.cache or task.purpose != Purpose.production.value or attempt.output_text is None:
        return
    row = {
        "key": task.cache["key"],
        "task_type": task.task_type,
        "owner": task.owner,
        "path": attempt.path,
        "model": attempt.model,
        "output_text": attempt.output_text,
        "tokens_out": attempt.tokens_out,
        "source_task_id": task.id,
        "created_at": now,
        "expires_at": now + timedelta(seconds=task.cache["ttl_s"]),
    }
    statement = insert(OutputCacheEntry).values(row)
    replace = {name: statement.excluded[name] for name in row if name != "key"}
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_=replace))
    _prune_expired(session, now)


def _prune_expired(session: Session, now: datetime, limit: int = 50) -> None:
    """A few expired entries go with each new one, so the cache holds its live entries and
    little more, with no sweeper of its own (SKIP LOCKED: two writers never wait on each
    other for it)."""
    expired = (
        select(OutputCacheEntry.key)
        .where(OutputCacheEntry.expires_at <= now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(OutputCacheEntry).where(OutputCacheEntry.key.in_(expired.scalar_subquery()))
    )


def answer_from_cache(
    session: Session, task_id: uuid.UUID, entry: OutputCacheEntry, now: datetime
) -> None:
    """Finish the new task `task_id` with `entry`'s output, through an attempt of its own."""
    task = session.get(Task, task_id)
    assert task is not None  # inserted by the caller's transaction
    attempt = Attempt(
        id=uuid.uuid4(),
        task_id=task.id,
        attempt_no=1,
        path=task.route_path,
        queue=CACHE_ENGINE,
        engine=CACHE_ENGINE,
        model=entry.model,
        outcome=AttemptOutcome.cached.value,
        output_text=entry.output_text,
        tokens_out=entry.tokens_out,
        engine_facts={"cache_key": entry.key, "cached_from_task": str(entry.source_task_id)},
        gpu_seconds=0.0,
        cost=0.0,
        started_at=now,
        finished_at=now,
    )
    session.add(attempt)
    task.attempt_count, task.current_attempt_id = 1, attempt.id
    session.flush()
    finish_task(
        session,
        task,
        now,
        TaskStatus.succeeded,
        output=entry.output_text,
        result_attempt_id=attempt.id,
    )
