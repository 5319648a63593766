"""The scorecard's SQL: figures per (purpose, path, task type, policy version) over the finished
tasks of a window and all their attempts. Sums and histograms come from the hourly rollups
(`genroute.db.rollups`) for the window's whole hours and from tasks and attempts for its
ragged start; tasks in flight, feedback and diversity are read from the tables.

`path` is the route the policy chose: a request that fell back is charged, attempts and all,
to the path it was routed to, so cost per accepted output includes what failures cost.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from genroute.db.rollups import (
    KEY,
    METRICS,
    SUMS,
    bucket_value,
    histogram_select,
    sums_select,
)

# The dimensions a scorecard may group by, and the task columns they read.
DIMENSIONS = {
    "path": "route_path",
    "task_type": "task_type",
    "policy_version": "policy_version",
    "input_modality": "input_modality",
}

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
        SELECT id, purpose, finished_at, output_text{extra}
        FROM tasks
        WHERE {WINDOW_CONDITION}
    """


def _group_columns(by: Sequence[str], alias: str) -> str:
    return ", ".join([f"{alias}.purpose", *(f"{alias}.{d}" for d in by)])


def _feedback_figures(by: Sequence[str]) -> str:
    group = _group_columns(by, "t")
    return f"""
        WITH t AS ({_window(by)} AND status = 'succeeded')
        SELECT {group},
            count(*) AS reviewed,
            count(*) FILTER (WHERE f.verdict = 'accepted') AS human_accepted,
            count(*) FILTER (WHERE f.verdict = 'edited') AS edited,
            count(*) FILTER (WHERE f.verdict = 'rejected') AS rejected,
            avg(f.edit_distance) FILTER (WHERE f.verdict = 'edited') AS mean_edit_distance,
            avg(f.usefulness) AS mean_usefulness
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


def _rollup_from(since: datetime | None) -> datetime | None:
    """The first whole hour of a window: rollups cover it onwards, raw rows the part before."""
    if since is None:
        return None
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour if hour == since else hour + timedelta(hours=1)


def _sources(window: Window) -> tuple[str, str, dict[str, Any]]:
    """(rollup condition, raw condition, parameters): rollup rows of the window's whole hours
    and raw rows of its ragged start; an evaluation run is read raw, whole."""
    params = {**window.params(), "rollup_from": _rollup_from(window.since)}
    owned = "(CAST(:owner AS text) IS NULL OR {col}owner = coalesce(:owner, ''))"
    of_purpose = "(CAST(:purpose AS text) IS NULL OR {col}purpose = :purpose)"
    common = f"{owned} AND {of_purpose}"
    if window.eval_run is not None:
        return "false", "t.eval_run = :eval_run AND " + common.format(col="t."), params
    rollup = "(CAST(:rollup_from AS timestamptz) IS NULL OR r.hour >= :rollup_from) AND " + (
        common.format(col="r.")
    )
    if window.since is None:
        return rollup, "false", params
    raw = "t.created_at >= :since AND t.created_at < :rollup_from AND " + common.format(col="t.")
    return rollup, raw, params


def _sums(by: Sequence[str], window: Window) -> tuple[str, dict[str, Any]]:
    rollup, raw, params = _sources(window)
    columns = ", ".join(["purpose", *by])
    totals = ", ".join(f"sum({name})::float8 AS {name}" for name in SUMS)
    query = f"""
        SELECT {columns}, {totals} FROM (
            SELECT {", ".join((*KEY, *SUMS))} FROM scorecard_rollups r WHERE {rollup}
            UNION ALL ({sums_select(raw, raw)})
        ) AS x GROUP BY {columns}"""
    return query, params


def _histograms(by: Sequence[str], window: Window) -> tuple[str, dict[str, Any]]:
    rollup, raw, params = _sources(window)
    columns = ", ".join(["purpose", *by])
    query = f"""
        SELECT {columns}, metric, bucket, sum(count) AS count FROM (
            SELECT {", ".join(KEY)}, metric, bucket, count FROM scorecard_histograms r
            WHERE {rollup}
            UNION ALL ({histogram_select(raw, raw, tuple(METRICS))})
        ) AS x GROUP BY {columns}, metric, bucket"""
    return query, params


def _in_flight(by: Sequence[str]) -> str:
    columns = ", ".join(["purpose", *(f"{DIMENSIONS[d]} AS {d}" for d in by)])
    return f"""
        SELECT {columns}, count(*) AS in_flight FROM tasks
        WHERE status IN ('queued', 'running') AND {WINDOW_CONDITION}
        GROUP BY {", ".join(["purpose", *by])}"""


def percentile(buckets: dict[int, int], share: float) -> float | None:
    """Continuous percentile (as PostgreSQL's percentile_cont) over bucketed values, each value
    taken as its bucket's middle: within 2.5% of the exact figure."""
    total = sum(buckets.values())
    if total == 0:
        return None
    position = share * (total - 1)
    below, above = math.floor(position), math.ceil(position)
    values: dict[int, float] = {}
    seen = 0
    for bucket in sorted(buckets):
        count = buckets[bucket]
        for rank in (below, above):
            if seen <= rank < seen + count:
                values[rank] = bucket_value(bucket)
        seen += count
    return values[below] + (values[above] - values[below]) * (position - below)


def grouped_figures(
    session: Session, by: Sequence[str], window: Window
) -> dict[str, dict[GroupKey, dict[str, Any]]]:
    """Figures by group key (purpose, then `by`): additive sums, histogram buckets by metric,
    tasks in flight, and human feedback."""
    unknown = sorted(set(by) - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {sorted(DIMENSIONS)}")
    width = 1 + len(by)
    # The ragged start of a window is aggregated in memory, not in temp files.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    figures: dict[str, dict[GroupKey, dict[str, Any]]] = {}
    for name, (query, params) in {
        "sums": _sums(by, window),
        "in_flight": (_in_flight(by), window.params()),
        "feedback": (_feedback_figures(by), window.params()),
    }.items():
        rows = session.execute(text(query), params).mappings()
        figures[name] = {tuple(row.values())[:width]: dict(row) for row in rows}
    histograms: dict[GroupKey, dict[str, Any]] = {}
    metric_names = {number: name for name, number in METRICS.items()}
    query, params = _histograms(by, window)
    for row in session.execute(text(query), params):
        values = tuple(row)
        key, (metric, bucket, count) = values[:width], values[width:]
        counts = histograms.setdefault(key, {}).setdefault(metric_names[metric], {})
        counts[bucket] = counts.get(bucket, 0) + int(count)
    figures["histograms"] = histograms
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
            SELECT {group}, t.output_text AS output,
                row_number() OVER (PARTITION BY {group} ORDER BY t.finished_at DESC) AS recency
            FROM t
            WHERE t.output_text IS NOT NULL
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
