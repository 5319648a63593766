"""Meeting a latency budget, as a pure decision: given each path's estimated completion time
for a request (live figures gathered outside policies/ and passed in), keep the rules' path if
it can finish within the budget, else move to another allowed path that can, else refuse with
the estimates (or, for a `best_effort` request, keep the rules' path and say why).

A path with no measured attempts of this task type is estimated from its workers' warm-up
(a timed generation at start-up, scaled to the request's bound); a path with neither has no
estimate: the rules' path is kept rather than guessed at, and it is never chosen as somewhere
to move to. A path no worker consumes can meet no budget, measured or not.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from genroute.contract import PathName, RouteDecision, TaskRequest
from genroute.errors import BudgetUnmeetable


@dataclass(frozen=True)
class PathEstimate:
    """A path's queue ahead of the request, the attempts it runs at once, and how long one
    attempt of this task type takes there: measured lately, else from its workers' warm-up
    (`from_warmup`), else None."""

    path: PathName
    queued_ahead: int
    slots: int
    service_s: float | None
    from_warmup: bool = False

    @property
    def completion_s(self) -> float | None:
        """Queue wait plus service: the work ahead shared over the slots, then its own."""
        if self.slots == 0:
            return math.inf  # nothing consumes the queue: it never finishes
        if self.service_s is None:
            return None
        return self.service_s * (1 + self.queued_ahead / self.slots)

    def describe(self) -> str:
        if self.slots == 0:
            return f"{self.path.value}: no worker consuming its queue"
        if self.service_s is None:
            return f"{self.path.value}: no measured attempts of this task type"
        basis = "its workers' warm-up" if self.from_warmup else "an attempt"
        return (
            f"{self.path.value} ~{self.completion_s:.1f} s ({self.queued_ahead} queued ahead, "
            f"{self.slots} slots, {self.service_s:.2f} s by {basis})"
        )


def meet_budget(
    decision: RouteDecision,
    request: TaskRequest,
    estimates: Mapping[PathName, PathEstimate],
    allowed: Sequence[PathName],
) -> RouteDecision:
    """The decision, moved or refused if its path cannot finish within the request's budget."""
    if request.latency_budget_ms is None:
        return decision
    budget_s = request.latency_budget_ms / 1000
    chosen = estimates.get(decision.path)
    if chosen is None or chosen.completion_s is None or chosen.completion_s <= budget_s:
        return decision
    summary = "; ".join(estimates[path].describe() for path in sorted(estimates))
    meeting = [
        estimate
        for path, estimate in estimates.items()
        if path in allowed
        and path != decision.path
        and estimate.completion_s is not None
        and estimate.completion_s <= budget_s
    ]
    if meeting:
        best = min(meeting, key=lambda estimate: estimate.completion_s or 0.0)
        reason = (
            f"rerouted to {best.path.value} to meet the {budget_s:g} s budget ({summary}); "
            f"the rules chose {decision.path.value}: {decision.reason}"
        )
        return decision.model_copy(update={"path": best.path, "reason": reason})
    if request.best_effort:
        reason = (
            f"{decision.reason}; best effort: no path meets the {budget_s:g} s budget ({summary})"
        )
        return decision.model_copy(update={"reason": reason})
    raise BudgetUnmeetable(
        "latency_budget_ms",
        f"no path this request may use can finish within {budget_s:g} s: {summary}; "
        "raise the budget, or send best_effort: true to run it anyway",
    )
