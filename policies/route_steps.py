"""What happens to a rules' decision before a task is made, pure and in a stated order: first
the rule's adaptive split (policies/adaptive_share.py), then its `prefer: cheapest_accepted`
(policies/path_costs.py). Submission draws the split for each request; the capacity plan
weighs both sides of it by the share; both walk the same steps, so a plan routes a mix as
submission would. The caller reads the live figures (the share, paths cooling down, costs)
for the decision's rule and passes them in. A latency budget is met after these steps
(policies/deadlines.py), from live estimates only submission has."""

from collections.abc import Collection, Mapping

from genroute.contract import PathName, RouteDecision, TaskRequest
from genroute.policies.adaptive_share import split
from genroute.policies.path_costs import PathCost, cheapest_accepted
from genroute.policies.routing import RoutingPolicy

# A draw past every share: the split's other side.
_OTHER_SIDE = 1.0


def after_rules(
    policy: RoutingPolicy,
    request: TaskRequest,
    decision: RouteDecision,
    *,
    share_now: float | None,
    draw: float,
    cooling_down: Collection[PathName],
    costs: Mapping[PathName, PathCost],
) -> RouteDecision:
    """The rules' `decision` through the split (at `share_now`, its start before any move;
    `draw` uniform in [0, 1)) and then the cheapest accepted output."""
    allowed = policy.allowed_paths(request)
    spec = policy.adaptive_share(decision)
    if spec is not None:
        share = spec.clamp(spec.start if share_now is None else share_now)
        decision = split(decision, share, draw, allowed, cooling_down)
    if policy.prefers_cheapest(decision):
        decision = cheapest_accepted(decision, costs, allowed)
    return decision


def routed_fractions(
    policy: RoutingPolicy,
    request: TaskRequest,
    share_now: float | None,
    costs: Mapping[PathName, PathCost],
) -> dict[PathName, float]:
    """Where requests like `request` go, as fractions of them: each side of the split
    weighted by its share, each through the same steps as a submitted request."""
    decision = policy.decide(request)
    spec = policy.adaptive_share(decision)
    share = 1.0 if spec is None else spec.clamp(spec.start if share_now is None else share_now)
    fractions: dict[PathName, float] = {}
    for weight, draw in ((share, 0.0), (1.0 - share, _OTHER_SIDE)):
        if weight <= 0:
            continue
        side = after_rules(
            policy, request, decision, share_now=share_now, draw=draw, cooling_down=(),
            costs=costs,
        )  # fmt: skip
        fractions[side.path] = fractions.get(side.path, 0.0) + weight
    return fractions
