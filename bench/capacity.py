"""The capacity model against the real system, in one run: predicted and measured p95 queue
wait at a chosen load.

    .venv/bin/python bench/capacity.py [--tasks 80] [--utilisation 0.7] [--quick]

A stack serves the autoregressive path alone with one worker (batch width 1). First, tasks
one at a time measure the service: each attempt's duration (mean, variance, p95), as
`genroute capacity` reads them. Then tasks arrive as a Poisson process at the rate that loads
the worker to `--utilisation`; each task's queue wait is its first attempt's start minus its
acceptance, by the database's clock. Prints one JSON object with the model's p95 wait for one
server (genroute/analysis/capacity.py: the analytic tail `genroute capacity` sizes by, and the
simulation of the same queue) beside the measured one, and their ratios (the target is within
25%). `--quick` is the short run the test suite makes.
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

from genroute.analysis.capacity import PathLoad, ServiceTimes, p95_wait, simulated_p95_wait
from genroute.db.migrate import upgrade
from genroute.local.embedded import services
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


def measure_service(client: httpx.Client, count: int) -> ServiceTimes:
    """Tasks one at a time: attempt durations with nothing queued."""
    durations = []
    for _ in range(count):
        task_id = client.post("/v1/tasks", json=REQUEST).raise_for_status().json()["id"]
        [view] = wait_for_views(client, [task_id])
        attempt = view.attempts[0]
        durations.append((attempt.finished_at - attempt.started_at).total_seconds())
    return ServiceTimes(
        statistics.fmean(durations), statistics.pvariance(durations), _p95(durations)
    )


def poisson_arrivals(client: httpx.Client, rate: float, count: int, seed: int) -> list[str]:
    draws = random.Random(seed)
    ids = []
    for _ in range(count):
        time.sleep(draws.expovariate(rate))
        ids.append(client.post("/v1/tasks", json=REQUEST).raise_for_status().json()["id"])
    return ids


def run(settings: Settings, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    config = load_paths(settings.paths_file)["autoregressive"].model_copy(update={"batch_width": 1})
    live = only_path(settings, "autoregressive", config, folder)
    with running_stack(live, ["autoregressive"], folder / "logs") as stack, stack.http() as client:
        measure_service(client, 2)  # warm-up
        service = measure_service(client, args.service_tasks)
        rate = args.utilisation / service.mean_s
        ids = poisson_arrivals(client, rate, args.tasks, seed=20261201)
        views = wait_for_views(client, ids)
    waits = [(v.attempts[0].started_at - v.created_at).total_seconds() for v in views]
    load = PathLoad("autoregressive", rate, service, 1, ("chat",))
    predicted, simulated = p95_wait(load, 1), simulated_p95_wait(load, 1)
    measured = _p95(waits)
    return {
        "service": {
            "mean_s": round(service.mean_s, 4),
            "cv2": round(service.variance_s2 / service.mean_s**2, 4),
            "p95_s": round(service.p95_s, 4),
        },
        "arrival_rate_per_s": round(rate, 4),
        "tasks": len(views),
        "measured_utilisation": round(
            sum(
                (v.attempts[0].finished_at - v.attempts[0].started_at).total_seconds()
                for v in views
            )
            / (
                max(v.finished_at for v in views) - min(v.created_at for v in views)
            ).total_seconds(),
            3,
        ),
        "predicted_p95_wait_s": round(predicted, 3),
        "measured_p95_wait_s": round(measured, 3),
        "measured_mean_wait_s": round(statistics.fmean(waits), 3),
        "predicted_over_measured": round(predicted / measured, 2) if measured else None,
        "simulated_p95_wait_s": round(simulated, 3),
        "simulated_over_measured": round(simulated / measured, 2) if measured else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=80)
    parser.add_argument("--service-tasks", type=int, default=12)
    parser.add_argument("--utilisation", type=float, default=0.7)
    parser.add_argument("--quick", action="store_true", help="a short run, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.service_tasks = 8, 3
    result: dict[str, Any] = {
        "bench": "capacity",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "target_utilisation": args.utilisation,
    }
    with tempfile.TemporaryDirectory() as tmp, services(Settings(data_dir=Path(tmp))) as live:
        upgrade(live.database_url)
        result.update(run(live, args, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
