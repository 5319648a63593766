"""blind pairwise reviews of shadow pairs

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pairwise_reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("shadow_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("api_key_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("task_path", sa.String(length=32), nullable=False),
        sa.Column("shadow_path", sa.String(length=32), nullable=False),
        sa.Column("preferred_path", sa.String(length=32), nullable=True),
        sa.Column("shown_first", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_pairwise_reviews_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shadow_task_id"], ["tasks.id"],
            name=op.f("fk_pairwise_reviews_shadow_task_id_tasks"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"],
            name=op.f("fk_pairwise_reviews_api_key_id_api_keys"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairwise_reviews")),
    )  # fmt: skip
    op.create_index(
        "uq_pairwise_reviews_task_id_api_key_id",
        "pairwise_reviews",
        ["task_id", "api_key_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_pairwise_reviews_task_id_api_key_id", table_name="pairwise_reviews")
    op.drop_table("pairwise_reviews")
