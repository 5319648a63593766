"""Queue-driven autoscaling against a static fleet sized for the peak, over one simulated day.

    .venv/bin/python bench/autoscale.py [--peak 20] [--p95-budget 30] [--model-load-s 180]
        [--gpu-hour-usd 3.0] [--seed 7] [--service bench/results/capacity-....json] [--quick]

Arrivals follow a seeded day (a diurnal curve whose trough is 15% of its peak, with three
bursts of 10-20 minutes at x1.5-2). Service times are the ones measured on the real system:
by default the newest `bench/results/capacity-*.json` (a worker of batch width 2 running the
development model, its attempts' mean and squared coefficient of variation). The static fleet
has what `genroute capacity` sizes for the day's highest rate within the p95 budget; the
autoscaled fleet has the ScaledObject `genroute capacity --emit-keda` prints for the same
numbers (that maximum, that backlog per replica) with the gpu overlay's behaviour (15 s
polling, up to 4 pods or doubling a minute, a 900 s scale-down window, one pod removed per 5
minutes), and every new replica loads its model for `--model-load-s` before it takes work
(billed).

Prints one JSON object: for each fleet, GPU-hours, p95 queue wait, minutes whose arrivals'
p95 response exceeds the budget, the share of minutes within it and the cost per accepted
output (every served task counts as accepted: the simulation does not validate), plus
`gpu_hours_ratio` (autoscaled over static) and `p95_met_fraction` (the autoscaled fleet's
share of minutes within budget). Targets: ratio <= 0.7 with p95_met_fraction >= 0.99.
`--quick` simulates a lighter day (peak 4/s) for the test suite.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from support.fleet_sim import Outcome, Scaling, day_trace, simulate

from genroute.analysis.capacity import PathLoad, ServiceTimes, size
from genroute.analysis.keda_targets import keda_targets

RESULTS = Path(__file__).resolve().parent / "results"


def measured_service(path: Path | None) -> tuple[Path, ServiceTimes, int]:
    """The service times and batch width a capacity run measured on the real system."""
    source = path or max(RESULTS.glob("capacity-*.json"), key=lambda p: p.name)
    result = json.loads(source.read_text())
    service = result["service"]
    mean = service["mean_s"]
    times = ServiceTimes(mean, service["cv2"] * mean**2, service["p95_s"])
    return source, times, int(result["batch_width"])


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else 0.0


def report(outcome: Outcome, budget_s: float, usd_per_gpu_hour: float) -> dict:
    minutes = outcome.responses_by_minute
    over = sum(1 for responses in minutes.values() if p95(responses) > budget_s)
    served = sum(len(responses) for responses in minutes.values())
    return {
        "gpu_hours": round(outcome.gpu_hours, 2),
        "p95_queue_wait_s": round(p95(outcome.waits), 2),
        "minutes_over_p95_budget": over,
        "p95_met_fraction": round(1 - over / len(minutes), 4) if minutes else 1.0,
        "tasks": served,
        "cost_per_accepted_output_usd": round(outcome.gpu_hours * usd_per_gpu_hour / served, 6),
        "max_replicas_used": max((n for _t, n in outcome.replicas_over_time), default=None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak", type=float, default=20.0, help="the diurnal peak, tasks/s")
    parser.add_argument("--p95-budget", type=float, default=30.0, help="seconds")
    parser.add_argument("--model-load-s", type=float, default=180.0)
    parser.add_argument("--gpu-hour-usd", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--service", type=Path, default=None, help="a capacity result file")
    parser.add_argument("--quick", action="store_true", help="a lighter day, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.peak = 4.0
    source, service, width = measured_service(args.service)
    trace = day_trace(args.peak, args.seed)
    load = PathLoad("diffusion", trace.max_rate, service, width, ("ticket_summary",))
    sizing = size(load, args.p95_budget)
    if sizing is None:
        sys.exit(f"no fleet meets a {args.p95_budget} s p95 budget at {trace.max_rate:.3g}/s")
    targets = keda_targets(load, sizing, args.p95_budget)
    cv2 = service.variance_s2 / service.mean_s**2
    fleets = {
        "static": Scaling(min_replicas=sizing.workers, max_replicas=sizing.workers),
        "autoscaled": Scaling(1, targets.max_replicas, float(targets.backlog_per_replica)),
    }
    results = {
        name: report(
            simulate(trace, scaling, service.mean_s, cv2, width, args.model_load_s, args.seed),
            args.p95_budget,
            args.gpu_hour_usd,
        )
        for name, scaling in fleets.items()
    }
    auto, static = results["autoscaled"], results["static"]
    ratio = auto["gpu_hours"] / static["gpu_hours"]
    print(
        json.dumps(
            {
                "bench": "autoscale",
                "service_from": source.name,
                "service": {"mean_s": service.mean_s, "cv2": round(cv2, 4), "p95_s": service.p95_s},
                "batch_width": width,
                "peak_per_s": args.peak,
                "highest_rate_per_s": round(trace.max_rate, 3),
                "bursts": [[round(s), round(n), round(f, 2)] for s, n, f in trace.bursts],
                "p95_budget_s": args.p95_budget,
                "model_load_s": args.model_load_s,
                "static_workers": sizing.workers,
                "keda": {
                    "max_replicas": targets.max_replicas,
                    "target": targets.backlog_per_replica,
                },
                "fleets": results,
                "gpu_hours_ratio": round(ratio, 3),
                "p95_met_fraction": auto["p95_met_fraction"],
                "targets_met": ratio <= 0.7 and auto["p95_met_fraction"] >= 0.99,
            }
        )
    )


if __name__ == "__main__":
    main()
