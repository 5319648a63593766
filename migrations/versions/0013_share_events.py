"""share events: every move of an adaptive share, with its evidence

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=32), nullable=False),
        sa.Column("other_path", sa.String(length=32), nullable=False),
        sa.Column("from_share", sa.Float(), nullable=False),
        sa.Column("to_share", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("policy_version", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_events")),
    )
    op.create_index(
        "ix_share_events_rule_task_type_id", "share_events", ["rule", "task_type", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_share_events_rule_task_type_id", table_name="share_events")
    op.drop_table("share_events")
