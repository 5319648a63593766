"""a task's input modality (text, image, video, mixed) on the task and in the scorecard
rollups' keys, so the scorecard splits by it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["hour", "purpose", "owner", "path", "task_type", "policy_version"]


def _column() -> sa.Column:
    return sa.Column(
        "input_modality", sa.String(length=8), server_default=sa.text("'text'"), nullable=False
    )


def upgrade() -> None:
    op.add_column("tasks", _column())
    # Requests recorded before attachments existed say "text"; none says otherwise yet.
    op.execute(
        "UPDATE tasks SET input_modality = request->>'input_modality' "
        "WHERE request->>'input_modality' IS NOT NULL AND request->>'input_modality' <> 'text'"
    )
    for table, extra in (("scorecard_rollups", []), ("scorecard_histograms", ["metric", "bucket"])):
        op.add_column(table, _column())
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, [*KEY, "input_modality", *extra])


SUMS = [
    "requests",
    "accepted",
    "fell_back",
    "latency_sum",
    "attempts",
    "invalid",
    "produced",
    "timeouts",
    "cost",
    "tokens",
    "token_seconds",
]


def _fold(table: str, key: list[str], added: list[str]) -> None:
    """Rows of every modality summed into one per key without it."""
    keys = ", ".join(key)
    sums = ", ".join(f"sum({name}) AS {name}" for name in added)
    folded = f"SELECT {keys}, {sums} FROM {table} GROUP BY {keys}"
    op.execute(f"CREATE TEMPORARY TABLE folded AS {folded}")
    op.drop_constraint(f"pk_{table}", table, type_="primary")
    op.drop_column(table, "input_modality")
    op.execute(f"DELETE FROM {table}")
    op.execute(f"INSERT INTO {table} ({keys}, {', '.join(added)}) SELECT * FROM folded")
    op.execute("DROP TABLE folded")
    op.create_primary_key(f"pk_{table}", table, key)


def downgrade() -> None:
    _fold("scorecard_rollups", KEY, SUMS)
    _fold("scorecard_histograms", [*KEY, "metric", "bucket"], ["count"])
    op.drop_column("tasks", "input_modality")
