"""the cache of accepted outputs, a task's cache key, and cached answers in the rollups

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "output_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("path", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("output_text", sa.Text(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("source_task_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_task_id"],
            ["tasks.id"],
            name=op.f("fk_output_cache_source_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_output_cache")),
    )
    op.create_index("ix_output_cache_expires_at", "output_cache", ["expires_at"])
    op.add_column(
        "tasks", sa.Column("cache", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "scorecard_rollups",
        sa.Column("cached", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("scorecard_rollups", "cached")
    op.drop_column("tasks", "cache")
    op.drop_index("ix_output_cache_expires_at", table_name="output_cache")
    op.drop_table("output_cache")
