"""batches' idempotency keys (a retried `POST /v1/batches` with the same Idempotency-Key makes
no second batch) and final request counts (what the ended batch's files hold)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.add_column("batches", sa.Column("completed_count", sa.Integer(), nullable=True))
    op.add_column("batches", sa.Column("failed_count", sa.Integer(), nullable=True))
    op.create_index(
        "uq_batches_owner_idempotency_key",
        "batches",
        ["owner", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_column("batches", "failed_count")
    op.drop_column("batches", "completed_count")
    op.drop_index("uq_batches_owner_idempotency_key", table_name="batches")
    op.drop_column("batches", "idempotency_key")
