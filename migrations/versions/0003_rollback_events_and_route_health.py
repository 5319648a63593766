"""rollback events and route health

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:29:20.173787
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollback_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("path", sa.String(length=32), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failure_rate", sa.Float(), nullable=False),
        sa.Column("cooldown_s", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("manual", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollback_events")),
    )
    op.create_index(
        "ix_rollback_events_path_task_type_created_at",
        "rollback_events",
        ["path", "task_type", "created_at"],
        unique=False,
    )
    op.add_column(
        "tasks",
        sa.Column(
            "route_health", sa.String(length=16), server_default=sa.text("'active'"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("tasks", "route_health")
    op.drop_index("ix_rollback_events_path_task_type_created_at", table_name="rollback_events")
    op.drop_table("rollback_events")
