"""Meeting a latency budget from live estimates: keep, move, refuse or run as best effort."""

import math
from pathlib import Path

import pytest

from genroute.contract import PathName, TaskRequest
from genroute.errors import BudgetUnmeetable
from genroute.policies import load_catalog, load_policy
from genroute.policies.deadlines import PathEstimate, meet_budget

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(
    ROOT / "policies" / "default.yaml", load_catalog(ROOT / "policies" / "task_types.yaml")
)
TICKET = "Order #A-1 arrived broken."


def _estimates(diffusion_s: float | None, autoregressive_s: float | None, slots: int = 1):
    return {
        PathName.diffusion: PathEstimate(PathName.diffusion, 2, slots, diffusion_s),
        PathName.autoregressive: PathEstimate(PathName.autoregressive, 0, slots, autoregressive_s),
    }


def _decide(budget_ms: int, estimates, **fields):
    request = TaskRequest(
        task_type="ticket_summary", input=TICKET, latency_budget_ms=budget_ms, **fields
    )
    decision = POLICY.decide(request)
    assert decision.path is PathName.diffusion  # the rules' choice for summaries
    return meet_budget(decision, request, estimates, POLICY.allowed_paths(request))


def test_estimate_is_the_queue_shared_over_slots_then_one_attempt() -> None:
    assert PathEstimate(PathName.diffusion, 8, 4, 2.0).completion_s == 6.0
    assert PathEstimate(PathName.diffusion, 0, 0, 2.0).completion_s == math.inf
    assert PathEstimate(PathName.diffusion, 5, 1, None).completion_s is None


def test_a_path_that_meets_the_budget_is_kept() -> None:
    assert _decide(10_000, _estimates(1.0, 0.5)).path is PathName.diffusion  # 3 s <= 10 s


def test_a_budget_the_rules_path_misses_but_another_meets_is_rerouted() -> None:
    moved = _decide(2_000, _estimates(4.0, 1.5))  # diffusion ~12 s, autoregressive ~1.5 s
    assert moved.path is PathName.autoregressive
    assert "rerouted to autoregressive" in moved.reason and "diffusion ~12.0 s" in moved.reason


def test_an_impossible_budget_is_refused_naming_the_estimates() -> None:
    with pytest.raises(BudgetUnmeetable) as refused:
        _decide(50, _estimates(4.0, 1.5))
    assert refused.value.field == "latency_budget_ms"
    assert "diffusion ~12.0 s" in refused.value.message
    assert "autoregressive ~1.5 s" in refused.value.message


def test_best_effort_keeps_the_rules_path_and_says_why() -> None:
    kept = _decide(50, _estimates(4.0, 1.5), best_effort=True)
    assert kept.path is PathName.diffusion and "best effort" in kept.reason


def test_without_evidence_the_rules_path_is_kept_and_never_chosen() -> None:
    assert _decide(50, _estimates(None, 0.1)).path is PathName.diffusion  # nothing measured
    with pytest.raises(BudgetUnmeetable):
        _decide(2_000, _estimates(4.0, None))  # nowhere measured to go
    with pytest.raises(BudgetUnmeetable, match="no worker consuming"):
        _decide(2_000, _estimates(4.0, 0.1, slots=0))


def test_a_path_the_request_may_not_use_is_never_chosen() -> None:
    request = TaskRequest(
        task_type="ticket_summary", input=TICKET, latency_budget_ms=2_000, requires_tool_calls=True
    )
    assert POLICY.allowed_paths(request) == [PathName.autoregressive]
    external = TaskRequest(task_type="ticket_summary", input=TICKET, privacy_tier="node")
    assert PathName.diffusion in POLICY.allowed_paths(external)


def test_a_path_no_worker_consumes_meets_no_budget_even_unmeasured() -> None:
    """A fresh stack with no worker: nothing is measured, and nothing can run either."""
    assert PathEstimate(PathName.diffusion, 0, 0, None).completion_s == math.inf
    with pytest.raises(BudgetUnmeetable, match="no worker consuming its queue"):
        _decide(50, _estimates(None, None, slots=0))


def test_a_warm_up_estimate_is_judged_like_a_measured_one_and_says_so() -> None:
    warm = {
        PathName.diffusion: PathEstimate(PathName.diffusion, 0, 1, 3.0, from_warmup=True),
        PathName.autoregressive: PathEstimate(PathName.autoregressive, 0, 1, 0.5, from_warmup=True),
    }
    moved = _decide(1_000, warm)
    assert moved.path is PathName.autoregressive and "warm-up" in moved.reason
