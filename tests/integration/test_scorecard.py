"""The scorecard over a seeded database, every figure against a hand-computed expectation:
failed attempts, fallbacks, timeouts, an in-flight task, a shadow copy, a task outside the
window, human feedback and repeated synthetic outputs."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.analysis.diversity import similarity_figures
from genroute.analysis.scorecard import build_scorecard, format_scorecard

pytestmark = pytest.mark.integration
BUCKET = 0.025  # percentiles come from log-spaced buckets 5% wide


def _rows(seeded: Session, **kwargs: Any) -> dict[tuple, Any]:
    card = build_scorecard(seeded, **kwargs)
    return {(r.purpose, r.path, r.task_type, r.policy_version): r for r in card.rows}


def test_every_figure_of_a_path_that_falls_back(seeded: Session) -> None:
    rows = _rows(seeded, since=timedelta(days=7))
    row = rows[("production", "diffusion", "ticket_summary", "v1")]
    assert (row.requests, row.in_flight, row.accepted, row.attempts) == (3, 1, 2, 5)
    assert row.acceptance_rate == pytest.approx(2 / 3)
    assert row.validation_failure_rate == pytest.approx(1 / 3)  # 1 invalid of 3 outputs
    assert row.fallback_rate == pytest.approx(2 / 3)
    assert row.timeout_rate == pytest.approx(1 / 5)
    # latencies 3, 6.5, 8 (continuous percentiles, read from buckets 5% wide: within 2.5%);
    # queue waits 1, 2, 1, 1, 1
    assert row.latency_p50_s == pytest.approx(6.5, rel=BUCKET)
    assert row.latency_p95_s == pytest.approx(6.5 + 0.9 * 1.5, rel=BUCKET)
    assert row.latency_mean_s == pytest.approx(17.5 / 3)
    assert row.queue_wait_p50_s == pytest.approx(1.0, rel=BUCKET)
    assert row.queue_wait_p95_s == pytest.approx(1.8, rel=BUCKET)
    assert row.first_output_p50_s == pytest.approx(0.5, rel=BUCKET)  # 0.5, 0.5, 0.2
    assert row.tokens_per_s == pytest.approx((64 + 64 + 30) / (2 + 2 + 3))
    # every attempt's cost, the failed ones and the fallbacks included
    assert row.cost == pytest.approx(0.075)
    assert row.cost_per_request == pytest.approx(0.075 / 3)
    assert row.cost_per_accepted_output == pytest.approx(0.075 / 2)
    assert (row.human_reviewed, row.human_acceptance_rate, row.human_edit_rate) == (2, 0.5, 0.5)
    assert row.human_rejection_rate == 0.0
    assert row.mean_edit_distance == pytest.approx(2 / 5)


def test_a_clean_path_a_shadow_copy_and_the_window(seeded: Session) -> None:
    rows = _rows(seeded, since=timedelta(days=7))
    clean = rows[("production", "autoregressive", "ticket_summary", "v1")]
    assert (clean.requests, clean.accepted, clean.attempts) == (1, 1, 1)
    assert (clean.acceptance_rate, clean.fallback_rate, clean.timeout_rate) == (1.0, 0.0, 0.0)
    assert clean.validation_failure_rate == 0.0
    assert clean.latency_p50_s == clean.latency_p95_s == pytest.approx(2.5, rel=BUCKET)
    assert clean.cost_per_accepted_output == pytest.approx(0.02)
    assert clean.tokens_per_s == pytest.approx(20.0)
    assert (clean.human_reviewed, clean.human_rejection_rate) == (1, 1.0)
    shadow = rows[("shadow", "autoregressive", "ticket_summary", "v1")]
    assert (shadow.requests, shadow.accepted, shadow.cost) == (1, 1, pytest.approx(0.05))
    everything = _rows(seeded)[("production", "diffusion", "ticket_summary", "v1")]
    assert (everything.requests, everything.cost) == (4, pytest.approx(9.075))


def test_grouping_by_task_type_alone_and_one_purpose(seeded: Session) -> None:
    card = build_scorecard(seeded, ["task_type"], timedelta(days=7), "production")
    rows = {row.task_type: row for row in card.rows}
    assert set(rows) == {"ticket_summary", "synthetic_examples"}
    summary = rows["ticket_summary"]
    assert (summary.requests, summary.accepted, summary.attempts) == (4, 3, 6)
    assert summary.cost_per_accepted_output == pytest.approx(0.095 / 3)
    assert "ticket_summary" in format_scorecard(card)


def test_repetitive_outputs_show_up_as_such(seeded: Session) -> None:
    rows = _rows(
        seeded,
        since=timedelta(days=7),
        diversity_task_types=["synthetic_examples"],
        diversity_scorer=similarity_figures,
    )
    repeated = rows[("production", "diffusion", "synthetic_examples", "v1")].diversity
    varied = rows[("production", "autoregressive", "synthetic_examples", "v1")].diversity
    assert repeated is not None and varied is not None
    assert (repeated.outputs, repeated.exact_duplicate_rate) == (4, 0.5)
    assert repeated.near_duplicate_rate == 0.75  # three alike lines, each with a twin
    assert (varied.exact_duplicate_rate, varied.near_duplicate_rate) == (0.0, 0.0)
    assert repeated.mean_pairwise_similarity > varied.mean_pairwise_similarity + 0.2
    assert rows[("production", "diffusion", "ticket_summary", "v1")].diversity is None


def test_a_window_starting_inside_an_hour_reads_that_hour_raw(seeded: Session) -> None:
    """The window's ragged start is computed from tasks and attempts, its whole hours from the
    rollups: the seeded tasks (20 past an hour) give the same figures either way."""
    now = seeded.execute(select(func.now())).scalar_one()
    ragged = now - (seeded.info["seeded_at"] - timedelta(minutes=10))  # starts at 10 past
    by_rollups = _rows(seeded, since=timedelta(days=7))
    from_raw = _rows(seeded, since=ragged)
    assert from_raw.keys() == by_rollups.keys()
    for key, row in by_rollups.items():
        assert from_raw[key].model_dump() == pytest.approx(row.model_dump()), key
