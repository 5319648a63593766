"""Partial index on queued tasks' publish time: the sweeper's third and fourth questions
(queued so long the message may be lost; queued with no live message in the broker)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_queued_published_at",
        "tasks",
        ["published_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_queued_published_at", table_name="tasks")
