"""spend budgets per key and owner, each period's ledger, in-flight holds; a batch's budget stop

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "spend_budgets",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("subject_kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("limit_usd", sa.Float(), nullable=False),
        sa.Column("soft_limit_usd", sa.Float(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_budgets")),
    )
    op.create_index(
        "uq_spend_budgets_subject", "spend_budgets", ["subject_kind", "subject"], unique=True
    )
    op.create_table(
        "budget_periods",
        sa.Column("budget_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent_usd", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("held_usd", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["spend_budgets.id"],
            name=op.f("fk_budget_periods_budget_id_spend_budgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("budget_id", "period_start", name=op.f("pk_budget_periods")),
    )
    op.create_table(
        "budget_holds",
        sa.Column("task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("budget_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_usd", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_budget_holds_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["spend_budgets.id"],
            name=op.f("fk_budget_holds_budget_id_spend_budgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "budget_id", name=op.f("pk_budget_holds")),
    )
    op.add_column(
        "batches",
        sa.Column("budget_refusal", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("batches", "budget_refusal")
    op.drop_table("budget_holds")
    op.drop_table("budget_periods")
    op.drop_index("uq_spend_budgets_subject", table_name="spend_budgets")
    op.drop_table("spend_budgets")
