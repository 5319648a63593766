"""A day of arrivals served by a fleet of GPU workers, simulated event by event: a static fleet,
or one KEDA scales through the HPA's algorithm. For bench/autoscale.py.

Each replica is `batch_width` slots taking tasks first come, first served; service times are
gamma-distributed with the measured mean and squared coefficient of variation. A replica is
billed from the moment it starts (its model loads for `model_load_s` before it takes work)
until it has drained its last task after being scaled away.

The autoscaler follows KEDA and the HPA (autoscaling/v2): every `polling_s` it reads the
path's backlog (waiting plus in service, as `genroute_path_backlog` counts it); below the
activation threshold with no replica it stays at zero; otherwise the HPA wants
ceil(backlog / target), left alone within its 10% tolerance, clamped to [min, max]. Scaling
up adds at most the larger of `scale_up_pods` and `scale_up_percent` of the replicas per
`scale_up_period_s` (the HPA's selectPolicy Max); scaling down takes the highest
recommendation of the last `scale_down_window_s` (stabilisation) and removes at most one
replica per `scale_down_period_s`; scale to zero waits `cooldown_s` after the last activity.
"""

import heapq
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

DAY_S = 86_400.0


@dataclass(frozen=True)
class Trace:
    """A seeded, day-shaped arrival process: a diurnal curve (trough at 04:00, peak at 16:00,
    the trough `trough_share` of the peak) with bursts that multiply the rate."""

    peak_per_s: float
    trough_share: float = 0.15
    bursts: tuple[tuple[float, float, float], ...] = ()  # (start s, length s, factor)

    def rate(self, t: float) -> float:
        phase = (1 - math.cos(2 * math.pi * (t - 4 * 3600) / DAY_S)) / 2
        base = self.peak_per_s * (self.trough_share + (1 - self.trough_share) * phase)
        return base * math.prod(f for s, n, f in self.bursts if s <= t < s + n)

    @property
    def max_rate(self) -> float:
        return self.peak_per_s * max([1.0, *(f for _s, _n, f in self.bursts)])

    def arrivals(self, rng: random.Random) -> Iterator[float]:
        """Arrival times by thinning a Poisson process at the highest rate."""
        t, top = 0.0, self.max_rate
        while True:
            t += rng.expovariate(top)
            if t >= DAY_S:
                return
            if rng.random() * top < self.rate(t):
                yield t


def day_trace(peak_per_s: float, seed: int, bursts: int = 3) -> Trace:
    """The bench's day: the diurnal curve with `bursts` bursts (10-20 min, x1.5-2), one in
    each of as many equal windows of the working hours (09:00-18:00), so none overlap."""
    rng = random.Random(seed)
    window_s = 9 * 3600 / bursts
    made = tuple(
        (
            9 * 3600 + (n + rng.uniform(0, 0.7)) * window_s,
            rng.uniform(600, 1200),
            rng.uniform(1.5, 2.0),
        )
        for n in range(bursts)
    )
    return Trace(peak_per_s, bursts=made)


@dataclass(frozen=True)
class Scaling:
    """A ScaledObject and the HPA behaviour it sets; `static` replicas when `target` is None."""

    min_replicas: int
    max_replicas: int
    target: float | None = None  # backlog per replica
    activation: float = 1.0
    polling_s: float = 15.0
    cooldown_s: float = 900.0
    scale_up_pods: int = 4
    scale_up_percent: float = 100.0
    scale_up_period_s: float = 60.0
    scale_down_window_s: float = 900.0
    scale_down_period_s: float = 300.0


@dataclass
class _Replica:
    started: float
    ready_at: float
    free_slots: int
    leaving: bool = False
    stopped: float | None = None


@dataclass
class Outcome:
    gpu_hours: float = 0.0
    waits: list[float] = field(default_factory=list)
    responses_by_minute: dict[int, list[float]] = field(default_factory=dict)
    replicas_over_time: list[tuple[float, int]] = field(default_factory=list)


def simulate(
    trace: Trace,
    scaling: Scaling,
    mean_s: float,
    cv2: float,
    batch_width: int,
    model_load_s: float,
    seed: int,
) -> Outcome:
    rng = random.Random(seed)
    shape = 1 / cv2 if cv2 > 0 else 1e6
    outcome, waiting, replicas = Outcome(), deque(), []
    events: list[tuple[float, int, str, object]] = []
    order = 0

    def push(at: float, kind: str, payload: object = None) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, kind, payload))

    def start_replica(now: float, loaded: bool = False) -> None:
        ready = now if loaded else now + model_load_s
        replica = _Replica(now, ready, batch_width)
        replicas.append(replica)
        push(ready, "ready", replica)

    def dispatch(now: float) -> None:
        for replica in replicas:
            while (
                replica.free_slots and waiting and not replica.leaving and replica.ready_at <= now
            ):
                arrived = waiting.popleft()
                replica.free_slots -= 1
                service = rng.gammavariate(shape, mean_s / shape)
                outcome.waits.append(now - arrived)
                minute = int(arrived // 60)
                outcome.responses_by_minute.setdefault(minute, []).append(now - arrived + service)
                push(now + service, "done", replica)

    for _ in range(scaling.min_replicas if scaling.target else scaling.max_replicas):
        start_replica(0.0, loaded=True)
    outcome.replicas_over_time.append((0.0, len(replicas)))
    arrivals = trace.arrivals(rng)
    first = next(arrivals, None)
    if first is not None:
        push(first, "arrival")
    if scaling.target is not None:
        push(0.0, "poll")
    autoscaler = _Autoscaler(scaling)
    while events:
        now, _, kind, payload = heapq.heappop(events)
        if kind == "arrival":
            waiting.append(now)
            following = next(arrivals, None)
            if following is not None:
                push(following, "arrival")
        elif kind == "done":
            payload.free_slots += 1
            if payload.leaving and payload.free_slots == batch_width:
                payload.stopped = now
        elif kind == "poll" and now < DAY_S:
            in_service = sum(batch_width - r.free_slots for r in replicas if r.stopped is None)
            live = [r for r in replicas if not r.leaving]
            wanted = autoscaler.desired(now, len(waiting) + in_service, len(live))
            for _ in range(wanted - len(live)):
                start_replica(now)
            for replica in sorted(live, key=lambda r: (r.ready_at <= now, r.started))[
                : max(0, len(live) - wanted)
            ]:
                replica.leaving = True
                if replica.free_slots == batch_width:
                    replica.stopped = now
            outcome.replicas_over_time.append((now, wanted))
            push(now + scaling.polling_s, "poll")
        dispatch(now)
    end = max(DAY_S, *(r.stopped or 0.0 for r in replicas)) if replicas else DAY_S
    outcome.gpu_hours = sum(((r.stopped or end) - r.started) for r in replicas) / 3600
    return outcome


class _Autoscaler:
    """KEDA's activation and cooldown around the HPA's recommendation and behaviour."""

    def __init__(self, scaling: Scaling) -> None:
        self.scaling = scaling
        self.recommendations: deque[tuple[float, int]] = deque()
        self.added: deque[tuple[float, int]] = deque()
        self.last_removed = -math.inf
        self.last_active = 0.0

    def desired(self, now: float, backlog: float, current: int) -> int:
        s = self.scaling
        if backlog >= s.activation:
            self.last_active = now
        if current == 0 and backlog < s.activation:
            return 0
        if backlog < s.activation and s.min_replicas == 0 and now - self.last_active > s.cooldown_s:
            return 0
        ratio = backlog / (s.target * max(current, 1))
        wanted = current if current and abs(ratio - 1) <= 0.1 else math.ceil(backlog / s.target)
        wanted = min(s.max_replicas, max(s.min_replicas, wanted, 1))
        self.recommendations.append((now, wanted))
        while self.recommendations[0][0] < now - s.scale_down_window_s:
            self.recommendations.popleft()
        if wanted > current:
            while self.added and self.added[0][0] <= now - s.scale_up_period_s:
                self.added.popleft()
            allowed = max(s.scale_up_pods, math.ceil(current * s.scale_up_percent / 100))
            room = allowed - sum(n for _t, n in self.added)
            step = max(0, min(wanted - current, room))
            if step:
                self.added.append((now, step))
            return current + step
        stable = max(n for _t, n in self.recommendations)
        if stable < current and now - self.last_removed >= s.scale_down_period_s:
            self.last_removed = now
            return current - 1
        return current
