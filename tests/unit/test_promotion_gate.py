"""The promotion gate: verdicts on clear cases, cost tested through its own intervals (or said
to be untested), shadow pairs preferred to unpaired first attempts, and its false-promotion
rate under continuous peeking on simulated outcomes, beside a fixed-sample interval's under
the same peeking (which peeking does fool: the check would catch a gate that is no better)."""

import math
import random

from genroute.analysis.promotion_gate import (
    FIRST_ATTEMPTS,
    SHADOW_PAIRS,
    Evidence,
    PathTally,
    gate_verdict,
    half_width,
)

ALPHA, MARGIN = 0.05, 0.05
# The most an attempt may cost in these cases (costs per attempt are 0.5 to 2.0).
BOUND = 2.0


def _outcomes(path: str, count: int, rate: float, cost_each: float) -> PathTally:
    return PathTally(path, count, round(count * rate), cost_each * count)


def _unpaired(candidate: PathTally, incumbent: PathTally) -> Evidence:
    return Evidence(candidate, incumbent)


def test_a_cheaper_path_that_accepts_as_often_is_promoted() -> None:
    evidence = _unpaired(
        _outcomes("diffusion", 20_000, 0.80, 0.5), _outcomes("autoregressive", 20_000, 0.80, 1.0)
    )
    verdict = gate_verdict(evidence, MARGIN, max_attempt_cost=BOUND)
    assert verdict.decision == "promote" and verdict.lower > -MARGIN and verdict.cost_tested
    low, high = verdict.cost_per_accepted["diffusion"]
    assert low < 0.5 / 0.8 < high < verdict.cost_per_accepted["autoregressive"][0]
    assert verdict.evidence == FIRST_ATTEMPTS


def test_without_a_cost_bound_cost_is_not_tested_and_the_verdict_says_so() -> None:
    dearer = _unpaired(_outcomes("d", 20_000, 0.80, 2.0), _outcomes("a", 20_000, 0.80, 1.0))
    verdict = gate_verdict(dearer, MARGIN)
    assert verdict.decision == "promote" and not verdict.cost_tested
    assert "cost was not tested" in verdict.reason
    assert verdict.cost_per_accepted == {"d": None, "a": None}


def test_cheaper_on_point_estimates_alone_is_not_cheaper() -> None:
    """A few outcomes 10% cheaper: the cost intervals overlap, so nothing is promoted yet."""
    close = _unpaired(_outcomes("d", 400, 0.80, 0.9), _outcomes("a", 400, 0.80, 1.0))
    verdict = gate_verdict(close, 0.5, max_attempt_cost=BOUND)
    assert verdict.lower > -0.5
    assert verdict.decision == "not enough evidence" and "cost intervals" in verdict.reason


def test_a_path_that_accepts_much_less_is_kept_and_one_dearer_at_every_count_too() -> None:
    worse = gate_verdict(
        _unpaired(_outcomes("d", 2_000, 0.50, 0.5), _outcomes("a", 2_000, 0.80, 1.0)), MARGIN
    )
    assert worse.decision == "keep" and worse.upper < -MARGIN
    dearer = gate_verdict(
        _unpaired(_outcomes("d", 20_000, 0.80, 2.0), _outcomes("a", 20_000, 0.80, 0.5)),
        MARGIN,
        max_attempt_cost=BOUND,
    )
    assert dearer.decision == "keep" and "costs more" in dearer.reason


def test_too_few_outcomes_say_how_many_more() -> None:
    few = _unpaired(_outcomes("d", 50, 0.80, 0.5), _outcomes("a", 50, 0.80, 1.0))
    verdict = gate_verdict(few, MARGIN)
    assert verdict.decision == "not enough evidence"
    more = verdict.more_outcomes_needed
    assert more is not None and more > 0
    assert 2 * half_width(50 + more, ALPHA / 2) < MARGIN <= 2 * half_width(50 + more - 1, ALPHA / 2)


def test_shadow_pairs_settle_sooner_and_say_they_were_used() -> None:
    """Pairs bound the per-pair difference with one sequence at alpha; unpaired outcomes need
    one per path at alpha/2, so the same counts leave a wider band."""
    candidate, incumbent = _outcomes("d", 3_000, 0.80, 0.5), _outcomes("a", 3_000, 0.80, 1.0)
    paired = gate_verdict(Evidence(candidate, incumbent, paired=True), MARGIN)
    unpaired = gate_verdict(_unpaired(candidate, incumbent), MARGIN)
    assert paired.evidence == SHADOW_PAIRS and unpaired.evidence == FIRST_ATTEMPTS
    assert paired.upper - paired.lower < unpaired.upper - unpaired.lower


def _naive_promotes(candidate: PathTally, incumbent: PathTally) -> bool:
    """A fixed-sample 95% normal interval, wrongly re-checked at every look."""
    p, q = candidate.acceptance, incumbent.acceptance
    spread = math.sqrt(p * (1 - p) / candidate.outcomes + q * (1 - q) / incumbent.outcomes)
    return (p - q) - 1.96 * spread > -MARGIN and candidate.cost < incumbent.cost


def _false_promotion_rates(
    runs: int, looks: int, every: int, paired: bool = False
) -> tuple[float, float]:
    """Both rates when the candidate is exactly `MARGIN` worse (the edge of the null) and
    cheaper, looked at every `every` outcomes until `looks` looks. Paired outcomes share a
    draw (the same input is easy or hard for both paths)."""
    rng = random.Random(20261201)
    gate = naive = 0
    for _ in range(runs):
        accepted_c = accepted_i = 0
        gate_fooled = naive_fooled = False
        for look in range(1, looks + 1):
            for _ in range(every):
                draw = rng.random()
                accepted_c += (draw if paired else rng.random()) < 0.80 - MARGIN
                accepted_i += draw < 0.80
            count = look * every
            candidate = PathTally("d", count, accepted_c, 0.5 * count)
            incumbent = PathTally("a", count, accepted_i, 1.0 * count)
            evidence = Evidence(candidate, incumbent, paired=paired)
            verdict = gate_verdict(evidence, MARGIN, ALPHA, max_attempt_cost=BOUND)
            gate_fooled |= verdict.decision == "promote"
            naive_fooled |= _naive_promotes(candidate, incumbent)
        gate += gate_fooled
        naive += naive_fooled
    return gate / runs, naive / runs


def test_peeking_after_every_ten_outcomes_does_not_inflate_false_promotions() -> None:
    gate, naive = _false_promotion_rates(runs=200, looks=150, every=10)
    assert gate <= ALPHA, gate
    assert naive > 2 * ALPHA, naive  # the same peeking fools a fixed-sample interval


def test_peeking_at_shadow_pairs_does_not_inflate_false_promotions_either() -> None:
    gate, _naive = _false_promotion_rates(runs=200, looks=150, every=10, paired=True)
    assert gate <= ALPHA, gate
