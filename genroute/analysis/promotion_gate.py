"""A promotion gate that peeking cannot fool: whether a candidate path may take a task type
from the incumbent, from their outcomes so far, at any time and as often as anyone asks.

Every bound here is an anytime-valid confidence sequence (Robbins' normal mixture for bounded
outcomes, Howard et al. 2021): it holds at every sample size at once, so a verdict stays valid
however often it is looked at, provided the outcomes are counted from a fixed start (a window
that slides with the clock changes the sample under the bound, and the guarantee with it).

Two kinds of evidence, the better first:
- **Shadow pairs**: the same input answered by both paths (a production request and its shadow
  copy). The difference in acceptance is bounded per pair ([-1, 1]), so one sequence covers it
  at level alpha, and nothing about which requests each path got can confound it.
- **First attempts**: each path's first attempts, from differently routed requests (a rule
  sends each path its own kind of input), so a difference may be the inputs', not the paths'.
  Each path's rate gets a sequence at alpha/2; the verdict says the evidence is unpaired.

Acceptance: promoted once the lower bound of (candidate - incumbent) is above -margin
(non-inferior), kept once the upper bound is below -margin. Cost per accepted output enters
through its own intervals when the cost of one attempt has a known bound (`max_attempt_cost`:
an attempt cannot hold the engine past the hard time limit): the mean cost per attempt and the
acceptance each get a sequence, so "cheaper" means the candidate's upper cost bound is below the
incumbent's lower one. Half of alpha goes to acceptance and half to cost, so a false promotion
(on either count) has probability at most alpha. Without a bound, cost is not tested, and the
verdict says so rather than comparing point estimates.

Pure: outcomes in, a verdict out.
"""

import math
from dataclasses import dataclass

# Outcomes in [0, 1] are 1/2-sub-Gaussian.
_VARIANCE = 0.25
# The mixture is tightest near this many outcomes; valid at every count.
_TUNED_FOR = 200

SHADOW_PAIRS = "shadow pairs"
FIRST_ATTEMPTS = "first attempts"


@dataclass(frozen=True)
class PathTally:
    """One path's tally of the task type's outcomes (from shadow pairs or first attempts):
    how many, how many accepted, what they cost."""

    path: str
    outcomes: int
    accepted: int
    cost: float

    @property
    def acceptance(self) -> float:
        return self.accepted / self.outcomes if self.outcomes else 0.0

    def cost_per_accepted(self) -> float | None:
        return self.cost / self.accepted if self.accepted else None


@dataclass(frozen=True)
class Evidence:
    """The two paths' outcomes, either paired (the same inputs, `paired`: each path's outcomes
    are its side of the same pairs) or unpaired first attempts."""

    candidate: PathTally
    incumbent: PathTally
    paired: bool = False

    @property
    def kind(self) -> str:
        return SHADOW_PAIRS if self.paired else FIRST_ATTEMPTS


def half_width(outcomes: int, alpha: float) -> float:
    """The confidence sequence's half-width for a mean of `outcomes` outcomes in [0, 1]."""
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
    evidence: str
    difference: float
    lower: float
    upper: float
    more_outcomes_needed: int | None
    cost_tested: bool
    cost_per_accepted: dict[str, tuple[float, float] | None]


def cost_interval(
    path: PathTally, alpha: float, max_attempt_cost: float
) -> tuple[float, float] | None:
    """Cost per accepted output, valid at any peek with 1 - alpha: the mean cost of an
    attempt (in [0, max_attempt_cost]) and the acceptance rate each within their sequences at
    alpha/2, the cost's bounds over the rate's."""
    if path.outcomes == 0 or path.accepted == 0:
        return None
    width = half_width(path.outcomes, alpha / 2)
    mean_cost = path.cost / path.outcomes
    cost_low = max(0.0, mean_cost - width * max_attempt_cost)
    cost_high = mean_cost + width * max_attempt_cost
    rate_high, rate_low = min(1.0, path.acceptance + width), path.acceptance - width
    return cost_low / rate_high, (cost_high / rate_low if rate_low > 0 else math.inf)


def acceptance_bounds(evidence: Evidence, alpha: float) -> tuple[float, float, float]:
    """The difference in acceptance (candidate - incumbent) and its bounds at level alpha."""
    candidate, incumbent = evidence.candidate, evidence.incumbent
    difference = candidate.acceptance - incumbent.acceptance
    if evidence.paired:  # one sequence on the mean of per-pair differences in [-1, 1]
        width = 2 * half_width(candidate.outcomes, alpha)
    else:
        width = half_width(candidate.outcomes, alpha / 2) + half_width(
            incumbent.outcomes, alpha / 2
        )
    return difference, difference - width, difference + width


def gate_verdict(
    evidence: Evidence,
    margin: float,
    alpha: float = 0.05,
    max_attempt_cost: float | None = None,
) -> GateVerdict:
    """Whether `evidence.candidate` may replace `evidence.incumbent` for a task type."""
    cost_tested = max_attempt_cost is not None
    acceptance_alpha = alpha / 2 if cost_tested else alpha
    difference, lower, upper = acceptance_bounds(evidence, acceptance_alpha)
    candidate, incumbent = evidence.candidate, evidence.incumbent
    costs: dict[str, tuple[float, float] | None] = {candidate.path: None, incumbent.path: None}
    if max_attempt_cost is not None:  # alpha/2 for cost, alpha/4 a path
        costs = {
            p.path: cost_interval(p, alpha / 4, max_attempt_cost) for p in (candidate, incumbent)
        }
    mine, theirs = costs[candidate.path], costs[incumbent.path]
    cheaper = mine is not None and theirs is not None and mine[1] < theirs[0]
    dearer = mine is not None and theirs is not None and mine[0] > theirs[1]

    def verdict(decision: str, reason: str, needed: int | None = None) -> GateVerdict:
        return GateVerdict(
            decision, reason, evidence.kind, difference, lower, upper, needed, cost_tested, costs
        )

    if upper < -margin:
        return verdict("keep", f"{candidate.path} accepts less: below -{margin} at every count")
    if dearer:
        return verdict("keep", f"{candidate.path} costs more per accepted output at every count")
    if lower > -margin and not cost_tested:
        return verdict(
            "promote",
            f"{candidate.path} is non-inferior (margin {margin}); cost was not tested (no bound "
            "on an attempt's cost), so this says nothing about which is cheaper",
        )
    if lower > -margin and cheaper:
        return verdict(
            "promote",
            f"{candidate.path} is non-inferior (margin {margin}) and cheaper per accepted output "
            "at every count",
        )
    needed = _more_needed(evidence, difference, margin, acceptance_alpha)
    if lower > -margin:
        return verdict(
            "not enough evidence",
            f"{candidate.path} is non-inferior, but the cost intervals still overlap",
            None,
        )
    reason = f"the difference {difference:+.3f} is within [{lower:+.3f}, {upper:+.3f}]"
    return verdict("not enough evidence", reason, needed)


def _more_needed(evidence: Evidence, difference: float, margin: float, alpha: float) -> int | None:
    """About how many more outcomes on each path (or pairs) would settle acceptance if the
    rates held: the smallest equal count at which the band no longer straddles -margin."""
    distance = abs(difference + margin)
    if distance < 1e-9:
        return None  # sitting on the margin: no count settles it

    def band(count: int) -> float:
        if evidence.paired:
            return 2 * half_width(count, alpha)
        return 2 * half_width(count, alpha / 2)

    start = min(evidence.candidate.outcomes, evidence.incumbent.outcomes)
    count = max(1, start)
    while band(count) >= distance:
        count *= 2
        if count > 10_000_000:
            return None
    low, high = max(start, count // 2), count
    while low < high:
        middle = (low + high) // 2
        if band(middle) < distance:
            high = middle
        else:
            low = middle + 1
    return max(0, low - start)
