"""What a path's KEDA ScaledObject should say, from the capacity model: the most replicas (the
workers `size` finds for the peak rate and p95 budget) and the target backlog per replica.

The target is the backlog one worker can hold and still answer within the budget: its batch in
service plus the waiting work it clears before a new arrival's own service must start. A
worker runs `batch_width` attempts at a time, each taking `mean_s`, so it clears
`batch_width / mean_s` tasks a second; an arrival behind `q` waiting tasks starts after
`q * mean_s / batch_width` and is answered by then plus the service's p95. So
`q = floor((budget - p95_s) * batch_width / mean_s)`, and the target is `batch_width + q`.
KEDA's HPA keeps backlog / replicas at or below it, which holds every arrival's queue to what
the budget allows."""

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
    waiting = math.floor(slack_s * load.batch_width / load.service.mean_s)
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
