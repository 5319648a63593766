"""The promotion gate: verdicts on clear cases, and its false-promotion rate under continuous
peeking on simulated outcomes, beside a fixed-sample interval's under the same peeking (which
peeking does fool: the check would catch a gate that is no better)."""

import math
import random

from genroute.analysis.promotion_gate import PathOutcomes, half_width, judge

ALPHA, MARGIN = 0.05, 0.05


def _outcomes(path: str, count: int, rate: float, cost_each: float) -> PathOutcomes:
    return PathOutcomes(path, count, round(count * rate), cost_each * count)


def test_a_cheaper_path_that_accepts_as_often_is_promoted() -> None:
    verdict = judge(
        _outcomes("diffusion", 20_000, 0.80, 0.5),
        _outcomes("autoregressive", 20_000, 0.80, 1.0),
        MARGIN,
    )
    assert verdict.decision == "promote" and verdict.lower > -MARGIN
    low, high = verdict.cost_per_accepted["diffusion"]
    assert low < 0.5 / 0.8 < high


def test_a_path_that_accepts_much_less_is_kept_and_one_not_cheaper_too() -> None:
    worse = judge(_outcomes("d", 2_000, 0.50, 0.5), _outcomes("a", 2_000, 0.80, 1.0), MARGIN)
    assert worse.decision == "keep" and worse.upper < -MARGIN
    dearer = judge(_outcomes("d", 20_000, 0.80, 2.0), _outcomes("a", 20_000, 0.80, 1.0), MARGIN)
    assert dearer.decision == "keep" and "not cheaper" in dearer.reason


def test_too_few_outcomes_say_how_many_more() -> None:
    verdict = judge(_outcomes("d", 50, 0.80, 0.5), _outcomes("a", 50, 0.80, 1.0), MARGIN)
    assert verdict.decision == "not enough evidence"
    more = verdict.more_outcomes_needed
    assert more is not None and more > 0
    assert 2 * half_width(50 + more, ALPHA / 2) < MARGIN <= 2 * half_width(50 + more - 1, ALPHA / 2)


def _naive_promotes(candidate: PathOutcomes, incumbent: PathOutcomes) -> bool:
    """A fixed-sample 95% normal interval, wrongly re-checked at every look."""
    p, q = candidate.acceptance, incumbent.acceptance
    spread = math.sqrt(p * (1 - p) / candidate.outcomes + q * (1 - q) / incumbent.outcomes)
    return (p - q) - 1.96 * spread > -MARGIN and candidate.cost < incumbent.cost


def _false_promotion_rates(runs: int, looks: int, every: int) -> tuple[float, float]:
    """Both rates when the candidate is exactly `MARGIN` worse (the edge of the null) and
    cheaper, looked at every `every` outcomes until `looks` looks."""
    rng = random.Random(20261201)
    gate = naive = 0
    for _ in range(runs):
        accepted_c = accepted_i = 0
        gate_fooled = naive_fooled = False
        for look in range(1, looks + 1):
            for _ in range(every):
                accepted_c += rng.random() < 0.80 - MARGIN
                accepted_i += rng.random() < 0.80
            count = look * every
            candidate = PathOutcomes("d", count, accepted_c, 0.5 * count)
            incumbent = PathOutcomes("a", count, accepted_i, 1.0 * count)
            gate_fooled |= judge(candidate, incumbent, MARGIN, ALPHA).decision == "promote"
            naive_fooled |= _naive_promotes(candidate, incumbent)
        gate += gate_fooled
        naive += naive_fooled
    return gate / runs, naive / runs


def test_peeking_after_every_ten_outcomes_does_not_inflate_false_promotions() -> None:
    gate, naive = _false_promotion_rates(runs=200, looks=150, every=10)
    assert gate <= ALPHA, gate
    assert naive > 2 * ALPHA, naive  # the same peeking fools a fixed-sample interval
