"""Reading and keeping the text read inside attachments (one row per content and reader).
Functions never commit: the caller's transaction owns it."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from genroute.db.models import AttachmentText


def read_before(session: Session, sha256: str, reader: str) -> AttachmentText | None:
    return session.scalars(
        select(AttachmentText).where(
            AttachmentText.sha256 == sha256, AttachmentText.reader == reader
        )
    ).first()


def keep_read(
    session: Session,
    sha256: str,
    reader: str,
    text: str | None,
    confidence: float | None,
    rotation: int,
    seconds: float,
) -> None:
    """Keep what was read; a concurrent reader's row of the same content stands."""
    row = dict(
        sha256=sha256,
        reader=reader,
        text=text,
        confidence=confidence,
        rotation=rotation,
        seconds=seconds,
    )
    session.execute(insert(AttachmentText.__table__).values(**row).on_conflict_do_nothing())
