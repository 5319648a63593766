"""Human feedback on task outputs."""

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class TaskFeedback(Base):
    """A person's verdict on a task's output: accepted as is, edited (with the edit), or
    rejected. One per task; a later verdict replaces the earlier one."""

    __tablename__ = "task_feedback"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(16))
    edited_text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    # Levenshtein distance between the output and the edit over the longer one's length.
    edit_distance: Mapped[float | None] = mapped_column(Float)
    # 1 (useless) to 5 (exactly what was needed), where the reviewer said.
    usefulness: Mapped[int | None] = mapped_column(SmallInteger)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
