"""How many workers each path needs for an arrival rate and a mix of task types, from measured
service times: a queueing model (M/G/c), pure.

Each path is c = workers x batch width servers fed by Poisson arrivals: its share of the mix
as the policy routes it, plus the fallback traffic of the diffusion path's refused outputs
(at its measured acceptance). Service is the engine's run of an attempt's batch per task
type, mixed by share (its mean and squared coefficient of variation). The wait is Erlang C's
for M/M/c, stretched by (1 + cv^2) / 2 for general service (Allen-Cunneen), its 95th
percentile from the exponential tail: ln(C / 0.05) / (c / S - lambda). A worker that batches
is not c independent servers: a request that arrives while a batch runs waits for the whole
batch, so for those the wait comes from a simulation of the batcher itself (gamma service
times of the measured mean and variance); bench/capacity.py compares both with the real
system. The p95 response adds the service's own 95th percentile. The smallest worker count
whose p95 response meets the budget is the answer.
"""

import heapq
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceTimes:
    """One (path, task type)'s measured attempt durations: mean, variance, 95th percentile."""

    mean_s: float
    variance_s2: float
    p95_s: float


@dataclass(frozen=True)
class PathLoad:
    """What one path must serve: arrivals per second and the mixed service of its types."""

    path: str
    arrivals_per_s: float
    service: ServiceTimes
    batch_width: int
    task_types: tuple[str, ...]

    @property
    def cv2(self) -> float:
        return self.service.variance_s2 / self.service.mean_s**2 if self.service.mean_s else 0.0


@dataclass(frozen=True)
class Sizing:
    path: str
    workers: int
    utilisation: float
    p95_wait_s: float
    p95_response_s: float


def erlang_c(servers: int, offered: float) -> float:
    """The probability an arrival waits, for `servers` and `offered` load (lambda x S), by
    Erlang B's recursion B(k) = A B(k-1) / (k + A B(k-1)), then C = c B / (c - A (1 - B)):
    every step stays within [0, 1], where the textbook sum of A^k / k! overflows past about
    170 servers (k!) or 710 Erlangs (A^k)."""
    if offered >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return servers * blocking / (servers - offered * (1 - blocking))


def p95_wait(load: PathLoad, servers: int) -> float:
    """The 95th percentile of the queue wait with `servers` (infinite when overloaded)."""
    mean = load.service.mean_s
    offered = load.arrivals_per_s * mean
    if offered >= servers:
        return math.inf
    waiting = erlang_c(servers, offered)
    if waiting <= 0.05:
        return 0.0
    drain = servers / mean - load.arrivals_per_s
    return (1 + load.cv2) / 2 * math.log(waiting / 0.05) / drain


def simulated_p95_wait(
    load: PathLoad, servers: int, arrivals: int = 20_000, seed: int = 1
) -> float:
    """The 95th percentile of the queue wait in a simulation of genroute's workers: Poisson
    arrivals, first come first served; each worker is one engine that runs up to
    `batch_width` requests at once, as the batcher does (when it frees it starts the next
    batch at once with every request that waited, up to the width; an idle engine starts as
    soon as one arrives), for a batch's service time drawn from a gamma distribution with the
    measured mean and variance (fixed when they do not vary). With width 1 this is M/G/c."""
    if load.arrivals_per_s * load.service.mean_s >= servers:
        return math.inf
    draws = random.Random(seed)
    mean, cv2, width = load.service.mean_s, load.cv2, load.batch_width
    clock, times = 0.0, []
    for _ in range(arrivals):
        clock += draws.expovariate(load.arrivals_per_s)
        times.append(clock)
    free_at = [0.0] * max(1, servers // width)  # a heap of when each engine next frees
    waits: list[float] = []
    first = 0
    while first < arrivals:
        start = max(heapq.heappop(free_at), times[first])
        last = first
        while last < arrivals and last - first < width and times[last] <= start:
            last += 1
        service = draws.gammavariate(1 / cv2, mean * cv2) if cv2 > 1e-6 else mean
        waits.extend(start - times[k] for k in range(first, last))
        heapq.heappush(free_at, start + service)
        first = last
    waits = sorted(waits[arrivals // 10 :])  # past the empty start
    return waits[int(0.95 * (len(waits) - 1))]


def planned_p95_wait(load: PathLoad, servers: int) -> float:
    """The wait `genroute capacity` sizes by: the analytic tail where each server serves alone,
    the simulation where a worker batches (M/G/c has no term for waiting on a whole batch:
    bench/capacity.py measured 0.71x with it and 0.82x with the simulation, width 2)."""
    if load.batch_width > 1:
        return simulated_p95_wait(load, servers)
    return p95_wait(load, servers)


def size(
    load: PathLoad,
    p95_budget_s: float,
    max_workers: int = 10_000,
    wait: Callable[[PathLoad, int], float] = planned_p95_wait,
) -> Sizing | None:
    """The fewest workers meeting the budget by `wait` (planned_p95_wait unless another is
    given); None if even `max_workers` do not (the service alone is over budget)."""
    if load.arrivals_per_s <= 0:
        return Sizing(load.path, 0, 0.0, 0.0, 0.0)
    offered = load.arrivals_per_s * load.service.mean_s
    fewest = max(1, math.floor(offered / load.batch_width) + 1)  # fewer are overloaded
    for workers in range(fewest, max_workers + 1):
        servers = workers * load.batch_width
        waited = wait(load, servers)
        response = waited + load.service.p95_s
        if response <= p95_budget_s:
            utilisation = load.arrivals_per_s * load.service.mean_s / servers
            return Sizing(load.path, workers, utilisation, waited, response)
        if math.isfinite(waited) and waited == 0.0:
            return None  # no queue left and still over budget: the service itself is too slow
    return None


def mixed_service(shares: Mapping[str, float], times: Mapping[str, ServiceTimes]) -> ServiceTimes:
    """The service of a mix of task types: mean and variance of the mixture, and its p95
    taken as the largest type's (a safe side)."""
    total = sum(shares.values())
    mean = sum(share * times[name].mean_s for name, share in shares.items()) / total
    second = (
        sum(
            share * (times[name].variance_s2 + times[name].mean_s ** 2)
            for name, share in shares.items()
        )
        / total
    )
    return ServiceTimes(mean, max(0.0, second - mean**2), max(times[n].p95_s for n in shares))
