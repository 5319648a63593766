"""attempt gpu seconds and cost as columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("attempts", sa.Column("gpu_seconds", sa.Float(), nullable=True))
    op.add_column("attempts", sa.Column("cost", sa.Float(), nullable=True))
    # Attempts recorded before this revision kept both in engine_facts.
    op.execute(
        "UPDATE attempts SET gpu_seconds = (engine_facts->>'gpu_seconds')::float, "
        "cost = (engine_facts->>'cost')::float WHERE engine_facts ? 'cost'"
    )


def downgrade() -> None:
    op.drop_column("attempts", "cost")
    op.drop_column("attempts", "gpu_seconds")
