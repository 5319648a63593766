"""a cached output goes when the task that produced it is deleted (retention)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 20:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "fk_output_cache_source_task_id_tasks"


def _point(ondelete: str) -> None:
    op.drop_constraint(_NAME, "output_cache", type_="foreignkey")
    op.create_foreign_key(
        _NAME, "output_cache", "tasks", ["source_task_id"], ["id"], ondelete=ondelete
    )


def upgrade() -> None:
    op.execute("DELETE FROM output_cache WHERE source_task_id IS NULL")
    _point("CASCADE")


def downgrade() -> None:
    _point("SET NULL")
