"""What the attempts of a recent window say about each (path, task type), for routing: the
median time its engine took for an attempt with an output (latency budgets), and its first
attempts' acceptance, answer length and cost per canvas or token (`prefer:
cheapest_accepted`). Read by the API's live figures and by `genroute capacity`."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from genroute.contract import PathName
from genroute.policies.path_costs import DecodeStyle, PathCost

# Attempts that ran to an output (accepted or not): how long this path's engine takes for
# this type (from its batch's start, not the claim: a claimed-ahead attempt waits for a batch).
_SERVICE_TIMES = text(
    """
    SELECT a.path, t.task_type,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM coalesce(a.engine_finished_at, a.finished_at)
                                           - coalesce(a.engine_started_at, a.started_at)))
               AS median_s
    FROM attempts a JOIN tasks t ON t.id = a.task_id
    WHERE a.finished_at > now() - make_interval(secs => :window_s)
      AND a.outcome IN ('succeeded', 'invalid')
    GROUP BY a.path, t.task_type
    """
)


# First attempts (so a fallback path is not priced on the cases another path failed): their
# acceptance, the length of accepted answers, and the cost of a unit (canvas or token). Every
# attempt's cost counts, failed ones too, but only attempts with an output have units: a unit
# costs the mean attempt's cost over the mean output's units, so the failures' cost enters
# once here, and once more only through acceptance (per_accepted divides by it).
_COSTS = text(
    """
    SELECT a.path, t.task_type,
           avg(CASE WHEN a.outcome = 'succeeded' THEN 1.0 ELSE 0.0 END) AS acceptance,
           avg(a.tokens_out) FILTER (WHERE a.outcome = 'succeeded') AS mean_tokens_out,
           avg(a.cost) AS mean_cost,
           avg(coalesce((a.engine_facts->>'canvases')::int,
                        greatest(ceil(a.tokens_out / :canvas)::int, 1)))
               FILTER (WHERE a.tokens_out IS NOT NULL) AS mean_canvases,
           avg(a.tokens_out) FILTER (WHERE a.tokens_out IS NOT NULL) AS mean_tokens,
           max((a.engine_facts->>'canvas_length')::int) AS canvas_length
    FROM attempts a JOIN tasks t ON t.id = a.task_id
    WHERE a.finished_at > now() - make_interval(secs => :window_s)
      AND a.attempt_no = 1
      AND a.outcome IN ('succeeded', 'invalid', 'error', 'timeout')
    GROUP BY a.path, t.task_type
    """
)
# Each (routed path, task type)'s costliest production request that ended lately, every
# attempt summed (fallbacks and judges too): what a new one holds of its caller's budgets.
_COSTLIEST = text(
    """
    SELECT route_path, task_type, max(cost) AS costliest
    FROM (SELECT t.route_path, t.task_type, sum(coalesce(a.cost, 0)) AS cost
          FROM tasks t JOIN attempts a ON a.task_id = t.id
          WHERE t.finished_at > now() - make_interval(secs => :window_s)
            AND t.purpose = 'production' AND t.status IN ('succeeded', 'failed')
          GROUP BY t.id, t.route_path, t.task_type) AS per_task
    GROUP BY route_path, task_type
    """
)
# DiffusionGemma's canvas where an attempt does not say (vLLM's recipe serves 256).
DEFAULT_CANVAS = 256


def service_medians(session: Session, window_s: float) -> dict[tuple[str, str], float]:
    """Each (path, task type)'s median engine time for an attempt within `window_s`."""
    rows = session.execute(_SERVICE_TIMES, {"window_s": window_s})
    return {(path, kind): float(median) for path, kind, median in rows}


def measured_costs(session: Session, window_s: float) -> dict[tuple[str, str], PathCost]:
    """Each (path, task type)'s cost figures from its first attempts within `window_s`."""
    params = {"window_s": window_s, "canvas": float(DEFAULT_CANVAS)}
    return {(row.path, row.task_type): _path_cost(row) for row in session.execute(_COSTS, params)}


def costliest_requests(session: Session, window_s: float) -> dict[tuple[str, str], float]:
    """Each (routed path, task type)'s costliest ended production request in `window_s`."""
    rows = session.execute(_COSTLIEST, {"window_s": window_s})
    return {(path, kind): float(cost) for path, kind, cost in rows}


def costs_of(measured: dict[tuple[str, str], PathCost], task_type: str) -> dict[PathName, PathCost]:
    """Every path's figures for `task_type`, unmeasured ones saying so."""
    return {
        path: measured.get((path.value, task_type))
        or PathCost(path, _decode(path), None, DEFAULT_CANVAS, None, None)
        for path in PathName
    }


def _decode(path: PathName) -> DecodeStyle:
    return "canvas" if path is PathName.diffusion else "token"


def _path_cost(row: Any) -> PathCost:
    path = PathName(row.path)
    decode = _decode(path)
    units = row.mean_canvases if decode == "canvas" else row.mean_tokens
    measured = row.mean_cost is not None and units
    cost_per_unit = float(row.mean_cost) / float(units) if measured else None
    return PathCost(
        path,
        decode,
        cost_per_unit,
        int(row.canvas_length or DEFAULT_CANVAS),
        float(row.mean_tokens_out) if row.mean_tokens_out is not None else None,
        float(row.acceptance) if row.acceptance is not None else None,
    )
