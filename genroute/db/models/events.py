"""Routing events: every change of a path's rollback state (automatic or by an operator) and
every move of an adaptive share, each with the figures that caused it."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Identity, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
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


class ShareEvent(Base):
    """One move of an adaptive share: a rule's split of one task type between its path and
    the other, with the evidence the controller read."""

    __tablename__ = "share_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    rule: Mapped[str] = mapped_column(String(128))
    task_type: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(32))  # the rule's path; the share is its part
    other_path: Mapped[str] = mapped_column(String(32))
    from_share: Mapped[float] = mapped_column(Float)
    to_share: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    policy_version: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_share_events_rule_task_type_id", "rule", "task_type", "id"),)
