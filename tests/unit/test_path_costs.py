"""Expected cost per accepted output by decode style, and `prefer: cheapest_accepted`."""

from pathlib import Path

from genroute.contract import PathName, TaskRequest
from genroute.policies import load_catalog, load_policy
from genroute.policies.path_costs import PathCost, cheapest_accepted

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "policies" / "task_types.yaml")


def _canvas(cost: float | None = 0.01, acceptance: float | None = 0.5, tokens=None) -> PathCost:
    return PathCost(PathName.diffusion, "canvas", cost, 256, tokens, acceptance)


def _token(cost: float | None = 0.0001, acceptance: float | None = 0.8, tokens=None) -> PathCost:
    return PathCost(PathName.autoregressive, "token", cost, 256, tokens, acceptance)


def test_a_canvas_is_paid_whole_and_a_token_each() -> None:
    diffusion = _canvas()
    assert diffusion.units(40) == 1 and diffusion.units(300) == 2 and diffusion.units(512) == 2
    assert diffusion.per_attempt(40) == 0.01 and diffusion.per_attempt(300) == 0.02
    autoregressive = _token()
    assert autoregressive.per_attempt(40) == 40 * 0.0001
    assert autoregressive.per_accepted(40) == 40 * 0.0001 / 0.8


def test_the_measured_answer_length_counts_within_the_bound() -> None:
    assert _token(tokens=30.0).expected_tokens(96) == 30.0
    assert _token(tokens=300.0).expected_tokens(96) == 96.0
    assert _token().expected_tokens(96) == 96.0  # nothing measured: the bound
    assert _canvas(acceptance=0.0).per_accepted(96) is None
    assert _canvas(cost=None).per_accepted(96) is None


def _policy_with_preference(tmp_path: Path):
    text = (
        (ROOT / "policies" / "default.yaml")
        .read_text()
        .replace(
            "  - name: bounded-batch-diffusion\n",
            "  - name: bounded-batch-diffusion\n    prefer: cheapest_accepted\n",
        )
    )
    file = tmp_path / "policy.yaml"
    file.write_text(text)
    return load_policy(file, CATALOG)


def test_cheapest_accepted_moves_only_on_measured_figures(tmp_path: Path) -> None:
    policy = _policy_with_preference(tmp_path)
    request = TaskRequest(
        task_type="ticket_summary", input="Order #1 is late", max_output_tokens=40
    )
    decision = policy.decide(request)
    assert decision.path is PathName.diffusion and policy.prefers_cheapest(decision)
    allowed = policy.allowed_paths(request)
    # a canvas for 40 tokens: 0.01 / 0.5 = 0.02; 40 tokens: 0.004 / 0.8 = 0.005
    costs = {PathName.diffusion: _canvas(), PathName.autoregressive: _token()}
    moved = cheapest_accepted(decision, costs, allowed)
    assert moved.path is PathName.autoregressive and "cheapest expected accepted" in moved.reason
    dear_tokens = {PathName.diffusion: _canvas(), PathName.autoregressive: _token(cost=0.001)}
    assert cheapest_accepted(decision, dear_tokens, allowed).path is PathName.diffusion
    unmeasured = {PathName.diffusion: _canvas(), PathName.autoregressive: _token(acceptance=None)}
    assert cheapest_accepted(decision, unmeasured, allowed) == decision
    only_here = [PathName.diffusion]
    assert cheapest_accepted(decision, costs, only_here).path is PathName.diffusion


def test_a_rule_without_the_preference_does_not_prefer() -> None:
    policy = load_policy(ROOT / "policies" / "default.yaml", CATALOG)
    decision = policy.decide(TaskRequest(task_type="ticket_summary", input="x y z"))
    assert not policy.prefers_cheapest(decision)
