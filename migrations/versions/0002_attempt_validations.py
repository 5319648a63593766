"""attempt validations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:19:56.280349
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt_validations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("attempt_id", sa.UUID(), nullable=False),
        sa.Column("validator", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_attempt_validations_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt_validations")),
    )
    op.create_index(
        op.f("ix_attempt_validations_attempt_id"),
        "attempt_validations",
        ["attempt_id"],
        unique=False,
    )
    op.create_index(
        "ix_attempt_validations_validator_passed",
        "attempt_validations",
        ["validator", "passed"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_attempt_validations_validator_passed", table_name="attempt_validations")
    op.drop_index(op.f("ix_attempt_validations_attempt_id"), table_name="attempt_validations")
    op.drop_table("attempt_validations")
