"""The capacity model against the real system, in one run: predicted and measured p95 queue
wait at a chosen load.

    .venv/bin/python bench/capacity.py [--tasks 80] [--utilisation 0.7] [--quick]

A stack serves the autoregressive path alone with one worker of batch width `--width`
(default 2) that claims one batch ahead (the default claim-ahead): a claimed task may wait for
a batch before the engine takes it. First, tasks one at a time measure the service, to set the
arrival rate that loads the worker's `--width` slots to `--utilisation`; then tasks arrive as
a Poisson process at that rate. Service is the engine's run of each attempt's batch, as
`genroute capacity` reads it from the loaded run's attempts; each task's queue wait is from its
acceptance to the engine's start of its batch (the claim-ahead wait included), by the
database's clock. Prints one JSON object with the model's p95 wait for one worker of that
width beside the measured one, and their ratios (the target is within 25%):
`predicted_p95_wait_s` is what `genroute capacity` sizes by (genroute/analysis/capacity.py:
the simulation of the batcher for a batching worker), beside the analytic M/G/c tail, which
has no term for waiting on a whole batch. `--quick` is the short run the test suite makes.
"""

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from engines import only_path, wait_for_views

from genroute.analysis.capacity import (
    PathLoad,
    ServiceTimes,
    p95_wait,
    planned_p95_wait,
    simulated_p95_wait,
)
from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import running_stack
from genroute.settings import Settings
from genroute.workers.engines.registry import load_paths

REQUEST = {
    "task_type": "chat",
    "input": "Reply to a customer asking where their parcel is, in two sentences.",
    "max_output_tokens": 16,
    "fallback": "none",
}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def engine_seconds(view: TaskView) -> float:
    """The engine's run of the task's first attempt's batch: its service time."""
    attempt = view.attempts[0]
    assert attempt.engine_started_at and attempt.engine_finished_at, attempt
    return (attempt.engine_finished_at - attempt.engine_started_at).total_seconds()


def service_of(views: list[TaskView]) -> ServiceTimes:
    durations = [engine_seconds(view) for view in views]
    return ServiceTimes(
        statistics.fmean(durations), statistics.pvariance(durations), _p95(durations)
    )


def measure_service(client: httpx.Client, count: int) -> ServiceTimes:
    """Tasks one at a time: service with nothing queued."""
    views = []
    for _ in range(count):
        task_id = client.post("/v1/tasks", json=REQUEST).raise_for_status().json()["id"]
        views += wait_for_views(client, [task_id])
    return service_of(views)


def poisson_arrivals(client: httpx.Client, rate: float, count: int, seed: int) -> list[str]:
    draws = random.Random(seed)
    ids = []
    for _ in range(count):
        time.sleep(draws.expovariate(rate))
        ids.append(client.post("/v1/tasks", json=REQUEST).raise_for_status().json()["id"])
    return ids


def run(settings: Settings, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    width = args.width
    config = load_paths(settings.paths_file)["autoregressive"].model_copy(
        update={"batch_width": width, "claim_ahead": None, "batch_wait_ms": 0}
    )
    live = only_path(settings, "autoregressive", config, folder)
    with running_stack(live, ["autoregressive"], folder / "logs") as stack, stack.http() as client:
        measure_service(client, 2)  # warm-up
        alone = measure_service(client, args.service_tasks)
        rate = args.utilisation * width / alone.mean_s
        ids = poisson_arrivals(client, rate, args.tasks, seed=20261201)
        views = wait_for_views(client, ids)
    waits = [
        (v.attempts[0].engine_started_at - v.created_at).total_seconds()
        for v in views
        if v.attempts[0].engine_started_at
    ]
    service = service_of(views)  # under load, as `genroute capacity` reads production
    load = PathLoad("autoregressive", rate, service, width, ("chat",))
    predicted = planned_p95_wait(load, width)  # what `genroute capacity` sizes by
    analytic, simulated = p95_wait(load, width), simulated_p95_wait(load, width)
    measured = _p95(waits)
    span_s = (max(v.finished_at for v in views) - min(v.created_at for v in views)).total_seconds()
    return {
        "batch_width": width,
        "claim_ahead": config.claim_depth - width,
        "service_alone_mean_s": round(alone.mean_s, 4),
        "service": {
            "mean_s": round(service.mean_s, 4),
            "cv2": round(service.variance_s2 / service.mean_s**2, 4),
            "p95_s": round(service.p95_s, 4),
        },
        "arrival_rate_per_s": round(rate, 4),
        "tasks": len(views),
        "measured_utilisation": round(sum(map(engine_seconds, views)) / span_s / width, 3),
        "predicted_p95_wait_s": round(predicted, 3),
        "measured_p95_wait_s": round(measured, 3),
        "measured_mean_wait_s": round(statistics.fmean(waits), 3),
        "predicted_over_measured": round(predicted / measured, 2) if measured else None,
        "analytic_p95_wait_s": round(analytic, 3),
        "analytic_over_measured": round(analytic / measured, 2) if measured else None,
        "simulated_p95_wait_s": round(simulated, 3),
        "simulated_over_measured": round(simulated / measured, 2) if measured else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=80)
    parser.add_argument("--service-tasks", type=int, default=12)
    parser.add_argument("--utilisation", type=float, default=0.7)
    parser.add_argument("--width", type=int, default=2, help="the worker's batch width")
    parser.add_argument("--quick", action="store_true", help="a short run, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.service_tasks = 8, 3
    result: dict[str, Any] = {
        "bench": "capacity",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "target_utilisation": args.utilisation,
    }
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        result.update(run(live, args, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
