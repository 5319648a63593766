"""Scorecard rollups: additive figures per (hour created, purpose, owner, routed path, task
type, policy version, input modality) and histograms of latency, queue wait and time to first
output, so the scorecard reads a few thousand rows instead of every attempt.

One set of SELECTs defines the figures; it fills the rollups when a task finishes (and takes
them back when a failed task is requeued), backfills them in the migration, and computes the
ragged start of a window (before its first whole hour) straight from tasks and attempts, so
the three can never disagree. Percentiles come from log-spaced buckets 5% wide.
"""

import math
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

FINISHED = "('succeeded', 'failed')"
KEY = ("hour", "purpose", "owner", "path", "task_type", "policy_version", "input_modality")
_KEY_LIST = ", ".join(KEY)
SUMS = (
    "requests",
    "accepted",
    "fell_back",
    "latency_sum",
    "attempts",
    "invalid",
    "produced",
    "timeouts",
    "cached",
    "cost",
    "tokens",
    "token_seconds",
)
# Histogram metrics (smallint in the table) and their buckets: 0 below a millisecond, then
# bucket b covers [1 ms * RATIO^(b-1), 1 ms * RATIO^b).
METRICS = {"latency": 1, "queue_wait": 2, "first_output": 3}
RATIO = 1.05
FLOOR_S = 0.001

_TASK_KEY = """date_trunc('hour', t.created_at, 'UTC') AS hour, t.purpose,
    coalesce(t.owner, '') AS owner, t.route_path AS path, t.task_type, t.policy_version,
    t.input_modality"""
_GROUP = "1, 2, 3, 4, 5, 6, 7"
# A request answered from the cache of accepted outputs: counted as `cached` and nowhere else
# (it says nothing of a path's acceptance or speed).
_MODEL_ANSWERED = """NOT EXISTS (SELECT 1 FROM attempts c
    WHERE c.id = t.result_attempt_id AND c.outcome = 'cached')"""


def bucket_sql(value: str) -> str:
    return (
        f"CASE WHEN ({value}) < {FLOOR_S} THEN 0 "
        f"ELSE 1 + floor(ln(({value}) / {FLOOR_S}) / ln({RATIO}))::int END"
    )


def bucket_edge(bucket: int) -> float:
    """Where bucket `bucket` starts (0 for the first)."""
    return 0.0 if bucket <= 0 else FLOOR_S * RATIO ** (bucket - 1)


def bucket_value(bucket: int) -> float:
    """A bucket's representative value: its geometric middle (0 for the first)."""
    if bucket <= 0:
        return 0.0
    return FLOOR_S * RATIO ** (bucket - 1) * math.sqrt(RATIO)


def _zeros(names: tuple[str, ...]) -> str:
    return ", ".join(f"0 AS {name}" for name in names)


def sums_select(task_filter: str, attempt_filter: str) -> str:
    """Additive figures by key: request figures of finished tasks matching `task_filter`, and
    attempt figures of attempts matching `attempt_filter` (on finished tasks)."""
    request_part = f"""
        SELECT {_TASK_KEY},
            count(*) AS requests,
            count(*) FILTER (WHERE t.status = 'succeeded') AS accepted,
            count(*) FILTER (WHERE t.queue = 'fallback') AS fell_back,
            coalesce(sum(extract(epoch FROM t.finished_at - t.created_at)), 0) AS latency_sum,
            {_zeros(SUMS[4:])}
        FROM tasks t WHERE t.status IN {FINISHED} AND ({task_filter}) AND {_MODEL_ANSWERED}
        GROUP BY {_GROUP}"""
    attempt_part = f"""
        SELECT {_TASK_KEY}, {_zeros(SUMS[:4])},
            count(*) FILTER (WHERE a.outcome <> 'cached') AS attempts,
            count(*) FILTER (WHERE a.outcome = 'invalid') AS invalid,
            count(*) FILTER (WHERE a.outcome IN ('succeeded', 'invalid')) AS produced,
            count(*) FILTER (WHERE a.outcome = 'timeout') AS timeouts,
            count(*) FILTER (WHERE a.outcome = 'cached') AS cached,
            coalesce(sum(a.cost), 0) AS cost,
            coalesce(sum(a.tokens_out) FILTER (WHERE a.gpu_seconds > 0), 0) AS tokens,
            coalesce(sum(a.gpu_seconds)
                FILTER (WHERE a.gpu_seconds > 0 AND a.tokens_out IS NOT NULL), 0) AS token_seconds
        FROM tasks t JOIN attempts a ON a.task_id = t.id
        WHERE t.status IN {FINISHED} AND ({attempt_filter})
        GROUP BY {_GROUP}"""
    totals = ", ".join(f"sum({name}) AS {name}" for name in SUMS)
    return f"""
        SELECT {_KEY_LIST}, {totals}
        FROM ({request_part} UNION ALL {attempt_part}) AS parts
        GROUP BY {_GROUP}"""


def histogram_select(task_filter: str, attempt_filter: str, metrics: tuple[str, ...]) -> str:
    """(key, metric, bucket, count) of the chosen metrics for the same rows as `sums_select`."""
    sources = {
        "latency": f"""SELECT {_TASK_KEY}, {METRICS["latency"]} AS metric,
            extract(epoch FROM t.finished_at - t.created_at) AS v
            FROM tasks t WHERE t.status IN {FINISHED} AND ({task_filter})
              AND {_MODEL_ANSWERED}""",
        "queue_wait": f"""SELECT {_TASK_KEY}, {METRICS["queue_wait"]} AS metric,
            extract(epoch FROM a.started_at - a.enqueued_at) AS v
            FROM tasks t JOIN attempts a ON a.task_id = t.id
            WHERE t.status IN {FINISHED} AND ({attempt_filter})
              AND a.started_at IS NOT NULL AND a.enqueued_at IS NOT NULL""",
        "first_output": f"""SELECT {_TASK_KEY}, {METRICS["first_output"]} AS metric,
            extract(epoch FROM a.first_output_at - a.started_at) AS v
            FROM tasks t JOIN attempts a ON a.task_id = t.id
            WHERE t.status IN {FINISHED} AND ({attempt_filter})
              AND a.first_output_at IS NOT NULL AND a.started_at IS NOT NULL""",
    }
    union = " UNION ALL ".join(sources[m] for m in metrics)
    return f"""
        SELECT {_KEY_LIST}, metric,
            {bucket_sql("v")} AS bucket, count(*) AS count
        FROM ({union}) AS v
        GROUP BY {_GROUP}, 8, 9"""


@dataclass(frozen=True)
class RollupTable:
    """A rollup table: its conflict key and the columns an upsert adds to."""

    name: str
    key: tuple[str, ...]
    added: tuple[str, ...]


ROLLUPS = RollupTable("scorecard_rollups", KEY, SUMS)
HISTOGRAMS = RollupTable("scorecard_histograms", (*KEY, "metric", "bucket"), ("count",))


def _upsert(
    session: Session | Connection,
    table: RollupTable,
    select_sql: str,
    params: dict,
    sign: int = 1,
) -> None:
    columns = (*table.key, *table.added)
    signed = ", ".join((*table.key, *(f"{c} * :sign" for c in table.added)))
    updates = ", ".join(f"{c} = {table.name}.{c} + EXCLUDED.{c}" for c in table.added)
    key = ", ".join(table.key)
    # Rows go in key order, so two finishing tasks never lock the same rows in opposite order.
    session.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {signed} "
            f"FROM ({select_sql}) AS s ORDER BY {key} "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        ),
        {**params, "sign": sign},
    )


def roll_up_task(session: Session, task_id: uuid.UUID, sign: int = 1) -> None:
    """Add a finished task (request and every attempt so far) to the rollups, or take it back
    (`sign` -1) before a failed task is requeued. The task's changes must be flushed."""
    session.flush()
    condition = "t.id = :task_id"
    params = {"task_id": task_id}
    _upsert(session, ROLLUPS, sums_select(condition, condition), params, sign)
    _upsert(
        session, HISTOGRAMS, histogram_select(condition, condition, tuple(METRICS)), params, sign
    )


def roll_up_late_attempt(session: Session, attempt_id: uuid.UUID) -> None:
    """An attempt recorded after its task finished (it had lost its claim): it was counted at
    the finish, but its cost, tokens and first output were not known then."""
    session.flush()
    params = {"attempt_id": attempt_id}
    late = f"""
        SELECT {_KEY_LIST},
            {_zeros(SUMS[:9])}, cost, tokens, token_seconds
        FROM ({sums_select("false", "a.id = :attempt_id")}) AS s"""
    _upsert(session, ROLLUPS, late, params)
    first_output = histogram_select("false", "a.id = :attempt_id", ("first_output",))
    _upsert(session, HISTOGRAMS, first_output, params)


def rebuild(session: Session | Connection) -> None:
    """Recompute every rollup from tasks and attempts (the migration's backfill)."""
    session.execute(text("DELETE FROM scorecard_rollups"))
    session.execute(text("DELETE FROM scorecard_histograms"))
    _upsert(session, ROLLUPS, sums_select("true", "true"), {})
    _upsert(session, HISTOGRAMS, histogram_select("true", "true", tuple(METRICS)), {})
