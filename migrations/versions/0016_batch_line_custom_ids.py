"""an index on batch lines' custom ids: a batch step looks up the first line of each custom_id
it reads instead of the runner holding every id of the file in memory

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 10:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_batch_lines_batch_custom_id", "batch_lines", ["batch_id", "custom_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_batch_lines_batch_custom_id", table_name="batch_lines")
