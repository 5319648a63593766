"""The live figures routing reads, kept per API process (the pure decisions are in policies/):
for each path, the messages queued ahead of a request of a given priority (Redis), the
attempts it runs at once (ready worker processes times their batch width) and, from the
database (db/path_figures.py), the median time an attempt of each task type took there lately,
for latency budgets (deadlines.py), and each (path, task type)'s acceptance, answer length and
cost per unit, for `prefer: cheapest_accepted` (path_costs.py); and each adaptive share's
latest move (share_controller.py). The slow-moving parts are read at most every `refresh_s`,
under a lock; queue depths on every call, in one round trip."""

import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import PathName
from genroute.db.path_figures import (
    DEFAULT_CANVAS,
    costliest_requests,
    costs_of,
    measured_costs,
    service_medians,
)
from genroute.db.share_events import current_shares
from genroute.policies.deadlines import PathEstimate
from genroute.policies.path_costs import PathCost
from genroute.runtime.queueing import PRIORITY_STEPS, queue_lists
from genroute.runtime.worker_registry import WarmUp, ready_workers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Figures:
    """One reading of the slow-moving figures, replaced whole so no reader sees two halves."""

    read_at: float = -math.inf
    service: dict[tuple[str, str], float] = field(default_factory=dict)
    workers: dict[str, int] = field(default_factory=dict)
    costs: dict[tuple[str, str], PathCost] = field(default_factory=dict)
    costliest: dict[tuple[str, str], float] = field(default_factory=dict)
    shares: dict[tuple[str, str], float] = field(default_factory=dict)
    warmups: dict[str, WarmUp] = field(default_factory=dict)


class LiveFigures:
    """Estimates per path for one request at a time, from figures shared by the process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        broker: redis.Redis,
        widths: dict[PathName, int],
        *,
        window_s: float,
        refresh_s: float,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._widths = widths
        self._window_s = window_s
        self._refresh_s = refresh_s
        self._reading = threading.Lock()  # one thread reads; the others use what is there
        self._figures = _Figures()

    def estimates(
        self, task_type: str, priority: int, max_output_tokens: int
    ) -> dict[PathName, PathEstimate]:
        """Every path's estimate for a request of `task_type` at `priority` with that bound;
        none when the figures cannot be read (a budget is then not judged)."""
        try:
            figures = self._current()
            ahead = self._queued_ahead(priority)
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); latency budgets are not judged", exc)
            return {}
        estimates = {}
        for path in PathName:
            slots = figures.workers.get(path.value, 0) * self._widths[path]
            measured = figures.service.get((path.value, task_type))
            if measured is not None or path.value not in figures.warmups:
                estimates[path] = PathEstimate(path, ahead[path], slots, measured)
                continue
            cold = _from_warmup(figures.warmups[path.value], max_output_tokens)
            estimates[path] = PathEstimate(path, ahead[path], slots, cold, from_warmup=True)
        return estimates

    def costs(self, task_type: str) -> dict[PathName, PathCost]:
        """Each path's measured cost figures for `task_type` (unmeasured ones say so)."""
        try:
            figures = self._current()
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); routing by the rules alone", exc)
            return {}
        return costs_of(figures.costs, task_type)

    def costliest_request(self, path: PathName, task_type: str) -> float | None:
        """The most a recent request of `task_type` routed to `path` cost, all its attempts
        together; None while none ended (or the figures cannot be read)."""
        try:
            figures = self._current()
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); budgets hold the unmeasured amount", exc)
            return None
        return figures.costliest.get((path.value, task_type))

    def share(self, rule: str, task_type: str) -> float | None:
        """The latest share of `rule`'s path for `task_type` (None before its first move);
        while the figures cannot be re-read, the last one read."""
        try:
            figures = self._current()
        except (redis.RedisError, OSError) as exc:
            log.warning("live figures unreadable (%s); adaptive shares as last read", exc)
            figures = self._figures
        return figures.shares.get((rule, task_type))

    def _current(self) -> _Figures:
        """The figures, re-read when older than `refresh_s` by one thread at a time, with no
        lock held while it reads: the others go on with the figures there are, except before
        the first reading, which they wait for."""
        figures = self._figures
        if time.monotonic() - figures.read_at < self._refresh_s:
            return figures
        if not self._reading.acquire(blocking=figures.read_at == -math.inf):
            return figures
        try:
            figures = self._figures  # another thread may have read while this one waited
            if time.monotonic() - figures.read_at >= self._refresh_s:
                figures = self._figures = self._read()
            return figures
        finally:
            self._reading.release()

    def _read(self) -> _Figures:
        with self._sessions() as session:  # every database read on one connection
            service = service_medians(session, self._window_s)
            costs = measured_costs(session, self._window_s)
            costliest = costliest_requests(session, self._window_s)
            shares = current_shares(session)
        workers = ready_workers(self._broker)
        return _Figures(
            read_at=time.monotonic(),
            service=service,
            workers=Counter(worker.get("path", "") for worker in workers),
            costs=costs,
            costliest=costliest,
            shares={key: current.share for key, current in shares.items()},
            warmups=_fastest_warmups(workers),
        )

    def _queued_ahead(self, priority: int) -> dict[PathName, int]:
        """Messages a worker takes before one at `priority`: kombu's Redis transport files a
        message under the largest priority step not above its priority and serves the
        steps in order."""
        steps = [step for step in PRIORITY_STEPS if step <= priority]
        pipe = self._broker.pipeline(transaction=False)
        for path in PathName:
            for name in queue_lists(path.value)[: len(steps)]:
                pipe.llen(name)
        lengths = iter(pipe.execute())
        return {path: sum(int(next(lengths)) for _ in steps) for path in PathName}


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
