"""api keys, task owners and idempotency keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("scopes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.add_column("tasks", sa.Column("owner", sa.String(length=128), nullable=True))
    op.add_column("tasks", sa.Column("api_key_id", sa.UUID(), nullable=True))
    op.add_column("tasks", sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.create_foreign_key(
        op.f("fk_tasks_api_key_id_api_keys"),
        "tasks",
        "api_keys",
        ["api_key_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index("ix_tasks_created_at_id", "tasks", ["created_at", "id"])
    op.create_index("ix_tasks_owner_created_at_id", "tasks", ["owner", "created_at", "id"])
    op.create_index(
        "uq_tasks_owner_idempotency_key",
        "tasks",
        ["owner", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "ix_tasks_metadata",
        "tasks",
        [sa.text("(request -> 'metadata') jsonb_path_ops")],
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_metadata", table_name="tasks")
    op.drop_index("uq_tasks_owner_idempotency_key", table_name="tasks")
    op.drop_index("ix_tasks_owner_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_created_at_id", table_name="tasks")
    op.drop_constraint(op.f("fk_tasks_api_key_id_api_keys"), "tasks", type_="foreignkey")
    op.drop_column("tasks", "idempotency_key")
    op.drop_column("tasks", "api_key_id")
    op.drop_column("tasks", "owner")
    op.drop_table("api_keys")
