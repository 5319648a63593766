"""The cache of accepted outputs: one entry per cache key, until it expires."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class OutputCacheEntry(Base):
    """An output that passed validation, answering requests with the same key (which holds
    the owner unless the task type's cache is global) until `expires_at`. `path` produced it:
    a request whose privacy tier does not admit where that path sends data never gets it."""

    __tablename__ = "output_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(256))
    output_text: Mapped[str] = mapped_column(Text)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    # Deleting the task (retention) deletes the entry: an output is kept no longer than its
    # task, whatever the entry's TTL.
    source_task_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
