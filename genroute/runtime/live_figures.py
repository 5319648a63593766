"""The live figures routing reads (the pure decisions are in policies/): for each path, the
messages queued ahead of a request of a given priority (Redis), the attempts it runs at once
(ready worker processes times their batch width) and the median time an attempt of each task
type took there lately, for latency budgets (deadlines.py); and each (path, task type)'s
acceptance, answer length and batch-shared cost per canvas or token, for
`prefer: cheapest_accepted` (path_costs.py); and each adaptive share's latest move
(share_controller.py). The slow-moving parts are read at most every
`refresh_s`; queue depths on every call, in one round trip."""

import logging
import math
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from genroute.config import read_yaml_mapping
from genroute.contract import Route
from genroute.db.share_events import current_shares
from genroute.policies.deadlines import PathEstimate
from genroute.policies.path_costs import DecodeStyle, PathCost
from genroute.runtime.queueing import PRIORITY_STEPS, queue_lists
from genroute.runtime.worker_registry import WarmUp, ready_workers

log = logging.getLogger(__name__)

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
# DiffusionGemma's canvas where an attempt does not say (vLLM's recipe serves 256).
DEFAULT_CANVAS = 256


def batch_widths(paths_file: Path) -> dict[Route, int]:
    """Each path's batch width as workers/paths.yaml declares it (1 where it says none)."""
    entries = read_yaml_mapping(paths_file).get("paths") or {}
    widths = {}
    for path in Route:
        entry = entries.get(path.value)
        widths[path] = int(entry.get("batch_width", 1)) if isinstance(entry, dict) else 1
    return widths


class LiveFigures:
    """Estimates per path for one request at a time, from figures shared by the process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        broker: redis.Redis,
        widths: dict[Route, int],
        *,
        window_s: float,
        refresh_s: float,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._widths = widths
        self._window_s = window_s
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._service: dict[tuple[str, str], float] = {}
        self._workers: dict[str, int] = {}
        self._costs: dict[tuple[str, str], PathCost] = {}
        self._shares: dict[tuple[str, str], float] = {}
        self._warmups: dict[str, WarmUp] = {}

    def estimates(
        self, task_type: str, priority: int, max_output_tokens: int
    ) -> dict[Route, PathEstimate]:
        """Every path's estimate for a request of `task_type` at `priority` with that bound;
        none when the figures cannot be read (a budget is then not judged)."""
        try:
            self._refresh()
            ahead = self._queued_ahead(priority)
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); latency budgets are not judged", exc)
            return {}
        estimates = {}
        for path in Route:
            slots = self._workers.get(path.value, 0) * self._widths[path]
            measured = self._service.get((path.value, task_type))
            if measured is not None or path.value not in self._warmups:
                estimates[path] = PathEstimate(path, ahead[path], slots, measured)
                continue
            cold = _from_warmup(self._warmups[path.value], max_output_tokens)
            estimates[path] = PathEstimate(path, ahead[path], slots, cold, from_warmup=True)
        return estimates

    def costs(self, task_type: str) -> dict[Route, PathCost]:
        """Each path's measured cost figures for `task_type` (unmeasured ones say so)."""
        try:
            self._refresh()
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); routing by the rules alone", exc)
            return {}
        return costs_of(self._costs, task_type)

    def share(self, rule: str, task_type: str) -> float | None:
        """The latest share of `rule`'s path for `task_type`; None before its first move or
        when the figures cannot be read."""
        try:
            self._refresh()
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); adaptive shares at their start", exc)
        return self._shares.get((rule, task_type))

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < self._refresh_s:
                return
            window = {"window_s": self._window_s}
            with self._sessions() as session:  # every read on one connection
                rows = session.execute(_SERVICE_TIMES, window).all()
                self._costs = measured_costs(session, self._window_s)
                shares = current_shares(session)
            self._shares = {key: current.share for key, current in shares.items()}
            self._service = {(path, kind): float(median) for path, kind, median in rows}
            workers = ready_workers(self._broker)
            self._workers = Counter(worker.get("path", "") for worker in workers)
            self._warmups = _fastest_warmups(workers)
            self._read_at = time.monotonic()

    def _queued_ahead(self, priority: int) -> dict[Route, int]:
        """Messages a worker takes before one at `priority`: kombu's Redis transport files a
        message under the largest priority step not above its priority and serves the
        steps in order."""
        steps = [step for step in PRIORITY_STEPS if step <= priority]
        pipe = self._broker.pipeline(transaction=False)
        for path in Route:
            for name in queue_lists(path.value)[: len(steps)]:
                pipe.llen(name)
        lengths = iter(pipe.execute())
        return {path: sum(int(next(lengths)) for _ in steps) for path in Route}


def measured_costs(session: Session, window_s: float) -> dict[tuple[str, str], PathCost]:
    """Each (path, task type)'s cost figures from its first attempts within `window_s`."""
    params = {"window_s": window_s, "canvas": float(DEFAULT_CANVAS)}
    return {(row.path, row.task_type): _path_cost(row) for row in session.execute(_COSTS, params)}


def costs_of(measured: dict[tuple[str, str], PathCost], task_type: str) -> dict[Route, PathCost]:
    """Every path's figures for `task_type`, unmeasured ones saying so."""
    return {
        path: measured.get((path.value, task_type))
        or PathCost(path, _decode(path), None, DEFAULT_CANVAS, None, None)
        for path in Route
    }


def _fastest_warmups(workers: list[dict[str, Any]]) -> dict[str, WarmUp]:
    """Each path's quickest warm-up per unit among its ready workers (the first to free takes
    the request, and a warm-up's first call may still include lazy set-up)."""
    best: dict[str, WarmUp] = {}
    for worker in workers:
        if not worker.get("warmup"):
            continue
        warmup, path = WarmUp(**worker["warmup"]), worker.get("path", "")
        if path not in best or warmup.seconds_per_unit() < best[path].seconds_per_unit():
            best[path] = warmup
    return best


def _from_warmup(warmup: WarmUp, max_output_tokens: int) -> float:
    """An attempt's service time scaled from a warm-up: per canvas for engines that decode in
    canvases (whole ones), per output token otherwise."""
    if warmup.canvases:
        canvas = warmup.canvas_length or DEFAULT_CANVAS
        return warmup.seconds_per_unit() * math.ceil(max_output_tokens / canvas)
    return warmup.seconds_per_unit() * max_output_tokens


def _decode(path: Route) -> DecodeStyle:
    return "canvas" if path is Route.diffusion else "token"


def _path_cost(row: Any) -> PathCost:
    path = Route(row.path)
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
