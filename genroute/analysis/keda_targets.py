"""What a path's KEDA ScaledObject should say, from the capacity model: the most replicas (the
workers `size` finds for the peak rate and p95 budget) and the target backlog per replica.

The target is a replica's batch in service plus at most one batch waiting: a new replica
needs minutes to load its model, far longer than a p95 budget of seconds, so the queue cannot
be the buffer that absorbs a rise; scaling must start as soon as a replica is full. Where the
budget is tighter still, less waits: a worker clears `batch_width / mean_s` tasks a second, so
an arrival behind `q` waiting tasks starts after `q * mean_s / batch_width` and is answered by
then plus the service's p95, and `q` is held to `floor((budget - p95_s) * batch_width /
mean_s)`. KEDA's HPA keeps backlog / replicas at or below the target. bench/autoscale.py
measures what these targets give over a day with bursts against a static fleet."""

import math
from dataclasses import dataclass

from genroute.analysis.capacity import PathLoad, Sizing


@dataclass(frozen=True)
class KedaTargets:
    path: str
    max_replicas: int
    backlog_per_replica: int


def keda_targets(load: PathLoad, sizing: Sizing, p95_budget_s: float) -> KedaTargets:
    """Targets for `load` sized by `sizing` (from `size`) within `p95_budget_s`."""
    slack_s = max(0.0, p95_budget_s - load.service.p95_s)
    within_budget = math.floor(slack_s * load.batch_width / load.service.mean_s)
    waiting = min(load.batch_width, within_budget)
    return KedaTargets(load.path, max(1, sizing.workers), load.batch_width + waiting)


def scaled_object_patch(targets: KedaTargets) -> str:
    """A Kustomize patch for deploy/kubernetes/overlays/gpu (one entry of `patches:`)."""
    return (
        f"- target: {{kind: ScaledObject, name: genroute-worker-{targets.path}}}\n"
        "  patch: |-\n"
        "    - op: replace\n"
        "      path: /spec/maxReplicaCount\n"
        f"      value: {targets.max_replicas}\n"
        "    - op: replace\n"
        "      path: /spec/triggers/0/metadata/threshold\n"
        f'      value: "{targets.backlog_per_replica}"\n'
    )
