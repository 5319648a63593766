"""an index on the attachments a task's record names, so retention finds the files no task
shows without reading every task

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_request_attachments",
        "tasks",
        [sa.text("(request -> 'attachments') jsonb_path_ops")],
        postgresql_using="gin",
        postgresql_where=sa.text("request ? 'attachments'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_request_attachments", table_name="tasks")
