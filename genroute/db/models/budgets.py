"""Spend budgets, each period's ledger, and the holds of requests still in flight."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class SpendBudget(Base):
    """A cap in US dollars on what one API key (`subject` its id) or one owner may spend per
    period, with an optional soft limit that warns."""

    __tablename__ = "spend_budgets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    subject_kind: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(8))
    limit_usd: Mapped[float] = mapped_column(Float)
    soft_limit_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("uq_spend_budgets_subject", "subject_kind", "subject", unique=True),)


class BudgetPeriodSpend(Base):
    """One budget's ledger for one period: what recorded attempts cost (charged in the
    transaction that records each attempt) and what admitted requests still hold. Submissions
    lock this row, so concurrent submitters in any API process see each other's holds."""

    __tablename__ = "budget_periods"

    budget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spend_budgets.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    spent_usd: Mapped[float] = mapped_column(Float, server_default=text("0"))
    held_usd: Mapped[float] = mapped_column(Float, server_default=text("0"))


class BudgetHold(Base):
    """What one admitted request still holds of one budget's period: its expected cost, less
    what its recorded attempts have charged; released when the task ends."""

    __tablename__ = "budget_holds"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    budget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spend_budgets.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    held_usd: Mapped[float] = mapped_column(Float)
