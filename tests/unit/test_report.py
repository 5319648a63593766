import uuid
from datetime import UTC, datetime, timedelta

from genroute.analysis.path_summary import format_table, percentile, summarize_by_path
from genroute.contract import AttemptOutcome, AttemptView, RouteDecision, TaskView

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _task(path: str, status: str, latency_s: float, wait_s: float, tokens: int) -> TaskView:
    attempt = AttemptView(
        id=uuid.uuid4(),
        attempt_no=1,
        path=path,
        queue=path,
        engine="e",
        model="m",
        worker_host="h",
        worker_name="w",
        worker_pid=1,
        gpu_id=None,
        outcome="succeeded" if status == "succeeded" else "error",
        error=None,
        output_text="x",
        tokens_in=10,
        tokens_out=tokens,
        enqueued_at=T0,
        started_at=T0 + timedelta(seconds=wait_s),
        first_output_at=None,
        finished_at=T0 + timedelta(seconds=latency_s),
        engine_facts={},
    )
    route = RouteDecision(
        path=path,
        rule="r",
        policy_version="v",
        fallback_path=None,
        reason="r",
        max_output_tokens=32,
    )
    return TaskView(
        id=uuid.uuid4(),
        task_type="t",
        status=status,
        route=route,
        output="x",
        error=None,
        attempts=[attempt],
        created_at=T0,
        finished_at=T0 + timedelta(seconds=latency_s),
    )


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0


def test_summary_groups_by_routed_path() -> None:
    tasks = [
        _task("diffusion", "succeeded", 4, 1, 20),
        _task("diffusion", "failed", 6, 1, 0),
        _task("autoregressive", "succeeded", 10, 2, 40),
    ]
    summary = summarize_by_path(tasks)
    assert summary["diffusion"]["count"] == 2
    assert summary["diffusion"]["succeeded"] == 1
    assert summary["diffusion"]["failed"] == 1
    assert summary["autoregressive"]["tokens_per_s"] == 5.0  # 40 tokens over 8 s generating
    assert summary["diffusion"]["queue_wait_p50_s"] == 1.0
    table = format_table(summary)
    assert table.splitlines()[0].startswith("path")
    assert "autoregressive" in table and "diffusion" in table


def test_fallback_counts_by_routed_and_attempted_path() -> None:
    task = _task("diffusion", "succeeded", 9, 1, 12)
    invalid = task.attempts[0].model_copy(update={"outcome": AttemptOutcome.invalid})
    rescue = task.attempts[0].model_copy(
        update={"id": uuid.uuid4(), "attempt_no": 2, "path": "autoregressive", "queue": "fallback"}
    )
    task = task.model_copy(update={"attempts": [invalid, rescue]})
    summary = summarize_by_path([task])
    assert summary["diffusion"]["fell_back"] == 1
    assert summary["diffusion"]["validation_failed"] == 1
    assert summary["diffusion"]["accepted"] == 1
    assert summary["autoregressive"]["attempts"] == 1
    assert summary["autoregressive"]["count"] == 0
