"""Reading and writing batches: creating one (idempotently), finding, listing and locking it,
and moving its status and progress on. Functions never commit: the route or the batch runner
that opened the transaction owns it."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.db.models import Batch
from genroute.db.tasks import db_now


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
