"""`genroute capacity`: how many workers (GPUs) each path needs for an arrival rate, a mix of
task types and a p95 budget, from the measured service times (genroute/analysis/capacity.py's
queueing model)."""

import json
import re
from dataclasses import asdict

import click

from genroute.cli.scorecard import since_option

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|min|h))?\s*$")
_PER_SECOND = {"s": 1.0, "min": 60.0, "h": 3600.0}


def parse_rate(text: str) -> float:
    """`20/s`, `1200/min`, `5` (per second) as arrivals per second."""
    match = _RATE.match(text)
    if match is None:
        raise click.BadParameter(
            f"'{text}' is not a rate like 20/s or 1200/min", param_hint="--rate"
        )
    return float(match[1]) / _PER_SECOND[match[2] or "s"]


@click.command()
@click.option("--rate", required=True, help="Arrivals: 20/s, 1200/min.")
@click.option(
    "--mix", required=True, help="Task types and shares: ticket_summary=0.6,extraction=0.4."
)
@click.option("--p95-budget", "budget", required=True, help="p95 response budget: 30s, 2m.")
@click.option("--since", default="7d", show_default=True, help="Measured attempts this recent.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--emit-keda",
    is_flag=True,
    help="Print Kustomize patches for the gpu overlay's ScaledObjects (RATE is the peak).",
)
def capacity(rate: str, mix: str, budget: str, since: str, as_json: bool, emit_keda: bool) -> None:
    """Workers per path to serve RATE of MIX within the p95 budget: each path's share as
    submission routes it (the rules, adaptive shares as they stand, cheapest accepted output;
    plus the diffusion path's refused outputs as fallback work), its measured service times
    and batch width, an M/G/c queue."""
    from genroute.analysis.capacity import ServiceTimes, size
    from genroute.analysis.capacity_plan import parse_mix, path_loads
    from genroute.analysis.durations import parse_duration
    from genroute.cli.support import live_database
    from genroute.config import batch_widths
    from genroute.db.migrate import upgrade
    from genroute.db.path_figures import costs_of, measured_costs
    from genroute.db.service_times import service_times
    from genroute.db.share_events import current_shares
    from genroute.runtime.routing_policy import load_routing_policy

    arrivals = parse_rate(rate)
    budget_s = parse_duration(budget, "p95-budget").total_seconds()
    shares = parse_mix(mix)
    window = since_option(since)
    with live_database() as (settings, sessions), sessions() as session:
        upgrade(settings.database_url)
        measured = service_times(session, window)
        shares_now = {key: current.share for key, current in current_shares(session).items()}
        costs = measured_costs(session, window.total_seconds() if window else 10 * 365 * 86400)
        policy = load_routing_policy(settings)
        widths = batch_widths(settings.paths_file)
    times = {
        (r["path"], r["task_type"]): ServiceTimes(r["mean_s"], r["variance_s2"], r["p95_s"])
        for r in measured
    }
    acceptance = {
        (r["path"], r["task_type"]): r["first_acceptance"] or 0.0
        for r in measured
        if r["first_acceptance"] is not None
    }
    plan = []
    by_type = {task_type: costs_of(costs, task_type) for task_type in shares}
    loads = path_loads(arrivals, shares, policy, times, acceptance, widths, shares_now, by_type)
    sized = [(load, size(load, budget_s)) for load in loads]
    if emit_keda:
        click.echo(_keda_patches(sized, budget_s))
        return
    for load, sizing in sized:
        plan.append({"load": asdict(load), "sizing": asdict(sizing) if sizing else None})
    if as_json:
        click.echo(
            json.dumps(
                {"rate_per_s": arrivals, "mix": shares, "p95_budget_s": budget_s, "paths": plan}
            )
        )
        return
    click.echo(f"{arrivals:g}/s of {mix}, p95 budget {budget_s:g} s")
    for entry in plan:
        click.echo(_line(entry["load"], entry["sizing"]))


def _keda_patches(sized: list, budget_s: float) -> str:
    """Each sized path's ScaledObject patch, with the sizing it comes from as a comment."""
    from genroute.analysis.keda_targets import keda_targets, scaled_object_patch

    lines = ["# genroute capacity --emit-keda: add under `patches:` in overlays/gpu"]
    for load, sizing in sized:
        if sizing is None:
            lines.append(f"# {load.path}: no worker count meets the budget; left as it is")
            continue
        targets = keda_targets(load, sizing, budget_s)
        lines.append(
            f"# {load.path}: {load.arrivals_per_s:.3g}/s at peak, {sizing.workers} workers "
            f"(utilisation {sizing.utilisation:.0%}), backlog per replica "
            f"{targets.backlog_per_replica} (batch width {load.batch_width})"
        )
        lines.append(scaled_object_patch(targets).rstrip())
    return "\n".join(lines)


def _line(load: dict, sizing: dict | None) -> str:
    service = load["service"]
    head = (
        f"  {load['path']}: {load['arrivals_per_s']:.3g}/s ({', '.join(load['task_types'])}), "
        f"attempts {service['mean_s']:.2f} s mean, {service['p95_s']:.2f} s p95, "
        f"batch width {load['batch_width']}"
    )
    if sizing is None:
        return f"{head}: no worker count meets the budget (the service alone is over it)"
    wait, response = sizing["p95_wait_s"], sizing["p95_response_s"]
    return (
        f"{head}: {sizing['workers']} workers (utilisation {sizing['utilisation']:.0%}, "
        f"p95 wait {wait:.2f} s, p95 response {response:.2f} s)"
    )
