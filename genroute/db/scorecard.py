"""The scorecard's SQL: figures per (purpose, path, task type, policy version) over the finished
tasks of a window and all their attempts. Three grouped scans (tasks, attempts, feedback),
each answered from covering indexes, merged by group key in Python.

`path` is the route the policy chose: a request that fell back is charged, attempts and all,
to the path it was routed to, so cost per accepted output includes what failures cost.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# The dimensions a scorecard may group by, and the task columns they read.
DIMENSIONS = {"path": "route_path", "task_type": "task_type", "policy_version": "policy_version"}
FINISHED = "('succeeded', 'failed')"

GroupKey = tuple[str | None, ...]


# The tasks a scorecard covers (see Window); every scan starts from this condition.
WINDOW_CONDITION = """
    (CAST(:since AS timestamptz) IS NULL OR created_at >= :since)
    AND (CAST(:purpose AS text) IS NULL OR purpose = :purpose)
    AND (CAST(:owner AS text) IS NULL OR owner = :owner)
    AND (CAST(:eval_run AS text) IS NULL OR eval_run = :eval_run)
"""


def _window(by: Sequence[str]) -> str:
    columns = ", ".join(f"{DIMENSIONS[d]} AS {d}" for d in by)
    extra = f", {columns}" if columns else ""
    return f"""
        SELECT id, purpose, status, queue, created_at, finished_at{extra}
        FROM tasks
        WHERE {WINDOW_CONDITION}
    """


def _group_columns(by: Sequence[str], alias: str) -> str:
    return ", ".join([f"{alias}.purpose", *(f"{alias}.{d}" for d in by)])


def _task_figures(by: Sequence[str]) -> str:
    group = _group_columns(by, "t")
    return f"""
        WITH t AS ({_window(by)})
        SELECT {group},
            count(*) FILTER (WHERE status IN {FINISHED}) AS requests,
            count(*) FILTER (WHERE status IN ('queued', 'running')) AS in_flight,
            count(*) FILTER (WHERE status = 'succeeded') AS accepted,
            count(*) FILTER (WHERE status IN {FINISHED} AND queue = 'fallback') AS fell_back,
            percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY
                extract(epoch FROM finished_at - created_at))
                FILTER (WHERE status IN {FINISHED}) AS latency,
            avg(extract(epoch FROM finished_at - created_at))
                FILTER (WHERE status IN {FINISHED}) AS latency_mean
        FROM t
        GROUP BY {group}
    """


def _attempt_figures(by: Sequence[str]) -> str:
    group = _group_columns(by, "t")
    return f"""
        WITH t AS ({_window(by)} AND status IN {FINISHED})
        SELECT {group},
            count(*) AS attempts,
            count(*) FILTER (WHERE a.outcome = 'invalid') AS invalid,
            count(*) FILTER (WHERE a.outcome IN ('succeeded', 'invalid')) AS produced,
            count(*) FILTER (WHERE a.outcome = 'timeout') AS timeouts,
            coalesce(sum(a.cost), 0) AS cost,
            sum(a.tokens_out) FILTER (WHERE a.gpu_seconds > 0) AS tokens,
            sum(a.gpu_seconds) FILTER (WHERE a.gpu_seconds > 0 AND a.tokens_out IS NOT NULL)
                AS token_seconds,
            percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY
                extract(epoch FROM a.started_at - a.enqueued_at)) AS queue_wait,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY
                extract(epoch FROM a.first_output_at - a.started_at)) AS first_output
        FROM t JOIN attempts a ON a.task_id = t.id
        GROUP BY {group}
    """


def _feedback_figures(by: Sequence[str]) -> str:
    group = _group_columns(by, "t")
    return f"""
        WITH t AS ({_window(by)} AND status = 'succeeded')
        SELECT {group},
            count(*) AS reviewed,
            count(*) FILTER (WHERE f.verdict = 'accepted') AS human_accepted,
            count(*) FILTER (WHERE f.verdict = 'edited') AS edited,
            count(*) FILTER (WHERE f.verdict = 'rejected') AS rejected,
            avg(f.edit_distance) FILTER (WHERE f.verdict = 'edited') AS mean_edit_distance
        FROM t JOIN task_feedback f ON f.task_id = t.id
        GROUP BY {group}
    """


@dataclass(frozen=True)
class Window:
    """Which tasks a scorecard covers: created since `since`, of one purpose, of one owner,
    of one evaluation run (None: no limit on that)."""

    since: datetime | None = None
    purpose: str | None = None
    owner: str | None = None
    eval_run: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "purpose": self.purpose,
            "owner": self.owner,
            "eval_run": self.eval_run,
        }


def grouped_figures(
    session: Session, by: Sequence[str], window: Window
) -> dict[str, dict[GroupKey, dict[str, Any]]]:
    """Raw figures by group key (purpose, then `by`), one mapping per scan."""
    unknown = sorted(set(by) - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {sorted(DIMENSIONS)}")
    params = window.params()
    width = 1 + len(by)
    # Grouping and percentiles sort every row of the window: in memory, not in temp files.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    scans = {"tasks": _task_figures, "attempts": _attempt_figures, "feedback": _feedback_figures}
    figures: dict[str, dict[GroupKey, dict[str, Any]]] = {}
    for name, build in scans.items():
        rows = session.execute(text(build(by)), params).mappings()
        figures[name] = {tuple(row.values())[:width]: dict(row) for row in rows}
    return figures


def outputs_by_group(
    session: Session,
    by: Sequence[str],
    window: Window,
    task_types: Sequence[str],
    sample: int,
) -> dict[GroupKey, tuple[int, int, list[str]]]:
    """For groups of the given task types: accepted outputs, distinct ones (after trimming and
    lower-casing), and the `sample` most recent outputs, by group key."""
    if not task_types:
        return {}
    group = _group_columns(by, "t")
    query = f"""
        WITH t AS ({_window(by)} AND status = 'succeeded' AND task_type = ANY(:task_types)),
        o AS (
            SELECT {group}, tk.output_text AS output,
                row_number() OVER (PARTITION BY {group} ORDER BY t.finished_at DESC) AS recency
            FROM t JOIN tasks tk ON tk.id = t.id
            WHERE tk.output_text IS NOT NULL
        )
        SELECT {_group_columns(by, "o")},
            count(*) AS outputs,
            count(DISTINCT lower(btrim(o.output))) AS distinct_outputs,
            array_agg(o.output ORDER BY o.recency) FILTER (WHERE o.recency <= :sample) AS recent
        FROM o
        GROUP BY {_group_columns(by, "o")}
    """
    params = {**window.params(), "task_types": list(task_types), "sample": sample}
    width = 1 + len(by)
    result = {}
    for row in session.execute(text(query), params):
        values = tuple(row)
        result[values[:width]] = (values[width], values[width + 1], list(values[width + 2] or []))
    return result


def latency_histogram(
    session: Session, window: Window, bins: int = 20
) -> tuple[list[float], dict[str, list[int]]]:
    """End-to-end latency of finished requests per routed path, in `bins` equal bins from 0 to
    the 99th percentile (slower ones land in the last bin): (bin edges, counts by path)."""
    query = f"""
        WITH t AS (
            SELECT route_path, extract(epoch FROM finished_at - created_at) AS latency
            FROM tasks
            WHERE status IN {FINISHED} AND {WINDOW_CONDITION}
        ),
        bound AS (SELECT greatest(percentile_cont(0.99) WITHIN GROUP (ORDER BY latency), 0.001)
                  AS top FROM t)
        SELECT bound.top, t.route_path,
            least(width_bucket(t.latency, 0, bound.top, :bins), :bins) AS bin, count(*)
        FROM t, bound
        GROUP BY bound.top, t.route_path, bin
    """
    rows = session.execute(text(query), {**window.params(), "bins": bins}).all()
    counts: dict[str, list[int]] = {}
    for _top, path, bin_no, count in rows:
        counts.setdefault(path, [0] * bins)[max(bin_no, 1) - 1] += count
    top = float(rows[0][0]) if rows else 0.0
    edges = [top * i / bins for i in range(bins + 1)]
    return edges, counts
