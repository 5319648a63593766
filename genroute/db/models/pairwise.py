"""Blind pairwise reviews: which of two paths' answers to the same input a reviewer preferred."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class PairwiseReview(Base):
    """One reviewer's preference between a production task's accepted output and its shadow
    copy's (the same input, another path), shown in a random order with the paths hidden.
    `preferred_path` None: a tie. One per task and reviewer."""

    __tablename__ = "pairwise_reviews"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    shadow_task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    task_path: Mapped[str] = mapped_column(String(32))
    shadow_path: Mapped[str] = mapped_column(String(32))
    preferred_path: Mapped[str | None] = mapped_column(String(32))
    shown_first: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        Index("uq_pairwise_reviews_task_id_api_key_id", "task_id", "api_key_id", unique=True),
    )
