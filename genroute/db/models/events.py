"""Rollback events: every change of a path's state, automatic or by an operator."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Identity, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class RollbackEvent(Base):
    """One change of a (path, task type)'s rollback state, automatic or by an operator."""

    __tablename__ = "rollback_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    path: Mapped[str] = mapped_column(String(32))
    task_type: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    samples: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    failure_rate: Mapped[float] = mapped_column(Float)
    cooldown_s: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    manual: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        Index("ix_rollback_events_path_task_type_created_at", "path", "task_type", "created_at"),
    )
