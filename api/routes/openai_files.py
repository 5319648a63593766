"""The OpenAI-compatible Files API, for the Batch API's input and result files: upload,
list, read, download (streamed), delete. Files belong to their owner's keys (an admin key
sees every owner's); the input of an unfinished batch cannot be deleted."""

import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from genroute.api.attachment_intake import ATTACHMENT_PURPOSES, sha256_of
from genroute.api.auth import Reader, Submitter
from genroute.api.deps import FileStoreDep, SessionDep, SessionsDep, SettingsDep
from genroute.api.errors import OPENAI_ERROR_RESPONSES
from genroute.contract import PrivacyTier
from genroute.contract.openai_batch import OBJECT_ID_PATTERN, FileDeleted, FileList, FileObject
from genroute.db.batches import batches_reading
from genroute.db.files import get_file, list_files
from genroute.db.models import StoredFile
from genroute.errors import FileInUse, FileNotFound, InputTooLarge
from genroute.runtime.file_store import content_chunks, save_attachment_file, save_file

router = APIRouter(prefix="/v1", tags=["openai batch"], responses=OPENAI_ERROR_RESPONSES)

FileId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN)]


def _file_object(row: StoredFile) -> FileObject:
    return FileObject(
        id=row.id,
        bytes=row.bytes,
        created_at=int(row.created_at.timestamp()),
        filename=row.filename,
        purpose=row.purpose,
    )


@router.post("/files")
async def upload_file(
    principal: Submitter,
    session: SessionDep,
    settings: SettingsDep,
    store: FileStoreDep,
    file: Annotated[UploadFile, File(description="a JSONL batch input file, or an attachment")],
    purpose: Annotated[
        Literal["batch", "vision", "user_data"],
        Form(
            description="batch (a Batch API input file), or vision / user_data (an image or "
            "video for requests to name by file_id, decoded when a request uses it)"
        ),
    ],
) -> FileObject:
    """Upload a batch input file (`purpose=batch`) or an attachment (`vision`, `user_data`),
    at most GENROUTE_MAX_FILE_BYTES (an attachment is held to GENROUTE_MAX_ATTACHMENT_BYTES
    when a request uses it). An attachment is named by its content: the same bytes uploaded
    twice by one owner answer with the same file, so a re-run backlog replays. The
    multipart parser has already spooled it to a temporary file: it is stored from there on a
    worker thread (an S3 store streams it), so no long poll or stream in this process stalls
    while a large file is written."""
    size = file.size if file.size is not None else _spooled_size(file)
    if size > settings.max_file_bytes:
        raise InputTooLarge(
            "file", f"larger than {settings.max_file_bytes} bytes (GENROUTE_MAX_FILE_BYTES)"
        )
    default_name = "input.jsonl" if purpose == "batch" else "attachment"
    filename = (file.filename or default_name).replace("\x00", "")[:256] or default_name

    def store_it() -> FileObject:
        file.file.seek(0)
        if purpose in ATTACHMENT_PURPOSES:  # named by content: uploaded twice is one file
            digest = sha256_of(file.file)
            kept = store.for_tier(PrivacyTier.external)  # no request's tier to go by yet
            row = save_attachment_file(
                session, kept, principal.owner, purpose, filename, file.file, size, digest
            )
        else:
            row = save_file(session, store, principal.owner, purpose, filename, file.file, size)
        session.commit()
        return _file_object(row)

    return await run_in_threadpool(store_it)


def _spooled_size(file: UploadFile) -> int:
    file.file.seek(0, io.SEEK_END)
    return file.file.tell()


@router.get("/files")
def list_my_files(
    principal: Reader,
    session: SessionDep,
    purpose: Annotated[
        str | None, Query(pattern=r"^(batch|batch_output|vision|user_data)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> FileList:
    rows = list_files(session, principal.owner_filter(), purpose, limit)
    return FileList(data=[_file_object(row) for row in rows])


def _owned_file(session: SessionDep, file_id: str, principal: Reader) -> StoredFile:
    row = get_file(session, file_id, principal.owner_filter())
    if row is None:
        raise FileNotFound(f"no file with id {file_id}")
    return row


@router.get("/files/{file_id}")
def read_file(file_id: FileId, principal: Reader, session: SessionDep) -> FileObject:
    return _file_object(_owned_file(session, file_id, principal))


@router.get(
    "/files/{file_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/jsonl": {}}, "description": "the file's bytes"}},
)
def read_file_content(
    file_id: FileId,
    principal: Reader,
    session: SessionDep,
    sessions: SessionsDep,
    store: FileStoreDep,
) -> Response:
    """The file's bytes, streamed in pieces (never loaded whole)."""
    row = _owned_file(session, file_id, principal)
    headers = {"content-length": str(row.bytes)}
    chunks = content_chunks(sessions, row, store)
    return StreamingResponse(chunks, media_type="application/jsonl", headers=headers)


@router.delete("/files/{file_id}")
def delete_file(
    file_id: FileId, principal: Submitter, session: SessionDep, store: FileStoreDep
) -> FileDeleted:
    """Delete the file (its object too, once the row is gone: a failure there leaves an
    object no row names, never a row without its bytes). The input of an unfinished batch
    is refused with 409: the batch's tasks would run on with no lines left to answer for."""
    row = _owned_file(session, file_id, principal)
    if readers := batches_reading(session, file_id):
        raise FileInUse(
            "file_id",
            f"{file_id} is the input of unfinished batch {readers[0]}; cancel it, or delete "
            "the file once the batch has ended",
        )
    location = row.location
    session.delete(row)
    session.commit()
    if location is not None:
        store.delete(location)
    return FileDeleted(id=file_id, deleted=True)
