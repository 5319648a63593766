"""Reading and writing the Batch API's files (their rows; the bytes live in the file store).
Functions never commit: the route or the batch runner that opened the transaction owns it."""

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.db.models import StoredFile


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


def attachment_file_id(owner: str, sha256: str, place: str) -> str:
    """The id of an attachment's file: the same bytes sent twice by one owner to one place (the
    database, or a bucket) are one file (a retried request stores nothing new), and no owner's
    id says what another's holds."""
    return "file-" + hashlib.sha256(f"{owner}|{sha256}|{place}".encode()).hexdigest()[:32]


def add_file_once(
    session: Session,
    file_id: str,
    owner: str,
    purpose: str,
    filename: str,
    size: int,
    location: str,
) -> bool:
    """A file row at `location` unless one of that id exists; whether this one was added."""
    row = dict(
        id=file_id, owner=owner, purpose=purpose, filename=filename, bytes=size, location=location
    )
    added = session.execute(
        insert(StoredFile.__table__).values(**row).on_conflict_do_nothing().returning(StoredFile.id)
    )
    return added.first() is not None


def file_content_chunk(session: Session, file_id: str, offset: int, size: int) -> bytes:
    """`size` bytes of a file kept in its row, from `offset` (0-based): a download reads a
    file in pieces rather than loading all of it."""
    piece = select(func.substring(StoredFile.content, offset + 1, size)).where(
        StoredFile.id == file_id
    )
    return session.execute(piece).scalar_one() or b""


def get_file(
    session: Session, file_id: str, owner: str | None, hold: bool = False
) -> StoredFile | None:
    """The file `owner` may read (any owner's for None). With `hold`, the row is held (FOR
    SHARE) until the transaction ends: retention skips it while a submission reuses it."""
    options = {"with_for_update": {"read": True}} if hold else {}
    row = session.get(StoredFile, file_id, **options)
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
