"""Each path's first attempts at a task type: how many ended, how many were accepted, what they
cost and how long they took from enqueue to finish. First attempts only, so a path is not
judged on the harder cases another path's failures sent it (fallbacks). The promotion gate
reads production, shadow and evaluation outcomes; the adaptive share reads live traffic."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from genroute.contract import Purpose

EVERY_PURPOSE = (Purpose.production.value, Purpose.shadow.value, Purpose.evaluation.value)
LIVE_TRAFFIC = (Purpose.production.value, Purpose.shadow.value)

_OUTCOMES = text(
    """
    SELECT a.path,
           count(*) AS outcomes,
           count(*) FILTER (WHERE a.outcome = 'succeeded') AS accepted,
           coalesce(sum(a.cost), 0) AS cost,
           avg(a.cost) AS mean_cost,
           stddev_samp(a.cost) AS cost_sd,
           1000 * percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM
               a.finished_at - coalesce(a.enqueued_at, a.started_at, a.finished_at))) AS p95_ms
    FROM attempts a JOIN tasks t ON t.id = a.task_id
    WHERE t.task_type = :task_type
      AND a.path = ANY(:paths)
      AND t.purpose = ANY(:purposes)
      AND a.attempt_no = 1
      AND a.outcome IN ('succeeded', 'invalid', 'error', 'timeout')
      AND (CAST(:since_s AS double precision) IS NULL
           OR t.created_at > now() - make_interval(secs => :since_s))
      AND (CAST(:start AS timestamptz) IS NULL OR t.created_at >= :start)
    GROUP BY a.path
    """
)

# Shadow pairs: a production task and its shadow copy (the same input), each one's first
# attempt ended, one on each of the two paths.
_PAIRS = text(
    """
    SELECT count(*) AS pairs,
           count(*) FILTER (WHERE c_outcome = 'succeeded') AS candidate_accepted,
           count(*) FILTER (WHERE i_outcome = 'succeeded') AS incumbent_accepted,
           coalesce(sum(c_cost), 0) AS candidate_cost,
           coalesce(sum(i_cost), 0) AS incumbent_cost
    FROM (
        SELECT CASE WHEN sa.path = :candidate THEN sa.outcome ELSE oa.outcome END AS c_outcome,
               CASE WHEN sa.path = :candidate THEN oa.outcome ELSE sa.outcome END AS i_outcome,
               CASE WHEN sa.path = :candidate THEN sa.cost ELSE oa.cost END AS c_cost,
               CASE WHEN sa.path = :candidate THEN oa.cost ELSE sa.cost END AS i_cost
        FROM tasks s
        JOIN tasks o ON o.id = s.shadow_of
        JOIN attempts sa ON sa.task_id = s.id AND sa.attempt_no = 1
        JOIN attempts oa ON oa.task_id = o.id AND oa.attempt_no = 1
        WHERE s.purpose = 'shadow'
          AND s.task_type = :task_type
          AND ((sa.path = :candidate AND oa.path = :incumbent)
               OR (sa.path = :incumbent AND oa.path = :candidate))
          AND sa.outcome IN ('succeeded', 'invalid', 'error', 'timeout')
          AND oa.outcome IN ('succeeded', 'invalid', 'error', 'timeout')
          AND (CAST(:start AS timestamptz) IS NULL OR o.created_at >= :start)
    ) AS pairs
    """
)


@dataclass(frozen=True)
class FirstAttempts:
    """One path's first attempts at one task type (costs and latency None where unrecorded)."""

    outcomes: int
    accepted: int
    cost: float
    mean_cost: float | None
    cost_sd: float | None
    p95_ms: float | None


def first_attempts(
    session: Session,
    task_type: str,
    paths: list[str],
    since: timedelta | None,
    purposes: tuple[str, ...] = EVERY_PURPOSE,
    start: datetime | None = None,
) -> dict[str, FirstAttempts]:
    """The first attempts of each path in `paths` of tasks created within `since` of now (a
    window that slides: for controllers) and at or after `start` (fixed: for a running
    comparison); a path with none is absent."""
    params = {
        "task_type": task_type,
        "paths": paths,
        "purposes": list(purposes),
        "since_s": since.total_seconds() if since else None,
        "start": start,
    }
    return {
        row.path: FirstAttempts(
            int(row.outcomes),
            int(row.accepted),
            float(row.cost),
            _number(row.mean_cost),
            _number(row.cost_sd),
            _number(row.p95_ms),
        )
        for row in session.execute(_OUTCOMES, params)
    }


@dataclass(frozen=True)
class ShadowPairs:
    """Pairs of first attempts at the same input, one on each path: how many, and each side's
    accepted count and cost."""

    pairs: int
    candidate_accepted: int
    incumbent_accepted: int
    candidate_cost: float
    incumbent_cost: float


def shadow_pairs(
    session: Session, task_type: str, candidate: str, incumbent: str, start: datetime | None
) -> ShadowPairs:
    """Every ended pair of a production task and its shadow copy split between the two paths,
    of originals created at or after `start`."""
    params = {
        "task_type": task_type,
        "candidate": candidate,
        "incumbent": incumbent,
        "start": start,
    }
    row = session.execute(_PAIRS, params).one()
    return ShadowPairs(
        int(row.pairs),
        int(row.candidate_accepted),
        int(row.incumbent_accepted),
        float(row.candidate_cost),
        float(row.incumbent_cost),
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
