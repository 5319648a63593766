"""tasks.route_health renamed route_path_state: "health" now only means process liveness

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("tasks", "route_health", new_column_name="route_path_state")


def downgrade() -> None:
    op.alter_column("tasks", "route_path_state", new_column_name="route_health")
