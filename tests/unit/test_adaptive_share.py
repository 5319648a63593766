"""The adaptive-share controller and split: they move towards the better path, never leave
their bounds under adversarial outcome sequences, never give share to a rolled-back path, and
the split never crosses a privacy tier or lands on a path cooling down after a rollback."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from genroute.contract import PathName, PrivacyTier, RouteDecision, TaskRequest
from genroute.errors import PolicyError
from genroute.policies import load_catalog, load_policy
from genroute.policies.adaptive_share import (
    AdaptiveShare,
    PathEvidence,
    next_share,
    split,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "policies" / "task_types.yaml")
SPEC = AdaptiveShare(adaptive=True, min=0.1, max=0.9, min_outcomes=10, max_step=0.2)
D, A = PathName.diffusion, PathName.autoregressive


def evidence(outcomes: int, accepted: int, cost: float, p95_ms: float = 1000.0) -> PathEvidence:
    return PathEvidence(outcomes, accepted, cost, cost / 10, p95_ms)


def settle(spec: AdaptiveShare, figures: dict[PathName, PathEvidence], steps: int = 20) -> float:
    share = spec.start
    for _ in range(steps):
        share = next_share(spec, D, share, figures, {}).share
    return share


def test_the_cheaper_accepted_path_takes_the_max_share() -> None:
    # Diffusion: 80% accepted at 1.0 a try; autoregressive: 90% at 4.0 a try.
    cheap = {D: evidence(200, 160, 1.0), A: evidence(200, 180, 4.0)}
    assert settle(SPEC, cheap) == pytest.approx(0.9)
    dear = {D: evidence(200, 160, 4.0), A: evidence(200, 180, 1.0)}
    assert settle(SPEC, dear) == pytest.approx(0.1)


def test_acceptance_objective_and_an_even_comparison() -> None:
    spec = SPEC.model_copy(update={"objective": "acceptance_rate"})
    better = {D: evidence(200, 190, 9.0), A: evidence(200, 100, 1.0)}
    assert settle(spec, better) == pytest.approx(0.9)
    even = {D: evidence(40, 30, 1.0), A: evidence(40, 30, 1.0)}
    step = next_share(spec, D, 0.5, even, {})
    assert 0.3 < step.share < 0.7 and 0.3 < (step.probability_better or 0) < 0.7


def test_each_move_is_bounded_and_explained() -> None:
    step = next_share(SPEC, D, 0.5, {D: evidence(200, 190, 1.0), A: evidence(200, 50, 5.0)}, {})
    assert step.share == pytest.approx(0.7)  # target 0.9, at most 0.2 a step
    assert "P(diffusion has the better cost_per_accepted_output)" in step.reason
    assert step.evidence["paths"]["diffusion"]["accepted"] == 190
    assert step.evidence["probability_better"] > 0.99


def test_too_few_outcomes_hold_the_share() -> None:
    step = next_share(SPEC, D, 0.4, {D: evidence(9, 9, 1.0), A: evidence(50, 1, 5.0)}, {})
    assert step.share == 0.4 and not step.moved_from(0.4)
    assert "waiting for outcomes (diffusion 9/10)" in step.reason


def test_a_rolled_back_path_only_loses_share() -> None:
    figures = {D: evidence(200, 200, 0.1), A: evidence(200, 20, 9.0)}  # diffusion looks best
    step = next_share(SPEC, D, 0.6, figures, {D: "is rolled_back after a rollback"})
    assert step.share == pytest.approx(0.4) and "diffusion is rolled_back" in step.reason
    step = next_share(SPEC, D, 0.6, figures, {A: "is probing after a rollback"})
    assert step.share == pytest.approx(0.8)
    both = next_share(SPEC, D, 0.6, figures, {D: "x", A: "y"})
    assert both.share == 0.6 and "both paths are blocked" in both.reason


def test_a_path_over_the_latency_guardrail_loses_share() -> None:
    spec = SPEC.model_copy(update={"max_p95_ms": 5000})
    figures = {D: evidence(200, 200, 0.1, p95_ms=9000), A: evidence(200, 100, 1.0, p95_ms=800)}
    step = next_share(spec, D, 0.5, figures, {})
    assert step.share == pytest.approx(0.3)
    assert "diffusion p95 9000 ms exceeds 5000 ms" in step.reason


def test_steps_are_reproducible_from_their_evidence() -> None:
    figures = {D: evidence(30, 20, 1.0), A: evidence(30, 22, 1.1)}
    first, second = (next_share(SPEC, D, 0.5, figures, {}) for _ in range(2))
    assert first == second


paths_evidence = st.builds(
    PathEvidence,
    outcomes=st.integers(0, 10_000),
    accepted=st.integers(0, 10_000),
    mean_cost=st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
    cost_sd=st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
    p95_ms=st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
)
specs = st.builds(
    lambda low, width, step, p95: AdaptiveShare(
        adaptive=True, min=low, max=min(1.0, low + width), max_step=step, max_p95_ms=p95,
        min_outcomes=5,
    ),
    st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 1), st.one_of(st.none(), st.floats(1, 1e6)),
)  # fmt: skip
blocks = st.sampled_from([{}, {D: "is rolled_back"}, {A: "is rolled_back"}, {D: "x", A: "y"}])


@settings(max_examples=60, deadline=None)
@given(
    specs, st.floats(0, 1), st.lists(st.tuples(paths_evidence, paths_evidence, blocks), max_size=12)
)
def test_adversarial_outcomes_never_leave_the_bounds(spec, start, sequence) -> None:  # fmt: skip
    share = start
    for mine, theirs, blocked in sequence:
        step = next_share(spec, D, share, {D: mine, A: theirs}, blocked)
        assert spec.min <= step.share <= spec.max
        assert abs(step.share - spec.clamp(share)) <= spec.max_step + 1e-9
        if D in blocked and A not in blocked:  # never more share onto the rolled-back path
            assert step.share <= spec.clamp(share)
        if A in blocked and D not in blocked:
            assert step.share >= spec.clamp(share)
        share = step.share


def decision(path: PathName = D) -> RouteDecision:
    return RouteDecision(
        path=path, rule="r", policy_version="v", fallback_path=A, reason="rule", max_output_tokens=8
    )


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 1),
    st.floats(0, 1, exclude_max=True),
    st.sets(st.sampled_from(list(PathName))),
    st.sets(st.sampled_from(list(PathName))),
)
def test_the_split_never_crosses_a_tier_or_lands_on_a_cooling_path(
    share, draw, forbidden, cooling
) -> None:
    allowed = [path for path in PathName if path not in forbidden or path is D]
    chosen = split(decision(), share, draw, allowed, cooling).path
    assert chosen in allowed
    if chosen in cooling:  # only when both are cooling down, or the other is not allowed
        assert set(cooling) >= set(allowed) or A not in allowed


def test_the_split_follows_the_share_and_says_so() -> None:
    assert split(decision(), 0.3, 0.29, list(PathName), set()).path is D
    moved = split(decision(), 0.3, 0.31, list(PathName), set())
    assert moved.path is A and "adaptive share 0.300 to diffusion: drew autoregressive" in (
        moved.reason
    )
    away = split(decision(), 0.9, 0.1, list(PathName), {D})
    assert away.path is A and "rolled back" in away.reason
    kept = split(decision(), 0.1, 0.5, [D], set())
    assert kept.path is D and "autoregressive is not allowed" in kept.reason


def policy_with(tmp_path: Path, share: dict) -> Path:
    document = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    for rule in document["rules"]:
        if rule["name"] == "bounded-batch-diffusion":
            rule["share"] = share
    target = tmp_path / "policy.yaml"
    target.write_text(yaml.safe_dump(document))
    return target


def test_a_policy_with_an_adaptive_share_routes_by_it(tmp_path: Path) -> None:
    share = {"adaptive": True, "min": 0.05, "max": 0.95, "objective": "cost_per_accepted_output"}
    policy = load_policy(
        policy_with(tmp_path, share), CATALOG, {A: PrivacyTier.external, D: PrivacyTier.node}
    )
    (rule, spec, task_types) = policy.adaptive_rules()[0]
    assert rule.name == "bounded-batch-diffusion" and spec.start == 0.5
    assert "ticket_summary" in task_types and "extraction" not in task_types
    request = TaskRequest(task_type="ticket_summary", input="x", privacy_tier="node")
    routed = policy.decide(request)
    assert policy.adaptive_share(routed) == spec
    assert policy.allowed_paths(request) == [D]  # the split would keep it on diffusion


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ({"adaptive": True, "min": 0.8, "max": 0.2}, "min (0.8) must not exceed max (0.2)"),
        ({"adaptive": True, "initial": 0.99}, "initial (0.99) must lie within [min, max]"),
        ({"adaptive": True, "objective": "speed"}, "share.objective"),
        ({"adaptive": False}, "share.adaptive"),
    ],
)
def test_bad_shares_are_refused_naming_the_rule(tmp_path: Path, share, message) -> None:
    with pytest.raises(PolicyError, match="bounded-batch-diffusion") as refused:
        load_policy(policy_with(tmp_path, share), CATALOG)
    assert message in str(refused.value)
