"""A promotion gate that peeking cannot fool: whether a candidate path may take a task type
from the incumbent, from their outcomes so far, at any time and as often as anyone asks.

Each path's acceptance rate gets an anytime-valid confidence sequence (Robbins' normal mixture
for [0, 1]-bounded outcomes, Howard et al. 2021): it holds at every sample size at once with
probability at least 1 - alpha/2, so the difference of the two holds with 1 - alpha however
often it is looked at. The candidate is promoted once the lower bound of (candidate -
incumbent) is above -margin (non-inferior) and it is cheaper per accepted output; kept once
the upper bound is below -margin (inferior), or when it is not cheaper; otherwise the answer is
"not enough evidence", with about how many more outcomes per path would settle it.

Pure: outcomes in, a verdict out.
"""

import math
from dataclasses import dataclass

# Outcomes in [0, 1] are 1/2-sub-Gaussian.
_VARIANCE = 0.25
# The mixture is tightest near this many outcomes; valid at every count.
_TUNED_FOR = 200


@dataclass(frozen=True)
class PathOutcomes:
    """One path's outcomes of the task type: how many, how many accepted, what they cost."""

    path: str
    outcomes: int
    accepted: int
    cost: float

    @property
    def acceptance(self) -> float:
        return self.accepted / self.outcomes if self.outcomes else 0.0

    def cost_per_accepted(self) -> float | None:
        return self.cost / self.accepted if self.accepted else None


def half_width(outcomes: int, alpha: float) -> float:
    """The confidence sequence's half-width for a mean of `outcomes` bounded outcomes."""
    if outcomes == 0:
        return math.inf
    rho = _VARIANCE * _TUNED_FOR
    spread = _VARIANCE * outcomes + rho
    return math.sqrt(spread * (2 * math.log(1 / alpha) + math.log(spread / rho))) / outcomes


@dataclass(frozen=True)
class GateVerdict:
    """`promote`, `keep` or `not enough evidence`, with the bounds and figures behind it."""

    decision: str
    reason: str
    difference: float
    lower: float
    upper: float
    more_outcomes_needed: int | None
    cost_per_accepted: dict[str, tuple[float, float] | None]


def cost_interval(path: PathOutcomes, alpha: float) -> tuple[float, float] | None:
    """Cost per accepted output, from mean cost per outcome over the acceptance rate's
    bounds (the acceptance is the uncertain part; costs per attempt vary little)."""
    if path.outcomes == 0 or path.accepted == 0:
        return None
    mean_cost = path.cost / path.outcomes
    width = half_width(path.outcomes, alpha)
    high_rate, low_rate = min(1.0, path.acceptance + width), path.acceptance - width
    return mean_cost / high_rate, (mean_cost / low_rate if low_rate > 0 else math.inf)


def judge(
    candidate: PathOutcomes, incumbent: PathOutcomes, margin: float, alpha: float = 0.05
) -> GateVerdict:
    """Whether `candidate` may replace `incumbent` for a task type."""
    width = half_width(candidate.outcomes, alpha / 2) + half_width(incumbent.outcomes, alpha / 2)
    difference = candidate.acceptance - incumbent.acceptance
    lower, upper = difference - width, difference + width
    costs = {p.path: cost_interval(p, alpha) for p in (candidate, incumbent)}
    cheaper = _cheaper(candidate, incumbent)
    if upper < -margin:
        reason = f"{candidate.path} accepts less: the difference is below -{margin} at every count"
        return GateVerdict("keep", reason, difference, lower, upper, None, costs)
    if lower > -margin and not cheaper:
        reason = f"{candidate.path} is no worse but not cheaper per accepted output"
        return GateVerdict("keep", reason, difference, lower, upper, None, costs)
    if lower > -margin:
        reason = (
            f"{candidate.path} is non-inferior (margin {margin}) and cheaper per accepted output"
        )
        return GateVerdict("promote", reason, difference, lower, upper, None, costs)
    needed = _more_needed(candidate, incumbent, difference, margin, alpha)
    reason = f"the difference {difference:+.3f} is within [{lower:+.3f}, {upper:+.3f}]"
    return GateVerdict("not enough evidence", reason, difference, lower, upper, needed, costs)


def _cheaper(candidate: PathOutcomes, incumbent: PathOutcomes) -> bool:
    mine, theirs = candidate.cost_per_accepted(), incumbent.cost_per_accepted()
    return mine is not None and (theirs is None or mine <= theirs)


def _more_needed(
    candidate: PathOutcomes,
    incumbent: PathOutcomes,
    difference: float,
    margin: float,
    alpha: float,
) -> int | None:
    """About how many more outcomes on each path would settle it if the rates held: the
    smallest equal count at which the band no longer straddles -margin."""
    distance = abs(difference + margin)
    if distance < 1e-9:
        return None  # sitting on the margin: no count settles it
    start = min(candidate.outcomes, incumbent.outcomes)
    count = max(1, start)
    while 2 * half_width(count, alpha / 2) >= distance:
        count *= 2
        if count > 10_000_000:
            return None
    low, high = max(start, count // 2), count
    while low < high:
        middle = (low + high) // 2
        if 2 * half_width(middle, alpha / 2) < distance:
            high = middle
        else:
            low = middle + 1
    return max(0, low - start)
