"""a reviewer's usefulness score (1 to 5) on task feedback

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 20:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("task_feedback", sa.Column("usefulness", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("task_feedback", "usefulness")
