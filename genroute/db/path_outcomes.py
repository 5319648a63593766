"""Each path's first attempts at a task type: how many ended, how many were accepted, what they
cost and how long they took from enqueue to finish. First attempts only, so a path is not
judged on the harder cases another path's failures sent it (fallbacks). The promotion gate
reads production, shadow and evaluation outcomes; the adaptive share reads live traffic."""

from dataclasses import dataclass
from datetime import timedelta
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
    GROUP BY a.path
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


def path_outcomes(
    session: Session,
    task_type: str,
    paths: list[str],
    since: timedelta | None,
    purposes: tuple[str, ...] = EVERY_PURPOSE,
) -> dict[str, FirstAttempts]:
    """The first attempts of each path in `paths`; a path with none is absent."""
    params = {
        "task_type": task_type,
        "paths": paths,
        "purposes": list(purposes),
        "since_s": since.total_seconds() if since else None,
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


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
