"""What an accepted output is expected to cost on each path, knowing how each decode style
spends (a pure model; the measured figures are gathered outside policies/ and passed in).

DiffusionGemma pays whole canvases: an answer of 40 tokens costs a canvas, one of 300 tokens
two (canvas 256). An autoregressive model pays per token. Both are batch-shared GPU time, as
the workers record it (`cost` per attempt: its share of the batch's GPU seconds at the path's
rate). The expected cost of one attempt is the measured cost per unit (canvas or token) times
the units the expected answer needs; over the path's measured acceptance rate, that is the
expected cost per accepted output. A rule with `prefer: cheapest_accepted` sends the request
to the allowed path where that is lowest.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from genroute.contract import PathName, RouteDecision

DecodeStyle = Literal["canvas", "token"]


@dataclass(frozen=True)
class PathCost:
    """One path's measured figures for a task type (None where nothing was measured)."""

    path: PathName
    decode: DecodeStyle
    cost_per_unit: float | None  # per canvas, or per output token
    canvas_length: int
    mean_tokens_out: float | None
    acceptance: float | None

    def units(self, tokens: float) -> float:
        """Canvases (whole ones) or tokens an answer of `tokens` tokens pays for."""
        if self.decode == "canvas":
            return max(1, math.ceil(tokens / self.canvas_length))
        return tokens

    def expected_tokens(self, bound: int) -> float:
        """The type's measured answer length on this path, within the request's bound."""
        return min(float(bound), self.mean_tokens_out) if self.mean_tokens_out else float(bound)

    def per_attempt(self, bound: int) -> float | None:
        if self.cost_per_unit is None:
            return None
        return self.cost_per_unit * self.units(self.expected_tokens(bound))

    def per_accepted(self, bound: int) -> float | None:
        attempt = self.per_attempt(bound)
        if attempt is None or not self.acceptance:
            return None
        return attempt / self.acceptance

    def describe(self, bound: int) -> str:
        accepted = self.per_accepted(bound)
        if accepted is None:
            return f"{self.path.value}: cost or acceptance not measured"
        unit = "canvas" if self.decode == "canvas" else "token"
        return (
            f"{self.path.value} {accepted:.3g} per accepted output ({self.cost_per_unit:.3g} a "
            f"{unit} x {self.units(self.expected_tokens(bound)):g}, {self.acceptance:.0%} accepted)"
        )


def cheapest_accepted(
    decision: RouteDecision, costs: Mapping[PathName, PathCost], allowed: Sequence[PathName]
) -> RouteDecision:
    """The decision moved to the allowed path with the lowest expected cost per accepted
    output; unchanged while the rules' path or every other is unmeasured."""
    bound = decision.max_output_tokens
    priced = {
        path: cost.per_accepted(bound)
        for path, cost in costs.items()
        if path in allowed and cost.per_accepted(bound) is not None
    }
    if decision.path not in priced or len(priced) < 2:
        return decision
    best = min(priced, key=lambda path: priced[path] or 0.0)
    summary = "; ".join(costs[path].describe(bound) for path in sorted(priced))
    if best == decision.path:
        return decision.model_copy(
            update={"reason": f"{decision.reason}; cheapest accepted: {summary}"}
        )
    reason = (
        f"cheapest expected accepted output on {best.value} ({summary}); "
        f"the rule chose {decision.path.value}: {decision.reason}"
    )
    return decision.model_copy(update={"path": best, "reason": reason})
