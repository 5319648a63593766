"""Adaptive share: a rule may split its task types between its path and the other path, and a
controller moves the split from measured outcomes. Pure: the evidence, the current share and
the random draws come in; a new share, why, and the figures that moved it come out.

The controller is Thompson sampling, applied to the whole share rather than to each request:
from each path's posterior (acceptance ~ Beta(1 + accepted, 1 + refused); mean cost per
attempt ~ Normal(measured mean, its standard error)) it draws the objective many times, and the
share of the rule's path becomes the probability that the path is the better one (probability
matching). A path that is clearly better takes the `max` share, an uncertain comparison stays
near even, and the loser keeps `min` so its evidence stays fresh. Moving the share in steps of
at most `max_step` per update (rather than sampling a path per request, which lets one burst of
outcomes swing traffic) keeps every process's split identical and auditable: each change is one
event with its evidence.

Guardrails, in order: a path that is rolled back is never given more share (its share goes to
its bound and requests that land on it while it cools down go to the other path); a path whose
measured p95 latency exceeds `max_p95_ms` is treated the same way; with too few outcomes on
either path the share holds. The split never crosses a privacy tier: a request whose tier does
not admit the other path stays on the rule's path.
"""

import hashlib
import json
import math
import random
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genroute.contract import PathName, RouteDecision

Objective = Literal["cost_per_accepted_output", "acceptance_rate"]
# Posterior draws per step: the probability is then known to about ±0.01.
DRAWS = 2000
# A move smaller than this is not a change (no event, no new split).
SHARE_RESOLUTION = 0.005


class AdaptiveShare(BaseModel):
    """A rule's `share:` block: the fraction of its requests on the rule's path, between
    `min` and `max`; the rest go to the other path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adaptive: Literal[True]
    min: float = Field(default=0.05, ge=0, le=1)
    max: float = Field(default=0.95, ge=0, le=1)
    initial: float | None = Field(default=None, ge=0, le=1)
    objective: Objective = "cost_per_accepted_output"
    max_p95_ms: float | None = Field(default=None, gt=0)
    min_outcomes: int = Field(default=20, ge=1)
    max_step: float = Field(default=0.2, gt=0, le=1)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> "AdaptiveShare":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        if self.initial is not None and not self.min <= self.initial <= self.max:
            raise ValueError(f"initial ({self.initial}) must lie within [min, max]")
        return self

    @property
    def start(self) -> float:
        """The share before any evidence: `initial`, else an even split within the bounds."""
        return self.initial if self.initial is not None else self.clamp(0.5)

    def clamp(self, share: float) -> float:
        return min(self.max, max(self.min, share))


def other_path(path: PathName) -> PathName:
    return next(other for other in PathName if other is not path)


@dataclass(frozen=True)
class PathEvidence:
    """One path's first attempts at a task type over the controller's window."""

    outcomes: int = 0
    accepted: int = 0
    mean_cost: float | None = None
    cost_sd: float | None = None
    p95_ms: float | None = None

    def acceptance_draw(self, rng: random.Random) -> float:
        return rng.betavariate(1 + self.accepted, 1 + max(0, self.outcomes - self.accepted))

    def cost_draw(self, rng: random.Random) -> float:
        mean = self.mean_cost or 0.0
        spread = (self.cost_sd or 0.0) / math.sqrt(max(1, self.outcomes))
        return max(mean * 1e-3, rng.gauss(mean, spread), 1e-12)


@dataclass(frozen=True)
class ShareStep:
    """The controller's answer: the new share of the rule's path and why."""

    share: float
    reason: str
    probability_better: float | None
    evidence: dict[str, object]

    def moved_from(self, share: float) -> bool:
        return abs(self.share - share) >= SHARE_RESOLUTION


def next_share(
    spec: AdaptiveShare,
    path: PathName,
    current: float,
    evidence: Mapping[PathName, PathEvidence],
    blocked: Mapping[PathName, str],
) -> ShareStep:
    """The next share of `path` (the rule's path) against the other path. `blocked` names the
    paths that may not gain share, with why (rolled back). The draws are seeded from the
    evidence, so one step can be re-run from its event."""
    other = other_path(path)
    mine, theirs = evidence.get(path, PathEvidence()), evidence.get(other, PathEvidence())
    figures = {
        "current": current,
        "paths": {path.value: asdict(mine), other.value: asdict(theirs)},
        "blocked": {p.value: why for p, why in blocked.items()},
    }
    held = spec.clamp(current)
    if path in blocked and other in blocked:
        return ShareStep(held, "both paths are blocked; the share holds", None, figures)
    for loser in (path, other):
        if loser in blocked:
            target = spec.min if loser is path else spec.max
            return _stepped(spec, current, target, f"{loser.value} {blocked[loser]}", None, figures)
    short = [
        f"{route.value} {found.outcomes}/{spec.min_outcomes}"
        for route, found in ((path, mine), (other, theirs))
        if found.outcomes < spec.min_outcomes
    ]
    if short:
        return ShareStep(held, f"waiting for outcomes ({', '.join(short)})", None, figures)
    slow = _over_latency(spec, {path: mine, other: theirs})
    if len(slow) == 1:
        loser, p95 = slow[0]
        target = spec.min if loser is path else spec.max
        why = f"{loser.value} p95 {p95:.0f} ms exceeds {spec.max_p95_ms:g} ms"
        return _stepped(spec, current, target, why, None, figures)
    if spec.objective == "cost_per_accepted_output" and None in (mine.mean_cost, theirs.mean_cost):
        return ShareStep(held, "cost not measured on both paths; the share holds", None, figures)
    better = _probability_better(spec.objective, mine, theirs, _seed(figures))
    figures["probability_better"] = better
    why = f"P({path.value} has the better {spec.objective}) = {better:.3f}"
    return _stepped(spec, current, spec.clamp(better), why, better, figures)


def settled_share(
    spec: AdaptiveShare,
    path: PathName,
    evidence: Mapping[PathName, PathEvidence],
    blocked: Mapping[PathName, str],
    max_steps: int = 100,
) -> ShareStep:
    """Where the controller's steps from the starting share come to rest on `evidence` held
    fixed (what `genroute replay` splits a candidate policy's requests by)."""
    step = next_share(spec, path, spec.start, evidence, blocked)
    for _ in range(max_steps):
        following = next_share(spec, path, step.share, evidence, blocked)
        if not following.moved_from(step.share):
            break
        step = following
    return step


def _over_latency(
    spec: AdaptiveShare, evidence: Mapping[PathName, PathEvidence]
) -> list[tuple[PathName, float]]:
    """The paths whose measured p95 latency exceeds the rule's `max_p95_ms`, with it."""
    limit = spec.max_p95_ms
    if limit is None:
        return []
    return [(p, e.p95_ms) for p, e in evidence.items() if e.p95_ms is not None and e.p95_ms > limit]


def _stepped(
    spec: AdaptiveShare,
    current: float,
    target: float,
    why: str,
    better: float | None,
    figures: dict[str, object],
) -> ShareStep:
    """A move towards `target` of at most `max_step`, always within the bounds."""
    start = spec.clamp(current)
    step = max(-spec.max_step, min(spec.max_step, target - start))
    share = spec.clamp(start + step)
    return ShareStep(share, f"{why}; target {target:.3f}", better, figures)


def _probability_better(
    objective: Objective, mine: PathEvidence, theirs: PathEvidence, seed: int
) -> float:
    rng = random.Random(seed)
    wins = 0
    for _ in range(DRAWS):
        if objective == "acceptance_rate":
            wins += mine.acceptance_draw(rng) > theirs.acceptance_draw(rng)
        else:  # cost per accepted output: lower wins
            mine_cost = mine.cost_draw(rng) / mine.acceptance_draw(rng)
            wins += mine_cost < theirs.cost_draw(rng) / theirs.acceptance_draw(rng)
    return wins / DRAWS


def _seed(figures: Mapping[str, object]) -> int:
    text = json.dumps(figures, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def split(
    decision: RouteDecision,
    share: float,
    draw: float,
    allowed: Collection[PathName],
    cooling_down: Collection[PathName],
) -> RouteDecision:
    """The decision sent to the rule's path when `draw` (uniform in [0, 1)) falls within
    `share`, else to the other path; never to a path the request may not use (privacy tier,
    tool calls), never to one that is cooling down after a rollback while the other is not."""
    path, other = decision.path, other_path(decision.path)
    if other not in allowed:
        note = f"adaptive share: {other.value} is not allowed for this request"
        return decision.model_copy(update={"reason": f"{decision.reason}; {note}"})
    chosen = path if draw < share else other
    note = f"adaptive share {share:.3f} to {path.value}: drew {chosen.value}"
    alternative = other if chosen is path else path
    if chosen in cooling_down and alternative not in cooling_down:
        note += f", which is rolled back, so {alternative.value}"
        chosen = alternative
    return decision.model_copy(update={"path": chosen, "reason": f"{decision.reason}; {note}"})
