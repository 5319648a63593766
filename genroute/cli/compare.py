"""`genroute compare`: may a candidate path take a task type from the incumbent? The promotion
gate's answer (genroute/analysis/promotion_gate.py) on the recorded outcomes, valid however
often it is asked."""

import json
from dataclasses import asdict

import click

from genroute.cli.scorecard import since_option


@click.command()
@click.option("--task-type", required=True, help="The task type in question.")
@click.option(
    "--paths",
    "path_names",
    required=True,
    help="CANDIDATE,INCUMBENT: the path that would take over, then the one serving now.",
)
@click.option("--since", default=None, help="Only tasks created this long ago: 24h, 7d.")
@click.option("--margin", default=0.05, show_default=True, help="Non-inferiority margin.")
@click.option("--alpha", default=0.05, show_default=True, help="Error level, at any peek.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def compare(
    task_type: str,
    path_names: str,
    since: str | None,
    margin: float,
    alpha: float,
    as_json: bool,
) -> None:
    """Answer `promote`, `keep` or `not enough evidence (about N more outcomes needed)` from
    each path's first attempts at the task type (production, shadow and evaluation): an
    anytime-valid confidence sequence on the difference in acceptance with a non-inferiority
    margin, and the cost per accepted output of each with its interval."""
    from genroute.analysis.promotion_gate import PathOutcomes, judge
    from genroute.cli.support import live_database
    from genroute.db.migrate import upgrade
    from genroute.db.path_outcomes import path_outcomes

    names = [name.strip() for name in path_names.split(",")]
    if len(names) != 2 or names[0] == names[1]:
        raise click.BadParameter(
            "name two different paths: CANDIDATE,INCUMBENT", param_hint="--paths"
        )
    window = since_option(since)
    with live_database() as (settings, sessions), sessions() as session:
        upgrade(settings.database_url)
        found = path_outcomes(session, task_type, names, window)
    candidate, incumbent = (
        PathOutcomes(name, found[name].outcomes, found[name].accepted, found[name].cost)
        if name in found
        else PathOutcomes(name, 0, 0, 0.0)
        for name in names
    )
    verdict = judge(candidate, incumbent, margin, alpha)
    if as_json:
        body = {
            "task_type": task_type,
            "candidate": asdict(candidate),
            "incumbent": asdict(incumbent),
        }
        click.echo(json.dumps({**body, **asdict(verdict)}))
        return
    click.echo(f"{task_type}: {candidate.path} (candidate) against {incumbent.path} (incumbent)")
    for path in (candidate, incumbent):
        interval = verdict.cost_per_accepted[path.path]
        cost = f"[{interval[0]:.6g}, {interval[1]:.6g}]" if interval else "-"
        click.echo(
            f"  {path.path}: {path.outcomes} outcomes, {path.acceptance:.1%} accepted, "
            f"cost per accepted output {cost}"
        )
    click.echo(
        f"  difference in acceptance {verdict.difference:+.3f}, valid at any peek with "
        f"{1 - alpha:.0%}: [{verdict.lower:+.3f}, {verdict.upper:+.3f}] (margin {margin})"
    )
    more = verdict.more_outcomes_needed
    suffix = f" (about {more} more outcomes per path needed)" if more else ""
    click.echo(f"{verdict.decision}{suffix}: {verdict.reason}")
