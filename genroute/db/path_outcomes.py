"""Each path's first attempts at a task type (production, shadow copies and evaluation runs):
how many ended, how many were accepted, what they cost. First attempts only, so a path is not
judged on the harder cases another path's failures sent it (fallbacks)."""

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

_OUTCOMES = text(
    """
    SELECT a.path,
           count(*) AS outcomes,
           count(*) FILTER (WHERE a.outcome = 'succeeded') AS accepted,
           coalesce(sum(a.cost), 0) AS cost
    FROM attempts a JOIN tasks t ON t.id = a.task_id
    WHERE t.task_type = :task_type
      AND a.path = ANY(:paths)
      AND a.attempt_no = 1
      AND a.outcome IN ('succeeded', 'invalid', 'error', 'timeout')
      AND (CAST(:since_s AS double precision) IS NULL
           OR t.created_at > now() - make_interval(secs => :since_s))
    GROUP BY a.path
    """
)


def path_outcomes(
    session: Session, task_type: str, paths: list[str], since: timedelta | None
) -> dict[str, tuple[int, int, float]]:
    """(outcomes, accepted, cost) by path; a path with none is absent."""
    params = {
        "task_type": task_type,
        "paths": paths,
        "since_s": since.total_seconds() if since else None,
    }
    return {
        path: (int(outcomes), int(accepted), float(cost))
        for path, outcomes, accepted, cost in session.execute(_OUTCOMES, params)
    }
