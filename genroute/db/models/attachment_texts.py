"""The text read inside attachments (OCR), kept once per content and reader."""

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class AttachmentText(Base):
    """What `reader` (an OCR engine, its version and languages) read in the image or frame whose
    bytes hash to `sha256`: read once, whichever task or attempt shows it again."""

    __tablename__ = "attachment_texts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    reader: Mapped[str] = mapped_column(String(128), primary_key=True)
    # None: nothing readable was found.
    text: Mapped[str | None] = mapped_column(Text)
    # Mean word confidence (0..100) and the rotation (degrees) the text was read at.
    confidence: Mapped[float | None] = mapped_column(Float)
    rotation: Mapped[int] = mapped_column(Integer)
    # What reading it cost, in CPU seconds of the worker that read it first.
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = now_column()
