"""scorecard rollups and histograms, backfilled from tasks and attempts; diversity index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=32), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=128), nullable=False),
    ]


KEY = ["hour", "purpose", "owner", "path", "task_type", "policy_version"]


def upgrade() -> None:
    counts = ["requests", "accepted", "fell_back"]
    attempt_counts = ["attempts", "invalid", "produced", "timeouts"]
    op.create_table(
        "scorecard_rollups",
        *_key_columns(),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in counts),
        sa.Column("latency_sum", sa.Float(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in attempt_counts),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("token_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_scorecard_rollups")),
    )
    op.create_table(
        "scorecard_histograms",
        *_key_columns(),
        sa.Column("metric", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, "metric", "bucket", name=op.f("pk_scorecard_histograms")),
    )
    op.create_index(
        "ix_tasks_succeeded_task_type_created_at",
        "tasks",
        ["task_type", "created_at"],
        postgresql_where=sa.text("status = 'succeeded'"),
    )
    # The same SELECTs that keep the rollups current fill them from what is already stored.
    from genroute.db.rollups import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_tasks_succeeded_task_type_created_at", table_name="tasks")
    op.drop_table("scorecard_histograms")
    op.drop_table("scorecard_rollups")
