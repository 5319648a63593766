"""From a rate and a mix of task types to each path's load, routed as submission routes it:
the rules, each rule's adaptive split at its current share and its cheapest accepted output
(policies/route_steps.py); the diffusion path's refused outputs come back as fallback work on
the autoregressive path (at the diffusion path's measured acceptance). Pure: measured figures
in, loads out."""

from collections.abc import Mapping

from genroute.analysis.capacity import PathLoad, ServiceTimes, mixed_service
from genroute.contract import PathName, TaskRequest
from genroute.errors import GenrouteError
from genroute.policies import RoutingPolicy
from genroute.policies.path_costs import PathCost
from genroute.policies.route_steps import routed_fractions


def parse_mix(text: str) -> dict[str, float]:
    """`ticket_summary=0.6,extraction=0.4` as shares that sum to 1."""
    shares = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not name.strip() or share < 0:
            raise GenrouteError(f"--mix: '{part}' is not TASK_TYPE=SHARE")
        shares[name.strip()] = share
    total = sum(shares.values())
    if total <= 0:
        raise GenrouteError("--mix: the shares add up to nothing")
    return {name: share / total for name, share in shares.items()}


def path_loads(
    rate_per_s: float,
    mix: Mapping[str, float],
    policy: RoutingPolicy,
    times: Mapping[tuple[str, str], ServiceTimes],
    acceptance: Mapping[tuple[str, str], float],
    widths: Mapping[PathName, int],
    shares_now: Mapping[tuple[str, str], float] | None = None,
    costs: Mapping[str, Mapping[PathName, PathCost]] | None = None,
) -> list[PathLoad]:
    """Each path's arrivals and mixed service. `shares_now` holds each (rule, task type)'s
    current adaptive share, `costs` each task type's measured path costs. A (path, task type)
    the mix sends work to but nothing was measured for is named in the error: no figure is
    guessed."""
    shares: dict[PathName, dict[str, float]] = {path: {} for path in PathName}
    for task_type, share in mix.items():
        request = TaskRequest(task_type=task_type, input="capacity")
        rule = policy.decide(request).rule
        current = (shares_now or {}).get((rule, task_type))
        routed = routed_fractions(policy, request, current, (costs or {}).get(task_type, {}))
        for path, fraction in routed.items():
            by_type = shares[path]
            by_type[task_type] = by_type.get(task_type, 0.0) + share * fraction
            if path is PathName.diffusion:  # refused outputs fall back to the autoregressive path
                refused = share * fraction * (1 - acceptance.get((path.value, task_type), 0.0))
                fallback = shares[PathName.autoregressive]
                fallback[task_type] = fallback.get(task_type, 0.0) + refused
    loads = []
    for path, by_type in shares.items():
        if not by_type:
            continue
        missing = [t for t in by_type if (path.value, t) not in times]
        if missing:
            raise GenrouteError(
                f"no measured attempts of {', '.join(missing)} on {path.value}: run some "
                "(genroute eval, or production traffic) before planning with them"
            )
        service = mixed_service(by_type, {t: times[(path.value, t)] for t in by_type})
        loads.append(
            PathLoad(
                path.value,
                rate_per_s * sum(by_type.values()),
                service,
                widths.get(path, 1),
                tuple(sorted(by_type)),
            )
        )
    return loads
