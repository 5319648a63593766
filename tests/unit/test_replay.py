"""Policy replay without I/O: stored requests, measured figures and a candidate policy in,
moves and expected figures out, checked by hand."""

from pathlib import Path

import pytest
import yaml

from genroute.analysis.replay import format_replay, measured_figures, replay
from genroute.contract import ScorecardRow
from genroute.policies import load_catalog, load_policy

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "policies" / "task_types.yaml")


def _figures(path: str, acceptance: float, cost: float, mean_s: float, p95_s: float):
    row = ScorecardRow(
        purpose="production", path=path, task_type="ticket_summary", requests=10, in_flight=0,
        accepted=round(10 * acceptance), acceptance_rate=acceptance, validation_failure_rate=0,
        fallback_rate=0, timeout_rate=0, latency_p50_s=mean_s, latency_p95_s=p95_s,
        latency_mean_s=mean_s, queue_wait_p50_s=0, queue_wait_p95_s=0, first_output_p50_s=0,
        tokens_per_s=1, attempts=10, cost=10 * cost, cost_per_request=cost,
        cost_per_accepted_output=cost / acceptance,
    )  # fmt: skip
    return (path, "ticket_summary"), row


def _candidate(tmp_path: Path):
    policy = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    for rule in policy["rules"]:
        if rule["path"] == "diffusion":
            rule["path"] = "autoregressive"
            rule.pop("shadow", None)
    (tmp_path / "candidate.yaml").write_text(yaml.safe_dump(policy))
    return load_policy(tmp_path / "candidate.yaml", CATALOG)


def test_moves_and_expected_figures(tmp_path: Path) -> None:
    figures = dict(
        [
            _figures("diffusion", 0.5, 0.02, 2.0, 3.0),
            _figures("autoregressive", 1.0, 0.04, 4.0, 6.0),
        ]
    )
    summary = {"task_type": "ticket_summary", "input": "Order #1 broke."}
    stored = [("diffusion", summary)] * 3 + [("autoregressive", {**summary, "fallback": "none"})]
    stored.append(("autoregressive", {"task_type": "extraction", "input": "x"}))
    report = replay(stored, _candidate(tmp_path), figures)

    assert (report["requests"], report["would_change_path"]) == (5, 3)
    entry = report["by_task_type"]["ticket_summary"]
    assert entry["moves"] == {"diffusion -> autoregressive": 3}
    current, candidate = entry["current"], entry["candidate"]
    assert current["paths"] == {"diffusion": 3, "autoregressive": 1}
    # current: 3 x 50% + 1 x 100% accepted of 4; cost 3 x 0.02 + 0.04 over 2.5 accepted
    assert current["acceptance_rate"] == pytest.approx(2.5 / 4)
    assert current["cost_per_accepted_output"] == pytest.approx(0.10 / 2.5)
    assert current["mean_latency_s"] == pytest.approx((3 * 2 + 4) / 4)
    assert current["worst_path_p95_s"] == 6.0
    assert candidate["paths"] == {"autoregressive": 4}
    assert candidate["acceptance_rate"] == 1.0
    assert candidate["cost_per_accepted_output"] == pytest.approx(0.04)
    unmeasured = report["by_task_type"]["extraction"]
    assert unmeasured["would_change_path"] == 0
    assert unmeasured["candidate"] == {
        "paths": {"autoregressive": 1},
        "unmeasured": ["autoregressive"],
    }
    assert "3 of 5 stored requests would change path" in format_replay(report)


def test_figures_come_from_production_then_shadow_then_evaluation() -> None:
    _, evaluated = _figures("autoregressive", 0.9, 0.03, 3.0, 4.0)
    _, shadowed = _figures("autoregressive", 0.8, 0.03, 3.0, 4.0)
    _, produced = _figures("diffusion", 0.5, 0.02, 2.0, 3.0)
    rows = [
        evaluated.model_copy(update={"purpose": "evaluation"}),
        shadowed.model_copy(update={"purpose": "shadow"}),
        produced,
        produced.model_copy(update={"purpose": "evaluation", "acceptance_rate": 0.1}),
    ]
    figures = measured_figures(rows)
    assert figures[("autoregressive", "ticket_summary")].purpose == "shadow"
    assert figures[("diffusion", "ticket_summary")].acceptance_rate == 0.5
