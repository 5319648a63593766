"""An attempt's engine times: when its batch started and ended on the engine, apart from its
claim (with claim-ahead an attempt waits for a batch after it is claimed)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("engine_started_at", "engine_finished_at"):
        op.add_column("attempts", sa.Column(column, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("engine_finished_at", "engine_started_at"):
        op.drop_column("attempts", column)
