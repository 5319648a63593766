"""Measured service times per (path, task type), and first attempts' acceptance: what the
capacity model is driven by. Service is the engine's run of the attempt's batch: with
claim-ahead an attempt waits for a batch after its claim, and that wait is queueing, not
service (attempts recorded before engine times were kept fall back to claim to finish)."""

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

_DURATIONS = text(
    """
    SELECT a.path, t.task_type,
           avg(d.seconds) AS mean_s,
           coalesce(var_pop(d.seconds), 0) AS variance_s2,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY d.seconds) AS p95_s,
           count(*) AS attempts,
           avg(CASE WHEN a.outcome = 'succeeded' THEN 1.0 ELSE 0.0 END)
               FILTER (WHERE a.attempt_no = 1) AS first_acceptance
    FROM attempts a
    JOIN tasks t ON t.id = a.task_id
    CROSS JOIN LATERAL (
        SELECT extract(epoch FROM coalesce(a.engine_finished_at, a.finished_at)
                                  - coalesce(a.engine_started_at, a.started_at)) AS seconds) AS d
    WHERE a.outcome IN ('succeeded', 'invalid')
      AND (CAST(:since_s AS double precision) IS NULL
           OR a.finished_at > now() - make_interval(secs => :since_s))
    GROUP BY a.path, t.task_type
    """
)


def service_times(session: Session, since: timedelta | None) -> list[dict]:
    """One row per (path, task type) with its durations and first-attempt acceptance."""
    params = {"since_s": since.total_seconds() if since else None}
    return [
        {
            "path": row.path,
            "task_type": row.task_type,
            "mean_s": float(row.mean_s),
            "variance_s2": float(row.variance_s2),
            "p95_s": float(row.p95_s),
            "attempts": int(row.attempts),
            "first_acceptance": (
                float(row.first_acceptance) if row.first_acceptance is not None else None
            ),
        }
        for row in session.execute(_DURATIONS, params)
    ]
