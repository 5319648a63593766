"""The OpenAI-compatible Batch API: run an uploaded file (api/routes/openai_files.py) as a
batch (`/v1/batches`), read its progress, output and error files, cancel it. Batches belong to
their owner's keys (an admin key sees every owner's); the batch runner does the work."""

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from sqlalchemy.orm import Session

from genroute.api.auth import Reader, Submitter
from genroute.api.deps import SessionDep
from genroute.api.errors import OPENAI_ERROR_RESPONSES
from genroute.contract.openai_batch import (
    OBJECT_ID_PATTERN,
    BatchCreate,
    BatchError,
    BatchErrors,
    BatchList,
    BatchObject,
    BatchProgress,
)
from genroute.db.batch_lines import line_counts, request_counts
from genroute.db.batches import (
    batch_by_idempotency_key,
    get_batch,
    insert_batch,
    list_batches,
    set_status,
)
from genroute.db.files import get_file, new_id
from genroute.db.models import Batch
from genroute.db.tasks import db_now
from genroute.errors import (
    BatchNotFound,
    FileNotFound,
    IdempotencyConflict,
    RequestRejected,
    TaskNotCancellable,
)

router = APIRouter(prefix="/v1", tags=["openai batch"], responses=OPENAI_ERROR_RESPONSES)

MAX_WINDOW = timedelta(days=7)
BatchId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN)]
_UNITS = {"s": 1, "m": 60, "h": 3600}


def _stamp(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def batch_object(row: Batch, session: Session) -> BatchObject:
    counts = line_counts(session, row.id)
    errors = None
    if row.errors:
        errors = BatchErrors(data=[BatchError(**error) for error in row.errors])
    return BatchObject(
        id=row.id,
        endpoint=row.endpoint,
        errors=errors,
        input_file_id=row.input_file_id,
        completion_window=row.completion_window,
        status=row.status,
        output_file_id=row.output_file_id,
        error_file_id=row.error_file_id,
        created_at=int(row.created_at.timestamp()),
        in_progress_at=_stamp(row.in_progress_at),
        expires_at=int(row.expires_at.timestamp()),
        finalizing_at=_stamp(row.finalizing_at),
        completed_at=_stamp(row.completed_at),
        failed_at=_stamp(row.failed_at),
        expired_at=_stamp(row.expired_at),
        cancelling_at=_stamp(row.cancelling_at),
        cancelled_at=_stamp(row.cancelled_at),
        request_counts=request_counts(row, counts),
        metadata=row.batch_metadata,
        genroute=BatchProgress(lines_done=row.lines_done, tasks=counts.tasks),
    )


def _window(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smh])", text)
    assert match is not None  # the contract's pattern
    window = timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    if window > MAX_WINDOW:
        raise RequestRejected("completion_window", f"'{text}' is longer than 7 days")
    return window


@router.post("/batches")
def create_batch(
    body: BatchCreate,
    principal: Submitter,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> BatchObject:
    """Run an uploaded file's lines as tasks within `completion_window`. With an
    `Idempotency-Key` header, a retry (the SDK retries 408, 409, 429 and 5xx) answers with the
    batch the key made first, and the same key for a different batch is refused with 409."""
    window = _window(body.completion_window)
    source = get_file(session, body.input_file_id, principal.owner)
    if source is None:
        raise FileNotFound(f"no file with id {body.input_file_id}")
    if source.purpose != "batch":
        raise RequestRejected("input_file_id", f"{source.id} is a {source.purpose} file")
    now = db_now(session)
    row = insert_batch(
        session,
        {
            "id": new_id("batch_"),
            "owner": principal.owner,
            "api_key_id": principal.key_id,
            "input_file_id": source.id,
            "endpoint": body.endpoint,
            "completion_window": body.completion_window,
            "metadata": body.metadata,
            "status": "validating",
            "created_at": now,
            "expires_at": now + window,
            "idempotency_key": idempotency_key,
        },
    )
    if row is None:
        assert idempotency_key is not None  # only a key can conflict
        row = _replayed(session, principal.owner, idempotency_key, body)
    session.commit()
    return batch_object(row, session)


def _replayed(session: Session, owner: str, key: str, body: BatchCreate) -> Batch:
    earlier = batch_by_idempotency_key(session, owner, key)
    assert earlier is not None
    asked = (body.input_file_id, body.endpoint, body.completion_window, body.metadata)
    made = (
        earlier.input_file_id,
        earlier.endpoint,
        earlier.completion_window,
        earlier.batch_metadata,
    )
    if asked != made:
        raise IdempotencyConflict(
            "Idempotency-Key",
            f"'{key}' already made batch {earlier.id} from a different request; use a new key",
        )
    return earlier


@router.get("/batches")
def list_my_batches(
    principal: Reader,
    session: SessionDep,
    after: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BatchList:
    rows, has_more = list_batches(session, principal.owner_filter(), after, limit)
    data = [batch_object(row, session) for row in rows]
    return BatchList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )


def _owned_batch(session: SessionDep, batch_id: str, principal: Reader) -> Batch:
    row = get_batch(session, batch_id, principal.owner_filter())
    if row is None:
        raise BatchNotFound(f"no batch with id {batch_id}")
    return row


@router.get("/batches/{batch_id}")
def read_batch(batch_id: BatchId, principal: Reader, session: SessionDep) -> BatchObject:
    return batch_object(_owned_batch(session, batch_id, principal), session)


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(batch_id: BatchId, principal: Submitter, session: SessionDep) -> BatchObject:
    """Stop a batch: no more lines start, queued ones are cancelled, running ones finish;
    it ends `cancelled` with what finished delivered. Cancelling twice is harmless."""
    row = _owned_batch(session, batch_id, principal)
    session.refresh(row, with_for_update=True)
    if row.status in ("validating", "in_progress"):
        set_status(session, row, "cancelling")
    elif row.status not in ("cancelling", "cancelled"):
        raise TaskNotCancellable("status", f"the batch is {row.status}; it can no longer cancel")
    session.commit()
    return batch_object(row, session)
