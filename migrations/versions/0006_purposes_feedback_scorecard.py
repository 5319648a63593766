"""task purposes (production, evaluation, shadow) and human feedback

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks",
        sa.Column(
            "purpose", sa.String(length=16), server_default=sa.text("'production'"), nullable=False
        ),
    )
    op.add_column("tasks", sa.Column("shadow_of", sa.UUID(), nullable=True))
    op.add_column("tasks", sa.Column("eval_run", sa.String(length=64), nullable=True))
    op.create_foreign_key(
        op.f("fk_tasks_shadow_of_tasks"),
        "tasks",
        "tasks",
        ["shadow_of"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index("ix_tasks_shadow_of", "tasks", ["shadow_of"])
    op.create_index("ix_tasks_eval_run", "tasks", ["eval_run"])
    op.create_table(
        "task_feedback",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("edited_text", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("edit_distance", sa.Float(), nullable=True),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_feedback_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_task_feedback_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_feedback")),
    )


def downgrade() -> None:
    op.drop_table("task_feedback")
    op.drop_index("ix_tasks_eval_run", table_name="tasks")
    op.drop_index("ix_tasks_shadow_of", table_name="tasks")
    op.drop_constraint(op.f("fk_tasks_shadow_of_tasks"), "tasks", type_="foreignkey")
    op.drop_column("tasks", "eval_run")
    op.drop_column("tasks", "shadow_of")
    op.drop_column("tasks", "purpose")
