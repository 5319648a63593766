"""scorecard rollups and histograms, backfilled from tasks and attempts; diversity index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=32), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=128), nullable=False),
    ]


KEY = ["hour", "purpose", "owner", "path", "task_type", "policy_version"]

_TASK_KEY = """date_trunc('hour', t.created_at, 'UTC') AS hour, t.purpose,
    coalesce(t.owner, '') AS owner, t.route_path AS path, t.task_type, t.policy_version"""
_FINISHED = "t.status IN ('succeeded', 'failed')"

BACKFILL_ROLLUPS = f"""
INSERT INTO scorecard_rollups (hour, purpose, owner, path, task_type, policy_version,
    requests, accepted, fell_back, latency_sum,
    attempts, invalid, produced, timeouts, cost, tokens, token_seconds)
SELECT hour, purpose, owner, path, task_type, policy_version,
    sum(requests), sum(accepted), sum(fell_back), sum(latency_sum),
    sum(attempts), sum(invalid), sum(produced), sum(timeouts), sum(cost), sum(tokens),
    sum(token_seconds)
FROM (
    SELECT {_TASK_KEY},
        count(*) AS requests,
        count(*) FILTER (WHERE t.status = 'succeeded') AS accepted,
        count(*) FILTER (WHERE t.queue = 'fallback') AS fell_back,
        coalesce(sum(extract(epoch FROM t.finished_at - t.created_at)), 0) AS latency_sum,
        0 AS attempts, 0 AS invalid, 0 AS produced, 0 AS timeouts, 0 AS cost, 0 AS tokens,
        0 AS token_seconds
    FROM tasks t WHERE {_FINISHED}
    GROUP BY 1, 2, 3, 4, 5, 6
    UNION ALL
    SELECT {_TASK_KEY},
        0, 0, 0, 0,
        count(*),
        count(*) FILTER (WHERE a.outcome = 'invalid'),
        count(*) FILTER (WHERE a.outcome IN ('succeeded', 'invalid')),
        count(*) FILTER (WHERE a.outcome = 'timeout'),
        coalesce(sum(a.cost), 0),
        coalesce(sum(a.tokens_out) FILTER (WHERE a.gpu_seconds > 0), 0),
        coalesce(sum(a.gpu_seconds)
            FILTER (WHERE a.gpu_seconds > 0 AND a.tokens_out IS NOT NULL), 0)
    FROM tasks t JOIN attempts a ON a.task_id = t.id WHERE {_FINISHED}
    GROUP BY 1, 2, 3, 4, 5, 6
) AS parts
GROUP BY 1, 2, 3, 4, 5, 6
"""

# Metrics 1 latency, 2 queue wait, 3 time to first output; bucket 0 below a millisecond, then
# bucket b covers [1 ms * 1.05^(b-1), 1 ms * 1.05^b).
BACKFILL_HISTOGRAMS = f"""
INSERT INTO scorecard_histograms (hour, purpose, owner, path, task_type, policy_version,
    metric, bucket, count)
SELECT hour, purpose, owner, path, task_type, policy_version, metric,
    CASE WHEN v < 0.001 THEN 0 ELSE 1 + floor(ln(v / 0.001) / ln(1.05))::int END,
    count(*)
FROM (
    SELECT {_TASK_KEY}, 1 AS metric, extract(epoch FROM t.finished_at - t.created_at) AS v
    FROM tasks t WHERE {_FINISHED}
    UNION ALL
    SELECT {_TASK_KEY}, 2, extract(epoch FROM a.started_at - a.enqueued_at)
    FROM tasks t JOIN attempts a ON a.task_id = t.id
    WHERE {_FINISHED} AND a.started_at IS NOT NULL AND a.enqueued_at IS NOT NULL
    UNION ALL
    SELECT {_TASK_KEY}, 3, extract(epoch FROM a.first_output_at - a.started_at)
    FROM tasks t JOIN attempts a ON a.task_id = t.id
    WHERE {_FINISHED} AND a.first_output_at IS NOT NULL AND a.started_at IS NOT NULL
) AS v
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def upgrade() -> None:
    counts = ["requests", "accepted", "fell_back"]
    attempt_counts = ["attempts", "invalid", "produced", "timeouts"]
    op.create_table(
        "scorecard_rollups",
        *_key_columns(),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in counts),
        sa.Column("latency_sum", sa.Float(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in attempt_counts),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("token_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_scorecard_rollups")),
    )
    op.create_table(
        "scorecard_histograms",
        *_key_columns(),
        sa.Column("metric", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, "metric", "bucket", name=op.f("pk_scorecard_histograms")),
    )
    op.create_index(
        "ix_tasks_succeeded_task_type_created_at",
        "tasks",
        ["task_type", "created_at"],
        postgresql_where=sa.text("status = 'succeeded'"),
    )
    # Fill the rollups from what is already stored. The SQL is frozen here as it was when this
    # revision was written: a migration never runs application code, whose queries may change.
    op.execute(BACKFILL_ROLLUPS)
    op.execute(BACKFILL_HISTOGRAMS)


def downgrade() -> None:
    op.drop_index("ix_tasks_succeeded_task_type_created_at", table_name="tasks")
    op.drop_table("scorecard_histograms")
    op.drop_table("scorecard_rollups")
